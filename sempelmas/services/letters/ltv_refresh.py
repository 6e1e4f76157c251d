"""``flask --app app ltv run`` (services/letters/ltv.py for the why): the CA's CRL made again, and a fresh document
timestamp (with the DSS updated for the previous one) on every valid letter whose last timestamp's TSA certificate
expires within LTV_REFRESH_DAYS, or that has none yet while a TSA is configured. What the last run did is kept in
``<PKI_DIR>/ltv-status.json`` for ``flask doctor``'s ``ltv`` check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.services.letters import ca_public, ltv
from sempelmas.services.letters.ca import PkiError, pki_dir
from sempelmas.services.letters.ltv import TimestampFailed, last_timestamp, timestamper, tsa_configured

log = logging.getLogger(__name__)


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  #: (letter number, why)
    checked: int = 0


def add_document_timestamp(pdf: bytes) -> bytes:
    """A fresh document timestamp on ``pdf`` with the DSS updated for the previous one (pyHanko's
    ``update_archival_timestamp_chain``); for a letter without a document timestamp yet, the signature's
    validation info and a first one."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import add_validation_info

    from sempelmas.services.letters.signing import outside_event_loop

    stamper = timestamper()
    if stamper is None:
        raise TimestampFailed(_("Layanan cap waktu (TSA) belum diatur (PKI_TSA_URL)."))
    vc = ltv.validation_context()
    pdf_timestamper = signers.PdfTimeStamper(stamper)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    try:
        if reader.embedded_timestamp_signatures:
            out = outside_event_loop(pdf_timestamper.update_archival_timestamp_chain, reader, vc, in_place=False)
        else:
            sig = reader.embedded_regular_signatures[-1]
            buf = outside_event_loop(add_validation_info, sig, vc, in_place=False)
            buf.seek(0)
            writer = IncrementalPdfFileWriter(buf, strict=False)
            out = outside_event_loop(pdf_timestamper.timestamp_pdf, writer, "sha256", vc, in_place=False)
    except Exception as e:
        if ltv.timestamp_failure(e):
            raise TimestampFailed(_("Layanan cap waktu (TSA) tidak menjawab; cap waktu belum diperbarui.")) from e
        raise
    return out.getvalue()


def refresh_letters(*, now: datetime | None = None, days: int | None = None) -> RefreshReport:
    """Add a fresh document timestamp to every valid letter whose last timestamp's TSA certificate expires within
    ``days`` (LTV_REFRESH_DAYS), or that has none yet while a TSA is configured. One commit per letter; a letter
    that fails is logged, audited (``letter.ltv_refresh_failed``) and listed, the others go on."""
    from sempelmas.models.letters import Letter, LetterStatus
    from sempelmas.services.accountability import audit
    from sempelmas.services.letters import store as letter_store

    now = now or datetime.now(UTC)
    days = int(current_app.config["LTV_REFRESH_DAYS"] if days is None else days)
    horizon = now + timedelta(days=days)
    report = RefreshReport()
    ca_public.current_crl(now)  # fresh before anything embeds it
    ids = db.session.scalars(select(Letter.id).where(Letter.status == LetterStatus.VALID).order_by(Letter.id)).all()
    for letter_id in ids:
        letter = db.session.get(Letter, letter_id)
        try:
            pdf = letter_store.read_pdf(letter)
        except (OSError, LookupError) as e:
            _refresh_failed(report, letter, f"berkas tidak terbaca ({type(e).__name__})")
            continue
        report.checked += 1
        state = last_timestamp(pdf)
        due = (state.kind == "none" and tsa_configured()) or (
            state.tsa_not_after is not None and state.tsa_not_after <= horizon)
        if not due:
            continue
        try:
            new = add_document_timestamp(pdf)
        except Exception as e:  # noqa: BLE001 - one letter's failure is reported, the others go on
            db.session.rollback()
            why = e.message if isinstance(e, PkiError) else f"{type(e).__name__}: {e}"
            log.warning("LTV refresh of letter %s failed: %s", letter.number, why)
            _refresh_failed(report, letter, why)
            continue
        old_sha = letter.pdf_sha256
        path = letter_store.path_of(letter)
        _write_atomically(path, new)
        try:
            letter.pdf_sha256 = hashlib.sha256(new).hexdigest()
            letter.pdf_size = len(new)
            audit.record("letter.ltv_refresh", letter, actor=None, number=letter.number, old_sha256=old_sha,
                         sha256=letter.pdf_sha256, size=letter.pdf_size)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            _write_atomically(path, pdf)  # the earlier file back: the row still names its hash
            raise
        report.refreshed.append(letter.number)
    _write_status(report, now)
    return report


def _status_file() -> Path:
    return pki_dir() / "ltv-status.json"


def _write_status(report: RefreshReport, now: datetime) -> None:
    """What the last run did, for ``flask doctor`` (services/operations/doctor.py's ``ltv`` check)."""
    import json

    path = _status_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"at": now.isoformat(), "checked": report.checked, "refreshed": report.refreshed,
            "failed": [{"number": n, "why": w} for n, w in report.failed]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ltv-status-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def last_run() -> dict | None:
    import json

    try:
        return json.loads(_status_file().read_text())
    except (OSError, ValueError):
        return None


def _refresh_failed(report: RefreshReport, letter, why: str) -> None:
    from sempelmas.services.accountability import audit

    report.failed.append((letter.number, why))
    audit.record("letter.ltv_refresh_failed", letter, actor=None, number=letter.number, reason=why[:300])
    db.session.commit()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ltv-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)
