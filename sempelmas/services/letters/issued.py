"""Issued letters: lookup by verification code, revocation, replacement, the register, scan counting and
the check of a PDF someone was handed.

Shared with the issuing (signing) part, which creates Letter rows inside its signing transaction.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, extract, or_, select, update
from sqlalchemy.orm import aliased

from sempelmas.domain import pdf_shape
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
from sempelmas.services.files import isolation
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.operations import notify

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


def facts_as_printed(request: LetterRequest, official: Official | None, signer_user: User) -> dict:
    """The names the letter prints, kept on its row (Letter.signer_name …) for the verification page."""
    subject = request.subject
    return {"signer_name": (official.name if official is not None else signer_user.full_name or "")[:120],
            "signer_position": (official.position_title if official is not None else "")[:120],
            "subject_name": (subject.full_name or "")[:120], "subject_nik": (subject.nik or "")[:16]}


_L = Letter.__table__.c
#: built once: the statement's construction costs more than the lookup on this hot public path. One row
#: by a unique index, no join: the letter keeps what it printed (facts_as_printed).
_FACTS = select(_L.id, _L.verify_code, _L.number, _L.title, _L.signed_at, _L.status, _L.revoked_at,
                _L.revocation_reason, _L.pdf_sha256, _L.capacity, _L.signer_name, _L.signer_position,
                _L.subject_name, _L.subject_nik).where(_L.verify_code == bindparam("code"))


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
     signer_position, subject_name, subject_nik) = row
    newer = None
    if status == LetterStatus.REPLACED:
        newer = db.session.scalar(select(Letter.verify_code).where(Letter.replaces_id == lid)
                                  .order_by(Letter.id.desc()).limit(1))
    return PublicFacts(lid, vcode, number, title, signed_at, status, revoked_at, reason, sha, capacity or "",
                       signer_name, signer_position, mask_name(subject_name), mask_nik(subject_nik), newer)


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
    with force_locale("id"):  # stored text: the kelurahan's people read Indonesian
        message = _("Surat %(number)s (%(title)s) untuk permohonan %(tn)s DICABUT oleh kelurahan dan tidak berlaku "
                    "lagi: jangan digunakan. Alasan: %(reason)s", number=letter.number, title=letter.title,
                    tn=letter.request.tracking_number, reason=reason)
        subject = _("Surat %(number)s dicabut", number=letter.number)
    _tell_applicant_side(letter, "letter.revoke", message, subject)
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
    with force_locale("id"):
        message = _("Surat %(old)s untuk permohonan %(tn)s diganti dengan surat baru nomor %(new)s. Surat lama tidak "
                    "berlaku lagi; unduh surat pengganti dari halaman permohonan.", old=old.number, new=new.number,
                    tn=old.request.tracking_number)
        if reason:
            message += " " + _("Alasan: %(reason)s", reason=reason)
        subject = _("Surat %(number)s diganti", number=old.number)
    _tell_applicant_side(old, "letter.replace", message, subject)


def _tell_applicant_side(letter: Letter, kind: str, message: str, subject: str) -> None:
    request = letter.request
    notify.tell_applicant_side(request, kind=kind, message=str(message),
                               url=notify.RESIDENT_URL.format(request.tracking_number), subject=str(subject))


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


# ----------------------------------------------------------------------------------- uploaded PDF check
#
# Anyone may upload a PDF here, so the work is bounded before it is done: pyHanko's check of a signed file
# grows with the square of its incremental updates (2,000 empty updates, 330 KB, kept a worker busy until
# gunicorn killed it), and its reader walks back through junk after %%EOF. So, in this order:
# 1. cheap counts on the bytes (size, revisions, objects) against the issued letter's own: a genuine copy is
#    the same file, or the same file with a few small incremental saves by a PDF viewer;
# 2. the parse and the signature check in a forked child with a time and memory budget
#    (services/files/isolation.py), which answers "cannot be checked" when it runs out.

class UploadRefused(LetterError):
    """The upload is not something that can be checked; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadCheck:
    same: bool
    sha256: str
    signature_valid: bool
    signature_message: str
    #: False when the file was not examined (over a bound or the budget): the message says why
    signature_checked: bool = True


@dataclass(frozen=True)
class IssuedShape:
    """Size, revisions and objects of an issued letter's PDF: the yardstick for an uploaded copy."""

    size: int
    revisions: int
    objects: int


#: by the letter's SHA-256 (an issued file never changes); bounded, public data
_SHAPES: dict[str, IssuedShape] = {}
#: when the stored file is missing: a signed letter as this app makes it (render + signature revision)
_DEFAULT_SHAPE = IssuedShape(size=0, revisions=2, objects=200)


def issued_shape(letter_id: int, sha256: str) -> IssuedShape:
    """Measured once per worker from the stored PDF (a read of ~60 KB)."""
    hit = _SHAPES.get(sha256)
    if hit is not None:
        return hit
    letter = db.session.get(Letter, letter_id)
    shape = _DEFAULT_SHAPE
    if letter is not None:
        path = letter_store.path_of(letter)
        if path.is_file():
            data = path.read_bytes()
            shape = IssuedShape(len(data), pdf_shape.revisions(data), pdf_shape.objects(data))
        else:
            shape = IssuedShape(letter.pdf_size or 0, _DEFAULT_SHAPE.revisions, _DEFAULT_SHAPE.objects)
    if len(_SHAPES) >= 1000:
        _SHAPES.clear()
    _SHAPES[sha256] = shape
    return shape


