"""The promised completion time ("perkiraan selesai") and how it is said to the resident and to staff.

The service time is the office's: it starts when the office receives the request, which for a service with an
RT/RW pengantar is the moment the last head endorses it (``lifecycle`` calls ``start_clock`` on that move), not the
submission. While the request waits for the RT (or the RW, or for the resident after a return) ``due_at`` is None:
no date is promised that the office does not control, and the request is neither late nor counted as late.
A request that goes to the office at once (no pengantar, or a paper one) gets its due time at submission.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sempelmas.domain import dates, workdays
from sempelmas.domain.i18n import lazy as _
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.kelurahan import profile as profile_service


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


def due_from(moment: datetime, snapshot: dict) -> datetime:
    """The due time (stored form: UTC, naive) of the service in ``snapshot`` received by the office at ``moment``,
    in the profile's office hours and skipping its holidays."""
    profile = profile_service.profile_row()
    tz = dates.tz_name_of(profile)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = dates.to_local(moment, tz)
    due = workdays.due_at(moment, snapshot["service_time_value"], snapshot["service_time_unit"], tz,
                          office_hours_of(profile), holidays_from(local.date(), snapshot["service_time_value"]))
    return due.astimezone(UTC).replace(tzinfo=None)


def start_clock(request: LetterRequest, moment: datetime) -> None:
    """The office receives ``request`` now (its last endorsement): its service time starts counting."""
    request.due_at = due_from(moment, request.service_snapshot)


def service_time(snapshot: dict) -> str:
    """"10 menit", "1 hari kerja": the office's service time."""
    return workdays.human_duration(snapshot["service_time_value"], snapshot["service_time_unit"])


def service_time_phrase(snapshot: dict) -> str:
    """How long a service takes, said as the form and the service pages promise it: the office's time, and
    before it the RT/RW pengantar when the service needs one."""
    if snapshot.get("needs_rt_endorsement"):
        return str(_("%(time)s di kantor kelurahan, dihitung setelah pengantar RT/RW diberikan",
                     time=service_time(snapshot)))
    return str(_("%(time)s di kantor kelurahan", time=service_time(snapshot)))


def waiting_text(request: LetterRequest, step: str | None) -> str | None:
    """What to say instead of a date while the office's clock has not started (``due_at`` is None): whose step
    comes first, then the office's time. ``step`` is the endorsement step (``lifecycle.endorsement_step``).
    None once the request has a due time or is closed."""
    if request.due_at is not None or request.closed_at is not None:
        return None
    time = service_time(request.service_snapshot)
    status = RequestStatus(request.status)
    if status == RequestStatus.RETURNED:
        return str(_("setelah Anda memperbaiki dan mengajukan ulang, lalu pengantar RT/RW, ±%(time)s di kantor "
                     "kelurahan", time=time))
    if status == RequestStatus.AWAITING_ENDORSEMENT:
        who = _("pengantar RW") if step == "rw" else _("pengantar RT")
        return str(_("menunggu %(who)s, lalu ±%(time)s di kantor kelurahan", who=who, time=time))
    return None


def staff_due_text(request: LetterRequest) -> str | None:
    """The staff's "Tenggat" while the clock has not started: why there is no deadline yet."""
    if request.due_at is not None or request.closed_at is not None:
        return None
    return str(_("belum berjalan: menunggu pengantar RT/RW (waktu layanan %(time)s dihitung sejak pengantar "
                 "diberikan)", time=service_time(request.service_snapshot)))
