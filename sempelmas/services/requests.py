"""Submitting and withdrawing letter requests; every later status change goes through services.lifecycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from sempelmas.domain import workdays
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, RoleGrant, User
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.requests import LetterRequest, RequestEvent, RequestStatus, TrackingCounter
from sempelmas.models.residents import Resident
from sempelmas.services import audit, catalogue, lifecycle, notify
from sempelmas.services import profile as profile_service
from sempelmas.services.lifecycle import RequestError

DEFAULT_PREFIX = "SPM"


class AnswersError(RequestError):
    """The answers do not fit the service's form; ``errors`` maps a field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(str(_("Periksa kembali isian yang ditandai.")))
        self.errors = errors


def office_hours_of(profile: KelurahanProfile | None) -> workdays.OfficeHours:
    """The profile's office hours, or the default ones when unset or not parseable."""
    if profile is None or not profile.office_hours:
        return workdays.DEFAULT_OFFICE_HOURS
    try:
        return workdays.parse_office_hours(profile.office_hours)
    except workdays.OfficeHoursError:
        return workdays.DEFAULT_OFFICE_HOURS


def holidays_from(start: date, service_time_value: int) -> set[date]:
    """The holidays a due time starting on ``start`` can meet: a year, plus room for long service times
    (with ordinary office hours even 999 working days or hours end within 3 calendar days per unit)."""
    return profile_service.holidays_between(start, start + timedelta(days=366 + 3 * service_time_value))


def next_tracking_number(prefix: str, year: int) -> str:
    """"JGL-2026-000123": the next number of the per-year sequence, never handed out twice.

    The UPDATE … SET last = last + 1 takes the row's write lock (PostgreSQL) or the database's
    (SQLite) until the transaction ends, so a concurrent submitter waits and then reads its own
    increment; the first number of a year creates the row with an insert that ignores a conflict.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(TrackingCounter).values(prefix=prefix, year=year, last=0)
                       .on_conflict_do_nothing(index_elements=["prefix", "year"]))
    where = (TrackingCounter.prefix == prefix) & (TrackingCounter.year == year)
    db.session.execute(update(TrackingCounter).where(where).values(last=TrackingCounter.last + 1)
                       .execution_options(synchronize_session=False))
    last = db.session.scalar(select(TrackingCounter.last).where(where))
    return f"{prefix}-{year}-{last:06d}"


def _version(service_code_or_version) -> ServiceVersion:
    if isinstance(service_code_or_version, ServiceVersion):
        return service_code_or_version
    service = catalogue.get_service(service_code_or_version)
    version = catalogue.current_version(service) if service is not None else None
    if version is None:
        raise RequestError(str(_("Layanan ini tidak tersedia.")))
    return version


def _check_subject(applicant: User, subject: Resident) -> None:
    own = applicant.resident
    if own is None or not applicant.is_resident:
        raise RequestError(str(_("Hanya akun warga yang dapat mengajukan permohonan.")))
    if not applicant.is_verified:
        raise RequestError(str(_("Akun Anda belum terverifikasi; permohonan dapat diajukan setelah diverifikasi.")))
    if subject.id != own.id and subject.kk_number != own.kk_number:
        raise RequestError(str(_(
            "Permohonan hanya dapat diajukan untuk diri sendiri atau anggota keluarga dalam KK yang sama.")))


def _has_rt_account(subject: Resident) -> bool:
    return db.session.scalar(select(RoleGrant.id).where(
        RoleGrant.role == Role.RT_HEAD, RoleGrant.rt == subject.rt, RoleGrant.rw == subject.rw).limit(1)) is not None


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
    if idempotency_key:
        existing = find_by_idempotency_key(idempotency_key)
        if existing is not None:
            if existing.applicant_user_id != applicant.id:
                raise RequestError(str(_("Formulir tidak valid; muat ulang halaman lalu kirim lagi.")))
            return existing
    version = _version(service_code_or_version)
    snap = version.snapshot
    _check_subject(applicant, subject_resident)
    if submitted_by is not None and not (submitted_by.has_role(Role.ASSISTANT)
                                         and applicant.assisted_by_id == submitted_by.id):
        raise RequestError(str(_("Anda bukan pendamping warga ini.")))
    clean, errors = catalogue.validate_answers(snap, answers or {})
    if errors:
        raise AnswersError({name: str(message) for name, message in errors.items()})

    profile = profile_service.profile_row()
    tz = profile.tz_name if profile else "Asia/Jakarta"
    moment = (now or datetime.now(UTC))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(tz))
    due = workdays.due_at(moment, snap["service_time_value"], snap["service_time_unit"], tz,
                          office_hours_of(profile), holidays_from(local.date(), snap["service_time_value"]))
    paper = False
    status = RequestStatus.SUBMITTED
    if snap.get("needs_rt_endorsement"):
        if _has_rt_account(subject_resident) or not snap.get("paper_pengantar_when_no_rt_account"):
            status = RequestStatus.AWAITING_ENDORSEMENT
        else:
            paper = True
    prefix = (profile.tracking_prefix if profile and profile.tracking_prefix else DEFAULT_PREFIX)
    year = local.year
    request = LetterRequest(
        tracking_number=next_tracking_number(prefix, year),
        service_version_id=version.id, applicant_user_id=applicant.id, subject_resident_id=subject_resident.id,
        submitted_by_id=getattr(submitted_by, "id", None), answers=clean, status=status,
        needs_paper_pengantar=paper, submitted_at=moment.astimezone(UTC).replace(tzinfo=None),
        due_at=due.astimezone(UTC).replace(tzinfo=None), idempotency_key=idempotency_key or None,
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
    audit.record("request.submit", request, actor=actor, on_behalf_of=applicant if submitted_by else None,
                 tracking_number=request.tracking_number, service=snap["code"], version=version.version,
                 status=str(status))
    db.session.flush()
    notify.request_changed(request, request.events[0])
    return request


def withdraw(request: LetterRequest, actor: User, *, on_behalf_of: User | None = None,
             note: str | None = None, expected_version: int | None = None) -> RequestEvent:
    """Cancel a request before review starts (the lifecycle decides from which statuses)."""
    return lifecycle.transition(request, "cancel", actor=actor, note=note, on_behalf_of=on_behalf_of,
                                expected_version=expected_version)