def _size(n: int) -> str:
    """A file size as Indonesians write it: "6 KB", "14,0 MB"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


def _over_bounds(data: bytes, issued: IssuedShape) -> str | None:
    """Why ``data`` is too far from the issued letter to be worth parsing; None when it may be examined."""
    cfg = current_app.config
    if len(data) > issued.size + cfg["VERIFY_CHECK_EXTRA_BYTES"]:
        return _("Berkas ini tidak dapat diperiksa: ukurannya %(size)s, jauh lebih besar dari surat yang "
                 "diterbitkan (%(issued)s).", size=_size(len(data)), issued=_size(issued.size))
    revisions = pdf_shape.revisions(data)
    if revisions > issued.revisions + cfg["VERIFY_CHECK_EXTRA_REVISIONS"]:
        return _("Berkas ini tidak dapat diperiksa: berkas ini memuat %(n)d lapis perubahan (revisi), sedangkan "
                 "surat yang diterbitkan hanya %(m)d.", n=revisions, m=issued.revisions)
    objects = pdf_shape.objects(data)
    if objects > issued.objects + cfg["VERIFY_CHECK_EXTRA_OBJECTS"]:
        return _("Berkas ini tidak dapat diperiksa: isinya jauh lebih rumit dari surat yang diterbitkan "
                 "(%(n)d objek PDF, surat asli %(m)d).", n=objects, m=issued.objects)
    return None


def examine_pdf(data: bytes, roots_der: list[bytes]) -> dict:
    """The parse (pypdf reaches a page) and the signature check (pyHanko): runs in the isolated child, so it
    takes and gives plain data only."""
    from pypdf import PdfReader

    try:
        if len(PdfReader(io.BytesIO(data)).pages) < 1:
            return {"verdict": "broken"}
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - any parse error: a broken file
        return {"verdict": "broken"}
    try:
        return letter_signing.signature_facts(data, roots_der)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - what pyHanko did not foresee is still the file's fault
        return {"verdict": "damaged"}


def _preload_parsers() -> None:
    """Import pypdf and pyHanko in the worker once, so the forked child starts with them (not ~1 s later)."""
    import pyhanko.sign.validation  # noqa: F401
    import pyhanko.sign.validation.status  # noqa: F401
    import pyhanko_certvalidator  # noqa: F401
    import pypdf  # noqa: F401
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: F401


def check_upload(facts: PublicFacts, data: bytes) -> UploadCheck:
    """Is ``data`` exactly the issued letter (SHA-256), and is its signature valid?

    Refuses an empty, oversized or non-PDF upload (UploadRefused); answers "cannot be checked" without
    parsing a file far from the issued letter's size, revisions or objects, and when the parse or the
    signature check of any other file than the issued one runs out of its time or memory budget."""
    limit = current_app.config["VERIFY_UPLOAD_MAX_BYTES"]
    if not data:
        raise UploadRefused(_("Pilih berkas PDF surat yang ingin diperiksa."), 400)
    if len(data) > limit:
        raise UploadRefused(_("Berkas terlalu besar: paling banyak %(mb)d MB. Surat dari kelurahan jauh lebih "
                              "kecil; periksa apakah berkasnya benar.", mb=limit // (1024 * 1024)), 413)
    if b"%PDF-" not in data[:1024]:
        raise UploadRefused(_("Berkas ini bukan PDF. Unggah berkas PDF surat yang Anda terima."), 415)
    digest = hashlib.sha256(data).hexdigest()
    same = digest == facts.pdf_sha256
    why = _over_bounds(data, issued_shape(facts.id, facts.pdf_sha256))
    if why is not None:
        return UploadCheck(same, digest, False, why, signature_checked=False)
    _preload_parsers()
    cfg = current_app.config
    try:
        if same:  # the very bytes the kelurahan issued: its own file, checked in-process (no fork to pay)
            found = examine_pdf(data, letter_signing.trust_roots_der())
        else:
            found = isolation.run_isolated(examine_pdf, data, letter_signing.trust_roots_der(),
                                           wall_seconds=cfg["VERIFY_CHECK_SECONDS"],
                                           memory_bytes=cfg["VERIFY_CHECK_MEMORY_MB"] * 1024 * 1024)
    except isolation.BudgetExceeded:
        return UploadCheck(same, digest, False, _(
            "Berkas ini tidak dapat diperiksa: memeriksanya memerlukan waktu atau memori melebihi batas. Surat "
            "yang diterbitkan kelurahan selalu dapat diperiksa dalam sekejap."), signature_checked=False)
    if found["verdict"] == "broken":
        raise UploadRefused(_("Berkas PDF ini rusak atau tidak dapat dibaca, sehingga tidak dapat diperiksa."),
                            422)
    if found["verdict"] == "damaged":
        return UploadCheck(same, digest, False,
                           _("Tanda tangan elektronik pada berkas ini tidak dapat dibaca: tidak sah."))
    result = letter_signing.validation_result(found)
    return UploadCheck(same, digest, bool(result.ok), result.message)
