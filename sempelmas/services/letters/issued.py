"""Issued letters: lookup by verification code, revocation, replacement, the register and scan counting
(the check of a PDF someone was handed: services.letters.upload_check).

Shared with the issuing (signing) part, which creates Letter rows inside its signing transaction.
"""

from __future__ import annotations

import atexit
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, extract, or_, select, update
from sqlalchemy.orm import aliased

from sempelmas.domain.masking import mask_name, mask_nik
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.profile import Official
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import audit
from sempelmas.services.operations import notify, webhooks
from sempelmas.services.operations.notice_text import Msg, msg

LETTER_STATUS_LABELS = {
    LetterStatus.VALID: _l("Sah"),
    LetterStatus.REVOKED: _l("Dicabut"),
    LetterStatus.REPLACED: _l("Diganti"),
}
REASON_MAX = 500


class LetterError(Exception):
    """A refused letter action; ``message`` is for the user (Indonesian)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ----------------------------------------------------------------------------------- lookups

def by_code(code: str) -> Letter | None:
    if not code or len(code) > 40:
        return None
    return db.session.scalar(select(Letter).where(Letter.verify_code == code))


@dataclass(frozen=True)
class PublicFacts:
    """What the public verification page shows: nothing more (the name and NIK already masked)."""

    id: int
    code: str
    number: str
    title: str
    signed_at: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    pdf_sha256: str
    capacity: str
    signer_name: str
    signer_position: str
    resident_name: str
    resident_nik: str
    replaced_by_code: str | None
    #: how it was signed (Letter.signing_backend, Letter.issuer_cn): the page says certified or not, and by whom
    signing_backend: str = "local"
    issuer_cn: str | None = None


def facts_as_printed(request: LetterRequest, official: Official | None, signer_user: User) -> dict:
    """The names the letter prints, kept on its row (Letter.signer_name …) for the verification page."""
    subject = request.subject
    return {"signer_name": (official.name if official is not None else signer_user.full_name or "")[:120],
            "signer_position": (official.position_title if official is not None else "")[:120],
            "subject_name": (subject.full_name or "")[:120], "subject_nik": (subject.nik or "")[:16]}


_L = Letter.__table__.c
#: built once: the statement's construction costs more than the lookup on this hot public path (measured by
#: bench/bench_verify.py). One row by a unique index, no join: the letter keeps what it printed (facts_as_printed).
_FACTS = select(_L.id, _L.verify_code, _L.number, _L.title, _L.signed_at, _L.status, _L.revoked_at,
                _L.revocation_reason, _L.pdf_sha256, _L.capacity, _L.signer_name, _L.signer_position,
                _L.subject_name, _L.subject_nik, _L.signing_backend,
                _L.issuer_cn).where(_L.verify_code == bindparam("code"))


def public_facts(code: str) -> PublicFacts | None:
    """One query (two for a replaced letter: the newer letter's code), Core through a pooled connection
    (no ORM bookkeeping). Read fresh on every call, so a revocation shows at once."""
    if not code or len(code) > 40:
        return None
    with db.engine.connect() as conn:
        row = conn.execute(_FACTS, {"code": code}).first()
    if row is None:
        return None
    (lid, vcode, number, title, signed_at, status, revoked_at, reason, sha, capacity, signer_name,
     signer_position, subject_name, subject_nik, backend, issuer) = row
    newer = None
    if status == LetterStatus.REPLACED:
        newer = db.session.scalar(select(Letter.verify_code).where(Letter.replaces_id == lid)
                                  .order_by(Letter.id.desc()).limit(1))
    return PublicFacts(lid, vcode, number, title, signed_at, status, revoked_at, reason, sha, capacity or "",
                       signer_name, signer_position, mask_name(subject_name), mask_nik(subject_nik), newer,
                       backend or "local", issuer)


# ----------------------------------------------------------------------------------- revocation

def may_revoke(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(Role.SIGNER, Role.ADMIN))


def revoke(letter: Letter, actor: User, reason: str) -> Letter:
    """Revoke a valid letter (a signing official or an admin, with a reason); audited, and the applicant and
    their pendamping are told (bell, e-mail/WhatsApp as configured). The caller commits."""
    reason = clean_text(reason or "", multiline=True).strip()  # printed on the public verification page
    if not may_revoke(actor):
        raise LetterError(_("Hanya pejabat penandatangan atau admin yang dapat mencabut surat."))
    if not reason:
        raise LetterError(_("Tuliskan alasan pencabutan: alasan ini ditampilkan di halaman verifikasi."))
    if len(reason) > REASON_MAX:
        raise LetterError(_("Alasan pencabutan terlalu panjang (paling banyak %(n)d karakter).", n=REASON_MAX))
    if letter.status != LetterStatus.VALID:
        raise LetterError(_("Surat ini sudah berstatus %(status)s: tidak dapat dicabut lagi.",
                            status=str(LETTER_STATUS_LABELS.get(letter.status, letter.status)).lower()))
    letter.status = LetterStatus.REVOKED
    letter.revoked_at = utcnow()
    letter.revoked_by_id = actor.id
    letter.revocation_reason = reason
    audit.record("letter.revoke", letter, actor=actor, number=letter.number, reason=reason)
    db.session.flush()
    webhooks.letter_event("letter.revoked", letter)
    _tell_applicant_side(letter, "letter.revoke", *_revoked_notice(letter, reason))
    return letter


def mark_replaced(old: Letter, new: Letter, actor: User | None = None, reason: str | None = None) -> None:
    """``new`` (a new signed letter with its own number) replaces ``old``: old → diganti; audited, and the
    applicant and their pendamping are told where the new letter is."""
    if old.id == new.id:
        raise LetterError(_("Surat tidak dapat menggantikan dirinya sendiri."))
    if old.status == LetterStatus.REPLACED:
        raise LetterError(_("Surat %(number)s sudah diganti oleh surat lain.", number=old.number))
    old.status = LetterStatus.REPLACED
    new.replaces_id = old.id
    audit.record("letter.replace", old, actor=actor, number=old.number, replaced_by=new.number,
                 replaced_by_id=new.id)
    db.session.flush()
    _tell_applicant_side(old, "letter.replace", *_replaced_notice(old, new, reason))


def _revoked_notice(letter: Letter, reason: str) -> tuple[Msg, Msg]:
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    message = _("Surat %(number)s (%(title)s) untuk permohonan %(tn)s DICABUT oleh kelurahan dan tidak berlaku "
                "lagi: jangan digunakan. Alasan: %(reason)s", number=letter.number, title=letter.title,
                tn=letter.request.tracking_number, reason=reason)
    return message, _("Surat %(number)s dicabut", number=letter.number)


def _replaced_notice(old: Letter, new: Letter, reason: str | None) -> tuple[Msg, Msg]:
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    message = _("Surat %(old)s untuk permohonan %(tn)s diganti dengan surat baru nomor %(new)s. Surat lama tidak "
                "berlaku lagi; unduh surat pengganti dari halaman permohonan.", old=old.number, new=new.number,
                tn=old.request.tracking_number)
    if reason:
        message += _("Alasan: %(reason)s", reason=reason)
    return message, _("Surat %(number)s diganti", number=old.number)


def _tell_applicant_side(letter: Letter, kind: str, message: Msg, subject: Msg) -> None:
    request = letter.request
    notify.tell_applicant_side(request, kind=kind, message=message,
                               url=notify.RESIDENT_URL.format(request.tracking_number), subject=subject)


# ----------------------------------------------------------------------------------- what residents see

@dataclass(frozen=True)
class RequestLetters:
    """A request's letters as its applicant and family see them: only ``current`` is a letter they may use."""

    #: the valid letter (the one the resident downloads), if any
    current: Letter | None
    #: revoked or replaced letters, newest first
    withdrawn: list[Letter]
    #: letter id → the letter that replaced it
    replaced_by: dict[int, Letter]

    @property
    def revoked(self) -> Letter | None:
        """The newest revoked letter when no valid one is left: the request has no usable letter."""
        if self.current is not None:
            return None
        return next((lt for lt in self.withdrawn if lt.status == LetterStatus.REVOKED), None)


def of_request(request_id: int) -> RequestLetters:
    """The request's letters: the valid one (at most one: issuing refuses a second), and the withdrawn ones."""
    rows = list(db.session.scalars(select(Letter).where(Letter.request_id == request_id)
                                   .order_by(Letter.id.desc())))
    current = next((lt for lt in rows if lt.status == LetterStatus.VALID), None)
    return RequestLetters(current=current, withdrawn=[lt for lt in rows if lt.status != LetterStatus.VALID],
                          replaced_by={lt.replaces_id: lt for lt in rows if lt.replaces_id is not None})


def without_valid_letter(request_ids: list[int]) -> set[int]:
    """Of these requests, those that had a letter and have no valid one left (revoked): one query, for lists."""
    if not request_ids:
        return set()
    rows = db.session.execute(select(Letter.request_id, Letter.status)
                              .where(Letter.request_id.in_(request_ids))).all()
    issued = {request_id for request_id, _status in rows}
    valid = {request_id for request_id, status in rows if status == LetterStatus.VALID}
    return issued - valid


# ----------------------------------------------------------------------------------- register

def register_query(filters: dict) -> Select:
    """The register of outgoing letters, newest first. ``filters``: year, month, service, status, q (a number
    or a resident's name). Rows are (Letter, Resident)."""
    subject = aliased(Resident)
    stmt = (select(Letter, subject).join(LetterRequest, LetterRequest.id == Letter.request_id)
            .join(subject, subject.id == LetterRequest.subject_resident_id))
    year = filters.get("year")
    if year:
        stmt = stmt.where(Letter.year == int(year))
    month = filters.get("month")
    if month:
        stmt = stmt.where(extract("month", Letter.signed_at) == int(month))
    if filters.get("service"):
        stmt = stmt.where(Letter.service_code == filters["service"])
    if filters.get("status") in set(LetterStatus):
        stmt = stmt.where(Letter.status == filters["status"])
    q = (filters.get("q") or "").strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Letter.number.ilike(like), subject.full_name.ilike(like)))
    return stmt.order_by(Letter.signed_at.desc(), Letter.id.desc())


