"""Submitting and withdrawing letter requests; every later status change goes through services.requests.lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from sempelmas.domain import dates
from sempelmas.domain import digits as digit_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, RoleGrant, User
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.models.requests import LetterRequest, RequestEvent, TrackingCounter
from sempelmas.models.residents import Resident
from sempelmas.services import access, sequences
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import attachments, catalogue, declared_data, lifecycle, promise, registered_ktp
from sempelmas.services.requests.lifecycle import RequestError

DEFAULT_PREFIX = "SPM"


class AnswersError(RequestError):
    """The answers do not fit the service's form; ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(str(_("Periksa kembali isian yang ditandai.")))
        self.errors = errors


def next_tracking_number(prefix: str, year: int) -> str:
    """"JGL-2026-000123": the next number of the per-year sequence, never handed out twice
    (services.sequences: a concurrent submitter waits for this transaction, then takes the next one)."""
    return f"{prefix}-{year}-{sequences.take(TrackingCounter.prefix, prefix, year):06d}"


def _version(service_code_or_version) -> ServiceVersion:
    if isinstance(service_code_or_version, ServiceVersion):
        return service_code_or_version
    service = catalogue.get_service(service_code_or_version)
    version = catalogue.current_version(service) if service is not None else None
    if version is None:
        raise RequestError(str(_("Layanan ini tidak tersedia.")))
    return version


def _check_subject(applicant: User, subject: Resident) -> None:
    if not applicant.is_resident:
        raise RequestError(str(_("Hanya akun warga yang dapat mengajukan permohonan.")))
    if not applicant.is_verified:
        raise RequestError(str(_("Akun Anda belum terverifikasi; permohonan dapat diajukan setelah diverifikasi.")))
    own = applicant.resident
    if own is None:
        raise RequestError(str(_("Hanya akun warga yang dapat mengajukan permohonan.")))
    if subject.id != own.id and not access.is_family_member(applicant, subject):
        raise RequestError(str(_(
            "Permohonan hanya dapat diajukan untuk diri sendiri atau anggota keluarga dalam KK yang sama.")))


def _has_rt_account(subject: Resident) -> bool:
    return db.session.scalar(select(RoleGrant.id).where(access.heads_of_clause(subject, rw_heads=False))
                             .limit(1)) is not None


def needs_paper_pengantar(snapshot: dict, subject: Resident) -> bool:
    """The service needs the RT's endorsement, the subject's RT has no account yet and the service
    lets a paper pengantar stand in: the resident uploads (or brings) the paper one instead."""
    return bool(snapshot.get("needs_rt_endorsement") and snapshot.get("paper_pengantar_when_no_rt_account")
                and not _has_rt_account(subject))


def find_by_idempotency_key(key: str) -> LetterRequest | None:
    return db.session.scalar(select(LetterRequest).where(LetterRequest.idempotency_key == key))


def submit(service_code_or_version, applicant: User, subject_resident: Resident, answers, *,
           idempotency_key: str | None, submitted_by: User | None = None,
           now: datetime | None = None) -> LetterRequest:
    """Create a request for ``subject_resident`` under the service's current version.

    Refuses (RequestError) a disabled or unknown service, an applicant who is not a verified
    resident, a subject who is neither the applicant nor on the applicant's KK, and a pendamping
    who does not assist the applicant; refuses (AnswersError, per-field messages) answers that do
    not fit the form, saving nothing. A key already used returns that request instead of a new one.
    Starts at "menunggu pengantar" when the service needs the RT's endorsement and the RT has an
    account (or paper is not allowed), else at "diajukan", the paper pengantar then being required.
    Assigns the tracking number, computes the due time in the profile's office hours (skipping the
    holiday list), writes the first history row and an audit entry; flushes, never commits.
    """
    existing = _already_sent(idempotency_key, applicant)
    if existing is not None:
        return existing
    version = _version(service_code_or_version)
    _check_applicant(applicant, subject_resident, submitted_by)
    clean, errors = catalogue.validate_answers(version.snapshot, answers or {})
    if errors:
        raise AnswersError({name: str(message) for name, message in errors.items()})
    return _create(version, applicant, subject_resident, clean, idempotency_key=idempotency_key,
                   submitted_by=submitted_by, now=now)


def _already_sent(idempotency_key: str | None, applicant: User) -> LetterRequest | None:
    """The request a key already made (a double tap, a refresh); refused when it is someone else's."""
    existing = find_by_idempotency_key(idempotency_key) if idempotency_key else None
    if existing is not None and existing.applicant_user_id != applicant.id:
        raise RequestError(str(_("Formulir tidak valid; muat ulang halaman lalu kirim lagi.")))
    return existing


