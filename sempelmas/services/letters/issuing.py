"""Issuing a letter: the one transaction that numbers, renders, signs and stores it, and closes the request.

``issue_letter`` refuses a request that is not waiting for a signature (the lifecycle's "sign" action decides)
or that already has a valid letter, and an official whose passphrase is wrong (counted by the PKI throttle,
nothing else changes). Then, in ONE transaction that begins with ``sequences.begin_immediate()`` (SQLite's
write lock; on PostgreSQL the counter row and the request row are locked ``FOR UPDATE``):

    take the number → new verification code → render the PDF (number, QR with <PUBLIC_URL>/v/<code>)
    → sign it (the official's backend: services/letters/backends; a gateway's PDF must validate) → insert the
    Letter row → stage the file (``<name>.pending``) → lifecycle "sign" (→ selesai, notifications) → audit
    "letter.issue" → commit → the file gets its final name.

Any failure rolls everything back and deletes the staged file: no letter, no file, the number is not
consumed (gapless), the request still waits for a signature. The write lock (or row lock) is held while the
letter is rendered and signed, because the number printed in the PDF must be the one the commit keeps: signers
queue behind each other for the ~100 ms a letter takes. A process killed before the commit leaves only a pending
file that nothing serves or backs up, and that ``letter_store.sweep`` deletes (see letter_store).

Capacity in the signature block (no schema change; from the profile's officials, ``models.profile.Official``):
- the official whose ``position`` is "lurah" signs in their own name (capacity "");
- an official whose ``position_title`` starts with "Plh." or "Plt." (or whose ``position`` is "plh"/"plt"),
  e.g. "Plt. Lurah Jagalan", signs as Plh./Plt. — the admin marks a stand-in by the title printed on letters;
- every other official (the sekretaris, a kasi) signs "a.n." (atas nama) the lurah.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from blinker import NamedSignal
from flask import current_app
from sqlalchemy import func, select

from sempelmas import links
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.profile import Official
from sempelmas.models.requests import LetterRequest
from sempelmas.services.accountability import audit
from sempelmas.services.letters import backends
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters.numbering import NumberFormatError
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.operations import detached, webhooks
from sempelmas.services.requests import lifecycle

#: the most letters one batch signs (one passphrase entry)
BATCH_MAX = 100
CAPACITIES = ("", "a.n.", "Plh.", "Plt.")
#: sent inside the signing transaction, after the letter row and its audit entry, before the commit:
#: ``letter_issued.send(letter, pdf=signed_bytes)``; receivers add rows and flush, never commit (the OpenDK
#: connector queues the letter: services/integration/opendk.py)
letter_issued = NamedSignal("letter-issued")


class IssueError(Exception):
    """A refused issue; ``message`` is for the official (Indonesian)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


# ------------------------------------------------------------------------------------------- helpers


def capacity_of(official: Official | None) -> str:
    """"" for the lurah, "Plh."/"Plt." for a stand-in, "a.n." for anyone else (see the module docstring)."""
    if official is None:
        return "a.n."
    title = (official.position_title or "").strip().lower()
    position = (official.position or "").strip().lower()
    for mark in ("Plh.", "Plt."):
        if title.startswith(mark.lower()) or position in (mark.lower().rstrip("."), mark.lower()):
            return mark
    if position == "lurah" or position == "kepala_desa":
        return ""
    return "a.n."


def official_of(user: User, certificate=None) -> Official | None:
    """The official a signer signs as: the one the certificate was issued for, else the account's link."""
    if certificate is not None and certificate.official_id:
        official = db.session.get(Official, certificate.official_id)
        if official is not None:
            return official
    return letter_certs.official_for(user)


#: the public verification page of a letter (sempelmas/web/letters/verify.py), as an app path
VERIFY_PATH = "/v/{}"


def verify_url(code: str) -> str:
    """The address printed in a letter's QR code and footer, and given wherever a letter's check is linked."""
    return links.absolute_url(VERIFY_PATH.format(code))


