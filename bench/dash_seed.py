"""Seeding for bench_dashboard.py and bench_export.py: a migrated SQLite database (``flask db upgrade``)
filled by bulk INSERTs with a year of requests (and letters) spread over services, RT/RWs and months.

The spread: submission times uniform over the 365 days before ``now``; 9 services with service times of
1 to 5 working days; 3,000 residents over 12 RTs in 4 RWs; ~85 % completed (completion time
log-normal around a day per working day of service time), 5 % rejected, 2 % cancelled, 8 % still open among
the last three weeks' requests (older ones are done: hundreds open and overdue, not thousands).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

SERVICES = [("domisili", "Surat Keterangan Domisili", 1), ("sktm", "Surat Keterangan Tidak Mampu", 1),
            ("usaha", "Surat Keterangan Usaha", 2), ("kelahiran", "Surat Keterangan Kelahiran", 1),
            ("kematian", "Surat Keterangan Kematian", 1), ("pindah", "Surat Pengantar Pindah", 3),
            ("skck", "Surat Pengantar SKCK", 1), ("nikah", "Surat Pengantar Nikah (N1)", 2),
            ("belum_menikah", "Surat Keterangan Belum Menikah", 5)]
N_PEOPLE = 3000
STAFF_USER, STAFF_PASSWORD = "petugas", "petugas-bench"


def make_app(db_path: Path, workdir: Path):
    from sempelmas import create_app

    return create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
                       "INSTANCE_PATH": str(workdir / "instance"), "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False})


def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def seed(app, n_requests: int, *, letters: bool, now: datetime | None = None, rng_seed: int = 6) -> dict:
    """Bulk-insert the catalogue, people and ``n_requests`` requests (with a letter for each completed one when
    ``letters``); returns counts."""
    from sqlalchemy import insert, select

    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
    from sempelmas.models.letters import Letter, LetterStatus
    from sempelmas.models.profile import KelurahanProfile, Official
    from sempelmas.models.requests import LetterRequest
    from sempelmas.models.residents import Resident
    from sempelmas.services.kelurahan.demo import make_nik
    from sempelmas.services.people.passwords import hash_password
    from sempelmas.services.requests import catalogue

    rng = random.Random(rng_seed)
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    t0 = time.monotonic()
    with app.app_context():
        db.session.add(KelurahanProfile(province_name="Jawa Timur", regency_name="Mojokerto",
                                        district_name="Kranggan", village_name="Jagalan",
                                        region_code="35.76.03.1004", address="Jl. Pemuda 2", timezone="WIB",
                                        tracking_prefix="JGL"))
        versions = []
        for i, (code, name, days) in enumerate(SERVICES):
            svc = catalogue.save_service(None, {"code": code, "name": name, "classification_code": "470",
                                                "letter_template": "domisili", "service_time_value": days,
                                                "service_time_unit": "hari_kerja", "sort_order": i}, [], [])
            db.session.flush()
            versions.append((catalogue.current_version(svc).id, days, name))
        staff = User(username=STAFF_USER, full_name="Petugas Bench", status=AccountStatus.VERIFIED,
                     password_hash=hash_password(STAFF_PASSWORD))
        staff.roles.append(RoleGrant(role=Role.STAFF))
        signer = User(username="lurah", full_name="Drs. Sugeng Raharjo", status=AccountStatus.VERIFIED,
                      password_hash="x")
        signer.roles.append(RoleGrant(role=Role.SIGNER))
        db.session.add_all([staff, signer])
        db.session.flush()
        official = Official(name="Drs. SUGENG RAHARJO", position="lurah", position_title="Lurah Jagalan",
                            user_id=signer.id)
        db.session.add(official)
        db.session.commit()
        db.session.execute(insert(Resident), [
            {"nik": make_nik(datetime(1960 + i % 40, 1 + i % 12, 1 + i % 28).date(), i % 2 == 1, 1 + i // 2),
             "kk_number": f"3576030101{i:06d}", "full_name": f"WARGA NOMOR {i:04d}", "birth_place": "MOJOKERTO",
             "birth_date": datetime(1960 + i % 40, 1 + i % 12, 1 + i % 28).date(), "gender": "P" if i % 2 else "L",
             "address": "Jl. Uji", "rt": f"{1 + i % 12:03d}", "rw": f"{1 + (i % 12) // 3:03d}",
             "citizenship": "WNI", "source": "impor"} for i in range(N_PEOPLE)])
        people = db.session.execute(select(Resident.id, Resident.full_name).order_by(Resident.id)).all()
        db.session.execute(insert(User), [
            {"full_name": f"Warga {i}", "status": AccountStatus.VERIFIED, "password_hash": "x", "resident_id": rid}
            for i, (rid, _n) in enumerate(people)])
        user_of = dict(db.session.execute(select(User.resident_id, User.id)
                                          .where(User.resident_id.is_not(None))).all())
        db.session.commit()

        open_statuses = ["menunggu_pengantar", "diajukan", "diperiksa", "perlu_perbaikan", "menunggu_ttd"]
        span = 365 * 86400
        chunk = 10_000
        n_letters = 0
        for base in range(0, n_requests, chunk):
            rows, closed = [], []
            for i in range(base, min(base + chunk, n_requests)):
                version_id, days, name = versions[min(int(rng.expovariate(0.35)), len(versions) - 1)]
                person = people[rng.randrange(N_PEOPLE)]
                submitted = now - timedelta(seconds=rng.randrange(span))
                due = submitted + timedelta(days=days * 1.4)  # working days and office hours, roughly
                roll = rng.random()
                status, closed_at = rng.choice(open_statuses), None
                if roll < 0.85:
                    status = "selesai"
                    closed_at = submitted + timedelta(hours=rng.lognormvariate(math.log(20 * days), 0.8))
                elif roll < 0.90:
                    status, closed_at = "ditolak", submitted + timedelta(hours=rng.uniform(1, 48))
                elif roll < 0.92:
                    status, closed_at = "dibatalkan", submitted + timedelta(hours=rng.uniform(1, 72))
                if closed_at is None and now - submitted > timedelta(days=21):
                    # a kelurahan does not leave requests open for months: the old ones are done
                    status = "selesai"
                    closed_at = submitted + timedelta(hours=rng.lognormvariate(math.log(20 * days), 0.8))
                if closed_at is not None and closed_at > now:
                    status, closed_at = "menunggu_ttd", None
                rows.append({"tracking_number": f"JGL-{submitted.year}-{i + 1:06d}", "service_version_id": version_id,
                             "applicant_user_id": user_of[person[0]], "subject_resident_id": person[0],
                             "answers": {"keperluan": "Melamar pekerjaan"}, "status": status,
                             "submitted_at": submitted, "due_at": due, "closed_at": closed_at,
                             "updated_at": closed_at or submitted})
                if letters and status == "selesai":
                    closed.append((i, name, person[1], closed_at))
            db.session.execute(insert(LetterRequest), rows)
            if closed:
                ids = dict(db.session.execute(select(LetterRequest.tracking_number, LetterRequest.id).where(
                    LetterRequest.tracking_number.in_([rows[i - base]["tracking_number"] for i, *_ in closed]))).all())
                letter_rows = []
                for i, name, subject, signed_at in closed:
                    n_letters += 1
                    revoked = n_letters % 50 == 0
                    letter_rows.append({
                        "request_id": ids[rows[i - base]["tracking_number"]],
                        "number": f"470/{n_letters:06d}/417.604.3/{signed_at.year}", "scope": "semua",
                        "year": signed_at.year, "sequence": n_letters, "verify_code": uuid.uuid4().hex[:20],
                        "service_code": "domisili", "title": name, "signed_at": signed_at,
                        "signer_user_id": signer.id, "official_id": official.id, "capacity": "",
                        "stored_name": f"{uuid.uuid4().hex}.pdf", "signer_name": official.name,
                        "signer_position": official.position_title, "subject_name": subject, "subject_nik": "",
                        "pdf_sha256": f"{rng.getrandbits(256):064x}", "pdf_size": 60_000,
                        "status": LetterStatus.REVOKED if revoked else LetterStatus.VALID,
                        "revoked_at": signed_at + timedelta(days=3) if revoked else None,
                        "revocation_reason": "Data keliru" if revoked else None})
                db.session.execute(insert(Letter), letter_rows)
            db.session.commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"requests": n_requests, "letters": n_letters, "seconds": time.monotonic() - t0}


def login(client) -> None:
    resp = client.post("/login", data={"identifier": STAFF_USER, "password": STAFF_PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