def _check_applicant(applicant: User, subject_resident: Resident, submitted_by: User | None) -> None:
    _check_subject(applicant, subject_resident)
    if submitted_by is not None and not (submitted_by.has_role(Role.ASSISTANT)
                                         and applicant.assisted_by_id == submitted_by.id):
        raise RequestError(str(_("Anda bukan pendamping warga ini.")))


def _create(version: ServiceVersion, applicant: User, subject_resident: Resident, clean: dict, *,
            idempotency_key: str | None, submitted_by: User | None, now: datetime | None) -> LetterRequest:
    """The request itself, from answers already checked (``clean``): see ``submit``."""
    snap = version.snapshot
    profile = profile_service.profile_row()
    tz = dates.tz_name_of(profile)
    moment = (now or datetime.now(UTC))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = dates.to_local(moment, tz)
    paper = needs_paper_pengantar(snap, subject_resident)
    status = lifecycle.start(awaits_pengantar=bool(snap.get("needs_rt_endorsement")) and not paper)
    # the office's clock starts when it receives the request: now, or at the last endorsement (promise.py)
    due = promise.due_from(moment, snap) if status == lifecycle.S.SUBMITTED else None
    prefix = (profile.tracking_prefix if profile and profile.tracking_prefix else DEFAULT_PREFIX)
    year = local.year
    request = LetterRequest(
        tracking_number=next_tracking_number(prefix, year),
        service_version_id=version.id, applicant_user_id=applicant.id, subject_resident_id=subject_resident.id,
        submitted_by_id=getattr(submitted_by, "id", None), answers=clean, status=status,
        needs_paper_pengantar=paper, submitted_at=moment.astimezone(UTC).replace(tzinfo=None),
        due_at=due, idempotency_key=idempotency_key or None,
    )
    db.session.add(request)
    actor = submitted_by or applicant
    request.events.append(RequestEvent(at=request.submitted_at, action="submit", actor_id=actor.id,
                                       on_behalf_of_id=applicant.id if submitted_by else None,
                                       from_status=None, to_status=status))
    try:
        db.session.flush()
    except IntegrityError:
        # a double tap that raced past the lookup above: the other one won, hand back its request
        db.session.rollback()
        existing = find_by_idempotency_key(idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing
    lifecycle.started(request, actor=actor, on_behalf_of=applicant if submitted_by else None,
                      service=snap["code"], version=version.version, status=str(status))
    return request


def withdraw(request: LetterRequest, actor: User, *, on_behalf_of: User | None = None,
             note: str | None = None, expected_version: int | None = None) -> RequestEvent:
    """Cancel a request before review starts (the lifecycle decides from which statuses)."""
    return lifecycle.transition(request, "cancel", actor=actor, note=note, on_behalf_of=on_behalf_of,
                                expected_version=expected_version)


# ------------------------------------------------------------------ the resident's side: files, fixes, lists

class FilesError(RequestError):
    """Required documents are missing; ``errors`` maps a requirement code to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(str(_("Lengkapi dokumen yang ditandai.")))
        self.errors = errors


def requirements_for(snapshot: dict, subject: Resident) -> list[dict]:
    """The documents a request for ``subject`` asks for: the service's, plus the paper pengantar RT/RW
    where the RT has no account yet (uploaded, or brought to the office)."""
    items = [dict(r) for r in snapshot.get("requirements", [])]
    if needs_paper_pengantar(snapshot, subject):
        items.append({"code": attachments.PAPER_PENGANTAR, "label": str(_("Surat pengantar RT/RW (kertas)")),
                      "required": True, "paper_original_allowed": True})
    return items


def missing_files(requirements: list[dict], present: set[str], brought: set[str]) -> dict[str, str]:
    """Required documents with no file, unless the resident brings the original where that is allowed."""
    errors: dict[str, str] = {}
    for r in requirements:
        if not r.get("required") or r["code"] in present:
            continue
        if r.get("paper_original_allowed") and r["code"] in brought:
            continue
        errors[r["code"]] = str(_("Wajib diunggah.") if not r.get("paper_original_allowed") else
                                _("Unggah berkasnya, atau centang \u201cbawa asli ke kantor\u201d."))
    return errors


@dataclass
class FormCheck:
    """A request form checked as a whole: the cleaned answers, and what is wrong (by field, by document); the
    values the register lacked (``declared``, by attribute) and the questions that asked for them."""

    clean: dict
    field_errors: dict[str, str]
    file_errors: dict[str, str]
    declared: dict = field(default_factory=dict)
    questions: list = field(default_factory=list)


def check_form(snapshot: dict, requirements: list[dict], answers, present: set[str], brought: set[str], *,
               subject: Resident | None = None, declared=None) -> FormCheck:
    """The one check of a filled-in request form, for its review page and for its submission: the answers
    against the service's fields, every required document (``requirements_for``) either uploaded
    (``present``) or, where allowed, brought to the office (``brought``), and, given the ``subject``, what the
    letter needs and the register lacks (declared_data.questions_for) answered in ``declared``."""
    clean, errors = catalogue.validate_answers(snapshot, answers or {})
    field_errors = {name: str(message) for name, message in errors.items()}
    questions = declared_data.questions_for(snapshot, subject, clean) if subject is not None else []
    values, declared_errors = declared_data.check(questions, declared or {})
    return FormCheck(clean, field_errors | declared_errors, missing_files(requirements, present, brought),
                     values, questions)


def submit_with_files(service_code_or_version, applicant: User, subject_resident: Resident, answers, *,
                      idempotency_key: str, brought_originals=(), submitted_by: User | None = None,
                      now: datetime | None = None, declared=None) -> LetterRequest:
    """``submit``, then the documents uploaded with the form (drafts under the idempotency key) become
    the request's, in the same transaction.

    A key already used returns its request (a double tap or a refresh). Refuses (AnswersError) wrong
    answers, what the letter needs and the register lacks left unanswered in ``declared``, and (FilesError)
    a required document with neither a file nor, where allowed, the promise to bring the original
    (``check_form``, once); the originals to be brought are noted on the first history row. The applicant's
    registration KTP photo stands in for the KTP when no file was uploaded for it (registered_ktp: the request
    gets a copy), and the declared values are kept on the request unchecked (declared_data.record).
    """
    existing = _already_sent(idempotency_key, applicant)
    if existing is not None:
        return existing
    version = _version(service_code_or_version)
    snap = version.snapshot
    _check_applicant(applicant, subject_resident, submitted_by)
    files = attachments.drafts(idempotency_key, applicant)
    present = {f.requirement_code for f in files}
    requirements = requirements_for(snap, subject_resident)
    reused = registered_ktp.stands_in(requirements, applicant, present)
    present |= reused
    brought = {r["code"] for r in requirements
               if r.get("paper_original_allowed") and r["code"] in set(brought_originals) and r["code"] not in present}
    checked = check_form(snap, requirements, answers, present, brought, subject=subject_resident, declared=declared)
    if checked.field_errors:
        raise AnswersError(checked.field_errors)
    if checked.file_errors:
        raise FilesError(checked.file_errors)
    request = _create(version, applicant, subject_resident, checked.clean, idempotency_key=idempotency_key,
                      submitted_by=submitted_by, now=now)
    for f in files:
        attachments.attach_to(f, request)
    notes = []
    if brought:
        labels = [r["label"] for r in requirements if r["code"] in brought]
        notes.append(str(_("Dokumen asli dibawa ke kantor: %(docs)s.", docs=", ".join(labels))))
    if reused and registered_ktp.attach_copy(request, applicant, submitted_by or applicant) is not None:
        notes.append(registered_ktp.note())
    if checked.declared:
        declared_data.record(request, checked.declared, submitted_by or applicant)
        names = ", ".join(q.label for q in checked.questions if q.field in checked.declared)
        notes.append(str(_("Data dari pemohon, belum dicek: %(names)s.", names=names)))
    if notes:
        request.events[0].note = " ".join(notes)
    db.session.flush()
    return request


def fixable(request: LetterRequest) -> tuple[list[str], list[str]]:
    """(field names, requirement codes) the applicant may change before resubmitting: after a fix
    request, only what staff named; after the RT returned it, every answer and document; else nothing."""
    if lifecycle.target(request, "resubmit") is None:
        return [], []
    snap = request.service_snapshot
    if request.fix_request:
        return list(request.fix_request.get("fields") or []), list(request.fix_request.get("files") or [])
    codes = [r["code"] for r in requirements_for(snap, request.subject)]
    if request.needs_paper_pengantar and attachments.PAPER_PENGANTAR not in codes:
        codes.append(attachments.PAPER_PENGANTAR)
    return [f["name"] for f in snap.get("fields", [])], codes


@dataclass
class FixForm:
    """What the fix screen offers: the answers the applicant may change and the documents they may (after a
    return by the RT) or must (after a fix request) replace."""

    fields: list[dict]
    documents: list[dict]


def fix_form(request: LetterRequest, fields: list[str], codes: list[str]) -> FixForm:
    """The fix screen for what ``fixable`` allows (``fields``, ``codes``)."""
    snap = request.service_snapshot
    editable = [f for f in snap["fields"] if f["name"] in fields]
    documents = [r for r in requirements_for(snap, request.subject) if r["code"] in codes]
    documents += [{"code": c, "label": c, "required": True} for c in codes
                  if c not in {d["code"] for d in documents}]
    if not request.fix_request:  # returned by the RT: a new file is welcome, not required
        documents = [{**d, "required": False} for d in documents]
    return FixForm(editable, documents)


def resubmit(request: LetterRequest, actor: User, *, answers=None, draft_key: str | None = None,
             on_behalf_of: User | None = None, expected_version: int | None = None) -> RequestEvent:
    """Apply the applicant's changes, then move the request on by the lifecycle's "resubmit".

    Only the fields and documents ``fixable`` names may change (anything else sent is ignored);
    the changed answers are checked against the request's own service version (AnswersError); after
    a fix request every document staff named needs a new file (FilesError). A new file supersedes
    the old one, which is kept for staff to compare. The history row's note says what changed.
    """
    if expected_version is not None and expected_version != request.version:
        raise lifecycle.ConcurrentUpdateError()
    fields, codes = fixable(request)
    if not lifecycle.may_act(request, actor, "resubmit", on_behalf_of=on_behalf_of) or (not fields and not codes):
        # the lifecycle gives the precise refusal (wrong status, or not the applicant)
        return lifecycle.transition(request, "resubmit", actor=actor, on_behalf_of=on_behalf_of)
    snap = request.service_snapshot
    merged = dict(request.answers or {})
    for name in fields:
        if answers is not None and name in answers:
            merged[name] = answers[name]
    clean, errors = catalogue.validate_answers(snap, merged)
    files = [f for f in attachments.drafts(draft_key, request.applicant) if f.requirement_code in codes]
    new_codes = {f.requirement_code for f in files}
    file_errors = {}
    if request.fix_request:
        file_errors = {code: str(_("Unggah berkas pengganti."))
                       for code in codes if code not in new_codes}
    if errors:
        raise AnswersError({name: str(message) for name, message in errors.items()})
    if file_errors:
        raise FilesError(file_errors)

    labels = {f["name"]: f["label"] for f in snap.get("fields", [])}
    doc_labels = {r["code"]: r["label"] for r in requirements_for(snap, request.subject)}
    doc_labels.setdefault(attachments.PAPER_PENGANTAR, str(_("Surat pengantar RT/RW (kertas)")))
    changed = [name for name in fields if clean.get(name) != (request.answers or {}).get(name)]
    for old in attachments.current(request):
        if old.requirement_code in new_codes:
            attachments.supersede(old)
    for f in files:
        attachments.attach_to(f, request)
    if changed:
        request.answers = {**(request.answers or {}), **{name: clean.get(name) for name in changed}}
    parts = []
    if changed:
        parts.append(str(_("Isian diubah: %(names)s.", names=", ".join(labels.get(n, n) for n in changed))))
    if new_codes:
        parts.append(str(_("Berkas diganti: %(names)s.",
                           names=", ".join(doc_labels.get(c, c) for c in codes if c in new_codes))))
    note = " ".join(parts) or str(_("Diajukan ulang tanpa perubahan."))
    return lifecycle.transition(request, "resubmit", actor=actor, note=note, on_behalf_of=on_behalf_of)


def family_requests(resident_user: User) -> list[LetterRequest]:
    """The requests a resident may follow, newest first: their own, and once verified those about or made
    by someone on their KK (services.access.family_request_ids)."""
    stmt = (select(LetterRequest)
            .where(LetterRequest.id.in_(access.family_request_ids(resident_user)))
            .options(selectinload(LetterRequest.service_version), selectinload(LetterRequest.subject))
            .order_by(LetterRequest.submitted_at.desc(), LetterRequest.id.desc()))
    return list(db.session.scalars(stmt))


def find_by_tracking_number(tracking_number: str) -> LetterRequest | None:
    """The request with this tracking number, however it was typed (case, full-width digits)."""
    tracking_number = digit_rules.code(tracking_number)
    if not tracking_number or len(tracking_number) > 24:
        return None
    return db.session.scalar(select(LetterRequest).where(LetterRequest.tracking_number == tracking_number))