def valid_letter_of(request_id: int) -> Letter | None:
    return db.session.scalar(select(Letter).where(Letter.request_id == request_id,
                                                  Letter.status == LetterStatus.VALID).limit(1))


def latest_letter_of(request_id: int) -> Letter | None:
    """The request's valid letter, else its newest one."""
    rows = db.session.scalars(select(Letter).where(Letter.request_id == request_id).order_by(Letter.id.desc())).all()
    return next((r for r in rows if r.status == LetterStatus.VALID), rows[0] if rows else None)


#: letters per page of the signing queue (one page is what an official reads, ticks and signs at once)
SIGNING_PAGE_SIZE = 50


@dataclass
class SigningQueueRow:
    """What the signing queue shows of a request waiting for a signature."""

    tracking_number: str
    subject_name: str
    service_name: str
    forwarded_at: datetime  #: when it was last moved (forwarded to signing), UTC


@dataclass
class SigningQueuePage:
    """One page of the requests waiting for a signature, the longest-waiting first."""

    items: list[SigningQueueRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def signing_queue(page: int = 1, per_page: int | None = None) -> SigningQueuePage:
    """One page of the requests waiting for a signature (a page past the last shows the last): the count on the
    (status, due_at) index, then the page's ids, joined to the subject's name and the service's name (read from
    the version's snapshot in SQL) only: two statements, no request, resident or snapshot loaded whole."""
    from sempelmas.models.catalogue import ServiceVersion
    from sempelmas.models.residents import Resident

    per_page = per_page or SIGNING_PAGE_SIZE
    R = LetterRequest
    waiting = R.status.in_(lifecycle.statuses_waiting_for(lifecycle.SIGNER))
    total = db.session.scalar(select(func.count()).select_from(R).where(waiting)) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    ids = (select(R.id).where(waiting).order_by(R.updated_at, R.id)
           .limit(per_page).offset((page - 1) * per_page).subquery("page"))
    rows = db.session.execute(
        select(R.tracking_number, Resident.full_name, ServiceVersion.snapshot["name"].as_string(), R.updated_at)
        .join(ids, ids.c.id == R.id)
        .join(Resident, Resident.id == R.subject_resident_id)
        .join(ServiceVersion, ServiceVersion.id == R.service_version_id)
        .order_by(R.updated_at, R.id))
    return SigningQueuePage([SigningQueueRow(*r) for r in rows], total, page, per_page)


def check_signable(request: LetterRequest, signer_user: User) -> None:
    """Refuse (IssueError) a request that cannot be signed by this user now."""
    if lifecycle.target(request, "sign") is None:
        raise IssueError(_("Permohonan %(tn)s berstatus '%(status)s', tidak menunggu tanda tangan.",
                           tn=request.tracking_number, status=lifecycle.status_label(request.status)))
    if not lifecycle.may_act(request, signer_user, "sign"):
        raise IssueError(_("Anda tidak berwenang menandatangani surat ini."))
    if valid_letter_of(request.id) is not None:
        raise IssueError(_("Surat untuk permohonan %(tn)s sudah ditandatangani.", tn=request.tracking_number))


def prepare_signer(signer_user: User, passphrase: str, *, totp: str | None = None, official: Official | None = None):
    """The user's signer backend (services/letters/backends), unlocked before a number is taken: CertificateUnusable,
    TooManyAttempts, WrongPassphrase (counted and committed) or SigningRefused (BSrE: gateway, certificate)."""
    signer = backends.backend_for(signer_user, official)
    try:
        signer.unlock(passphrase, totp=totp)
    except letter_ca.WrongPassphrase:
        db.session.commit()  # the counted failure (local); nothing pending otherwise
        raise
    return signer


def _lock_request(request_id: int) -> LetterRequest:
    """Re-read the request inside the signing transaction (row-locked on PostgreSQL)."""
    stmt = select(LetterRequest).where(LetterRequest.id == request_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return db.session.scalars(stmt).one()


# ------------------------------------------------------------------------------------------- issuing


def issue_letter(request: LetterRequest, signer_user: User, passphrase: str, *, official: Official | None = None,
                 capacity: str | None = None, now: datetime | None = None, signer=None,
                 verify_code: str | None = None, totp: str | None = None) -> Letter:
    """Number, render, sign and store the letter of ``request`` and close it (selesai); commits.

    ``signer``: an already unlocked signer (batch signing unlocks the key once); otherwise the user's active
    official's backend is unlocked with ``passphrase`` (or ``totp``: BSrE v2). ``official``/``capacity`` default to
    the certificate's official and ``capacity_of`` it. ``verify_code``: a fixed code (demo data only). Raises
    IssueError, lifecycle.RequestError or letter_ca.PkiError (WrongPassphrase, TooManyAttempts,
    CertificateUnusable, SigningRefused); on any error nothing is kept (see the module docstring).
    """
    check_signable(request, signer_user)
    if signer is None:
        signer = prepare_signer(signer_user, passphrase, totp=totp)
    return _issue(request.id, signer_user, passphrase, signer=signer, official=official, capacity=capacity,
                  now=now, verify_code=verify_code)


def issue_replacement(old_letter: Letter, signer_user: User, passphrase: str, reason: str, *, signer=None,
                      now: datetime | None = None, totp: str | None = None) -> Letter:
    """A new signed letter for the same request, with a new number, that replaces ``old_letter`` (which
    becomes "diganti" and names it on its verification page); the request stays selesai. Commits."""
    reason = (reason or "").strip()
    if not reason:
        raise IssueError(_("Tuliskan alasan penggantian surat."))
    if old_letter.status == LetterStatus.REPLACED:
        raise IssueError(_("Surat %(number)s sudah diganti oleh surat lain.", number=old_letter.number))
    if not signer_user.has_role(Role.SIGNER):
        raise IssueError(_("Hanya pejabat penandatangan yang dapat menerbitkan surat pengganti."))
    if signer is None:
        signer = prepare_signer(signer_user, passphrase, totp=totp)
    return _issue(old_letter.request_id, signer_user, passphrase, signer=signer, now=now, replaces=old_letter.id,
                  reason=reason)


def _issue(request_id: int, signer_user: User, passphrase: str, *, signer, official=None, capacity=None,
           now=None, verify_code=None, replaces: int | None = None, reason: str | None = None) -> Letter:
    from sempelmas.services.letters import (
        issued as letters,
    )
    from sempelmas.services.letters import (
        numbering,
    )
    from sempelmas.services.letters import (
        render as letter_render,
    )
    from sempelmas.services.letters import (
        store as letter_store,
    )

    now = now or datetime.now(UTC)
    signed_at = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    certificate = getattr(signer, "certificate", None)
    if official is None:
        official = official_of(signer_user, certificate)
    if capacity is None:
        capacity = capacity_of(official)
    if capacity not in CAPACITIES:
        raise IssueError(_("Kedudukan penandatangan tidak dikenal: %(c)s.", c=capacity))
    official_id = official.id if official is not None else None
    certificate_id = getattr(certificate, "id", None)
    user_id = signer_user.id

    # The signing transaction starts here, on a clean session: whatever the caller read is committed or
    # released, then SQLite's write lock is taken before anything is read again.
    db.session.commit()
    _begin_signing_transaction()
    stored: str | None = None
    try:
        request = _lock_request(request_id)
        signer_user = db.session.get(User, user_id)
        old = None
        if replaces is None:
            check_signable(request, signer_user)  # again, under the lock: another signer may have been first
        else:
            old = db.session.get(Letter, replaces)
            if old is None or old.status == LetterStatus.REPLACED:
                raise IssueError(_("Surat yang akan diganti sudah diganti oleh surat lain."))
        if official_id is not None:
            official = db.session.get(Official, official_id)

        number, scope, year, seq = numbering.next_letter_number(request, now)
        code = verify_code or letter_store.new_verify_code()
        pdf = letter_render.render_pdf(request, number=number, signed_at=signed_at, official=official,
                                       capacity=capacity, verify_url=verify_url(code))
        location = _location()
        signed = signer.sign(pdf, passphrase=passphrase, reason=f"Surat {number}", location=location)
        if hasattr(signer, "check_signed"):  # not a batch's held key (our own pyHanko, in-process)
            signer.check_signed(pdf, signed)  # a gateway's answer is recorded only once it validates (bsre.py)
        stored = letter_store.new_stored_name()
        snapshot = request.service_snapshot or {}
        letter = Letter(
            request_id=request.id, number=number, scope=scope, year=year, sequence=seq, verify_code=code,
            service_code=str(snapshot.get("code", ""))[:40],
            title=str(snapshot.get("letter_title") or snapshot.get("name") or "Surat")[:200],
            signed_at=signed_at, signer_user_id=user_id, official_id=official_id, capacity=capacity,
            certificate_id=certificate_id, stored_name=stored, pdf_sha256=hashlib.sha256(signed).hexdigest(),
            pdf_size=len(signed), status=LetterStatus.VALID,
            **letters.facts_as_printed(request, official, signer_user), **backends.provenance(signer, signed))
        db.session.add(letter)
        db.session.flush()
        # after the row (letter_store's sweep waits for the transactions that inserted one), under its pending
        # name until the commit: a crash before the commit leaves no file that looks issued
        letter_store.stage_pdf(stored, signed)
        if old is None:
            lifecycle.transition(request, "sign", actor=signer_user, note=str(_("Surat nomor %(n)s", n=number)))
            audit.record("letter.issue", letter, actor=signer_user, number=number,
                         tracking_number=request.tracking_number, capacity=capacity,
                         sha256=letter.pdf_sha256, size=letter.pdf_size)
        else:
            letters.mark_replaced(old, letter, signer_user, reason=reason)
            audit.record("letter.issue", letter, actor=signer_user, number=number,
                         tracking_number=request.tracking_number, capacity=capacity, sha256=letter.pdf_sha256,
                         size=letter.pdf_size, replaces=old.number, reason=reason)
        webhooks.letter_event("letter.signed", letter)
        letter_issued.send(letter, pdf=signed)
        db.session.commit()
    except BaseException as e:
        db.session.rollback()
        if stored is not None:
            letter_store.discard_pdf(stored)
        if isinstance(e, letter_ca.WrongPassphrase):  # a gateway refused it (BSrE): counted like a local one
            letter_certs.record_failure(db.session.get(User, user_id), kind="bsre")
            db.session.commit()
        raise
    try:
        letter_store.publish_pdf(stored)
    except OSError:  # issued all the same: path_of or the next sweep publishes it (as after a kill right here)
        current_app.logger.exception("letter %s committed, its file not yet published", stored)
    return letter


#: how long a signer waits for the others' signing transactions (SQLite's write lock) before giving up
LOCK_WAIT_SECONDS = 60.0


def _begin_signing_transaction() -> None:
    """BEGIN IMMEDIATE on SQLite, waiting beyond the connection's busy timeout while other signers hold the
    write lock (each holds it for one letter, ~0.1 s, but a batch of 100 from another official queues many);
    nothing is taken before the lock is held, so a retry is safe. No-op elsewhere (row locks)."""
    import time

    from sqlalchemy.exc import OperationalError

    from sempelmas.services import sequences

    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            sequences.begin_immediate()
            return
        except OperationalError as e:
            db.session.rollback()
            if "locked" not in str(e).lower() or time.monotonic() > deadline:
                raise IssueError(_("Basis data sedang sibuk; surat belum ditandatangani. Coba lagi.")) from e
            time.sleep(0.05)


#: the same wait for another transaction that takes a number (a test letter: services/letters/test_letter.py)
begin_signing_transaction = _begin_signing_transaction


def _location() -> str:
    from sempelmas.services.kelurahan import profile as profile_service

    profile = profile_service.profile_row()
    if profile is None:
        return ""
    return f"{profile.village_title}, {profile.regency_kind.capitalize()} {profile.regency_name}"


# ------------------------------------------------------------------------------------------- batches


class BatchResult:
    """One line of a batch's result list."""

    def __init__(self, tracking_number: str, ok: bool, message: str, letter: Letter | None = None):
        self.tracking_number = tracking_number
        self.ok = ok
        self.message = message
        self.letter = letter
        self.number = letter.number if letter is not None else None
        self.verify_code = letter.verify_code if letter is not None else None

    def as_dict(self) -> dict:
        """What a batch job keeps of it (its result list)."""
        return {"tracking_number": self.tracking_number, "ok": self.ok, "message": self.message,
                "number": self.number}


def batch_selection(tracking_numbers: list[str]) -> list[str]:
    """The tracking numbers of a batch, each once, in the order chosen; IssueError for none or more than
    BATCH_MAX."""
    tracking_numbers = list(dict.fromkeys(t.strip().upper() for t in tracking_numbers if t and t.strip()))
    if not tracking_numbers:
        raise IssueError(_("Pilih minimal satu surat untuk ditandatangani."))
    if len(tracking_numbers) > BATCH_MAX:
        raise IssueError(_("Paling banyak %(n)d surat sekali tanda tangan.", n=BATCH_MAX))
    return tracking_numbers


def sign_batch(tracking_numbers: list[str], signer_user: User, passphrase: str = "", *, signer=None,
               on_result: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Sign up to BATCH_MAX requests with one passphrase: the key is unlocked once (a wrong passphrase raises
    before anything is signed) unless ``signer`` is an unlocked one already (a batch job's), then one
    transaction and one commit per letter; a refused or failed letter does not stop the others.
    ``on_result`` hears each letter's result as soon as it is known (a job's progress)."""
    tracking_numbers = batch_selection(tracking_numbers)
    if signer is None:
        signer = prepare_signer(signer_user, passphrase)
    user_id = signer_user.id
    results: list[BatchResult] = []
    for tn in tracking_numbers:
        detached.raise_if_stopped()  # a stop swallowed while the last letter was signed still ends the batch
        with detached.stop_deferred():  # a stop lands between letters: each is signed or rolled back whole
            result = _sign_one_of_batch(tn, user_id, signer, passphrase)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _sign_one_of_batch(tn: str, user_id: int, signer, passphrase: str) -> BatchResult:
    user = db.session.get(User, user_id)
    request = db.session.scalar(select(LetterRequest).where(LetterRequest.tracking_number == tn))
    if request is None:
        return BatchResult(tn, False, str(_("Permohonan tidak ditemukan.")))
    try:
        letter = issue_letter(request, user, passphrase, signer=signer)
    except (IssueError, lifecycle.RequestError, letter_ca.PkiError, LetterRenderError, NumberFormatError) as e:
        db.session.rollback()
        detached.raise_if_stopped()  # the process being stopped is never one letter's failure
        return BatchResult(tn, False, e.message)
    except Exception:  # noqa: BLE001 - one broken letter must not stop the batch; it is logged
        db.session.rollback()
        detached.raise_if_stopped()
        current_app.logger.exception("signing %s failed", tn)
        return BatchResult(tn, False, str(_("Gagal menandatangani karena kesalahan sistem; surat tidak diterbitkan "
                                            "dan nomornya tidak terpakai.")))
    return BatchResult(tn, True, str(_("Ditandatangani, nomor %(n)s.", n=letter.number)), letter)
