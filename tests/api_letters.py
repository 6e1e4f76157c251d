"""Letters and complaints for the API's tests: many rows at once, without PDFs (the register reads the row)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import insert

from sempelmas.extensions import db
from sempelmas.models.complaints import Complaint
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.services.letters import store as letter_store
from tests.request_factory import make_profile, make_service, submit

_serial = itertools.count(1)
START = datetime(2026, 3, 2, 2, 0)  # Monday 09:00 WIB


def letter_world(factory) -> dict:
    """A profile, two services, a resident with one done request, a signer."""
    make_profile()
    make_service("domisili", needs_rt=False)
    make_service("sktm", needs_rt=False)
    siti = factory.warga(name="SITI AMINAH")
    req = submit(siti)
    signer = factory.staff("penandatangan", "lurah")
    db.session.commit()
    return {"siti": siti, "request": req, "signer": signer}


def add_letters(world, n: int, *, start: datetime = START, step_minutes: int = 10, service="domisili",
                status=LetterStatus.VALID, same_moment: bool = False) -> None:
    """``n`` letters signed ``step_minutes`` apart from ``start`` (all at ``start`` with ``same_moment``)."""
    rows = []
    for i in range(n):
        k = next(_serial)
        at = start if same_moment else start + timedelta(minutes=step_minutes * i)
        rows.append({"request_id": world["request"].id, "number": f"470/{k:05d}/417.604.3/2026", "scope": "semua",
                     "year": 2026, "sequence": k, "verify_code": letter_store.new_verify_code(),
                     "service_code": service, "title": f"Surat {service}", "signed_at": at,
                     "signer_user_id": world["signer"].id, "capacity": "", "signer_name": "Drs. SUGENG RAHARJO",
                     "signer_position": "Lurah Jagalan", "subject_name": "SITI AMINAH",
                     "subject_nik": world["siti"].resident.nik, "stored_name": f"t{k:08d}.pdf",
                     "pdf_sha256": f"{k:064x}", "pdf_size": 1000, "status": status,
                     "revoked_at": start + timedelta(days=1) if status == LetterStatus.REVOKED else None,
                     "revocation_reason": "Data keliru" if status == LetterStatus.REVOKED else None})
    db.session.execute(insert(Letter), rows)
    db.session.commit()


def add_complaints(n: int, *, start: datetime = START, status="baru") -> None:
    rows = []
    for i in range(n):
        k = next(_serial)
        rows.append({"code": f"K{k:04d}-TEST-{k:04d}"[:14], "name": f"Pelapor {k}", "phone": "+6281234567890",
                     "email": f"p{k}@contoh.id", "category": "pelayanan", "subject": f"Aduan {k}",
                     "body": "Antrean lama", "status": status, "created_at": start + timedelta(minutes=i),
                     "updated_at": start + timedelta(minutes=i)})
    db.session.execute(insert(Complaint), rows)
    db.session.commit()