# ----------------------------------------------------------------------------------- scan counting
#
# A public scan must not cost a write: each worker process counts scans in memory and adds them to the
# database with one UPDATE letters SET scan_count = scan_count + n per letter, when VERIFY_SCAN_FLUSH_HITS
# scans have piled up or VERIFY_SCAN_FLUSH_SECONDS have passed since the last flush (0 = write at once), and
# when the process exits. A crash loses at most that many counts; the register may lag by that long.
# Measured by bench/bench_verify.py (its "scans counted" line checks the counts arrive).

_lock = threading.Lock()
_pending: dict = {}  # engine -> {"counts": {letter_id: n}, "hits": int, "since": monotonic}


def count_scan(letter_id: int) -> None:
    engine = db.engine
    cfg = current_app.config
    now = time.monotonic()
    with _lock:
        bucket = _pending.setdefault(engine, {"counts": {}, "hits": 0, "since": now})
        bucket["counts"][letter_id] = bucket["counts"].get(letter_id, 0) + 1
        bucket["hits"] += 1
        due = (bucket["hits"] >= cfg["VERIFY_SCAN_FLUSH_HITS"]
               or now - bucket["since"] >= cfg["VERIFY_SCAN_FLUSH_SECONDS"])
        if not due:
            return
        counts = bucket["counts"]
        _pending[engine] = {"counts": {}, "hits": 0, "since": now}
    _flush(engine, counts)


_ADD_SCANS = (update(Letter.__table__).where(_L.id == bindparam("lid"))
              .values(scan_count=_L.scan_count + bindparam("n"), last_scanned_at=bindparam("at")))


def _flush(engine, counts: dict[int, int]) -> None:
    if not counts:
        return
    at = utcnow()
    try:
        with engine.begin() as conn:  # its own short transaction, apart from the request's session
            conn.execute(_ADD_SCANS, [{"lid": lid, "n": n, "at": at} for lid, n in sorted(counts.items())])
    except Exception:  # a busy database must not fail a public page: count again next time
        with _lock:
            bucket = _pending.setdefault(engine, {"counts": {}, "hits": 0, "since": time.monotonic()})
            for letter_id, n in counts.items():
                bucket["counts"][letter_id] = bucket["counts"].get(letter_id, 0) + n


def flush_scans() -> None:
    """Write every pending count now (at exit, and for tests)."""
    with _lock:
        items = [(engine, b["counts"]) for engine, b in _pending.items()]
        _pending.clear()
    for engine, counts in items:
        _flush(engine, counts)


atexit.register(flush_scans)
