"""The online surat pengantar: the RT head's (and, where the profile says so, the RW head's) endorsement.

A request that needs it waits in "menunggu_pengantar". The head of the subject's RT endorses it; where
the RW endorses too (``KelurahanProfile.rw_endorses``) that is the lifecycle action "endorse_rt", the
request stays waiting and goes to the head of the subject's RW, whose "endorse" sends it to the office;
otherwise the RT head's "endorse" does. Whoever holds the step may instead return it to the resident
with a reason. Each endorsement is stored with its own number, printed on the letter in place of the
paper pengantar: ``007/RT.003/RW.002/XI/2026`` (RT) and ``004/RW.002/XI/2026`` (RW), counted per level,
RT/RW and year, with the month in Roman numerals (month and year in the profile's time zone).

A return restarts the endorsements: after the resident resubmits, both heads endorse again. The earlier
rows are kept (their numbers were handed out and must never be reused) but no longer count; see
``lifecycle.current_endorsements``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, load_only, selectinload

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import Endorsement, LetterRequest, RequestEvent, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.services import lifecycle
from sempelmas.services import profile as profile_service
from sempelmas.services.lifecycle import RequestError

RT_LEVEL = "rt"
RW_LEVEL = "rw"
#: the lifecycle actions of an RT/RW head
HEAD_ACTIONS = ("endorse_rt", "endorse", "return_to_resident")
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
#: tries at a free number before giving up (each retry reads the sequence again)
NUMBER_ATTEMPTS = 5
RECENT_LIMIT = 10


def format_number(level: str, seq: int, *, rt: str | None, rw: str, month: int, year: int) -> str:
    """007/RT.003/RW.002/XI/2026 for the RT, 004/RW.002/XI/2026 for the RW."""
    area = f"RT.{rt}/RW.{rw}" if level == RT_LEVEL else f"RW.{rw}"
    return f"{seq:03d}/{area}/{ROMAN_MONTHS[month - 1]}/{year}"


def _last_seq(level: str, rt: str, rw: str, year: int) -> int:
    return db.session.scalar(select(func.coalesce(func.max(Endorsement.seq), 0)).where(
        Endorsement.level == level, Endorsement.rt == rt, Endorsement.rw == rw, Endorsement.year == year))


def _issue(request: LetterRequest, level: str, actor: User, note: str | None, at: datetime) -> Endorsement:
    """Store the endorsement with the next number of its level, RT/RW and year.

    max + 1 alone would hand one number to two heads endorsing at the same moment: the unique
    constraint (level, rt, rw, year, seq) refuses the second insert, which is undone inside its own
    SAVEPOINT (the request's move stays) and tried again with the sequence read afresh. The RW level
    stores rt "" rather than NULL, because a unique constraint treats NULLs as all different.
    """
    subject = request.subject
    rt = subject.rt if level == RT_LEVEL else ""
    rw = subject.rw or ""
    profile = profile_service.profile_row()
    local = at.replace(tzinfo=UTC).astimezone(ZoneInfo(profile.tz_name if profile else "Asia/Jakarta"))
    for _attempt in range(NUMBER_ATTEMPTS):
        seq = _last_seq(level, rt, rw, local.year) + 1
        endorsement = Endorsement(
            request_id=request.id, level=level, rt=rt, rw=rw, year=local.year, seq=seq,
            number=format_number(level, seq, rt=rt, rw=rw, month=local.month, year=local.year),
            endorser_id=actor.id, at=at, note=note)
        try:
            # inside the request's transaction, on SQLite too (sempelmas/__init__.py opens it first)
            with db.session.begin_nested():
                db.session.add(endorsement)
                db.session.flush()
        except IntegrityError:
            continue  # another head took this number first
        db.session.expire(request, ["endorsements"])
        return endorsement
    raise RequestError(str(_("Nomor pengantar belum dapat dibuat karena banyak pengantar diberikan bersamaan. "
                             "Coba lagi.")))


def endorse(request: LetterRequest, actor: User, note: str | None = None,
            expected_version: int | None = None) -> Endorsement:
    """Endorse ``request`` as the head whose step it is; returns the numbered Endorsement.

    At the RT step the RT head's endorsement is "endorse_rt" (the request waits on for the RW head)
    when the profile says the RW endorses too, else "endorse" (on to the office); at the RW step the
    RW head's is "endorse". The lifecycle refuses anyone else (NotPermittedError), a request not
    waiting for its pengantar (TransitionError) and a stale ``expected_version``
    (ConcurrentUpdateError). Audited as "request.endorse_rt" / "request.endorse" with the number;
    flushes, never commits.
    """
    if lifecycle.endorsement_step(request) == RW_LEVEL:
        action, level = "endorse", RW_LEVEL
    else:
        action, level = ("endorse_rt" if lifecycle.rw_endorses() else "endorse"), RT_LEVEL
    issued: list[Endorsement] = []

    def number(event: RequestEvent) -> dict:
        issued.append(_issue(request, level, actor, event.note, event.at))
        return {"endorsement_number": issued[0].number, "endorsement_level": level}

    lifecycle.transition(request, action, actor=actor, note=note, expected_version=expected_version,
                         on_moved=number)
    return issued[0]


def return_to_resident(request: LetterRequest, actor: User, reason: str | None,
                       expected_version: int | None = None) -> RequestEvent:
    """Send ``request`` back to the resident ("dikembalikan"); the reason is required and shown to them.

    Only the head whose step it is may (the lifecycle's rule). Flushes, never commits.
    """
    return lifecycle.transition(request, "return_to_resident", actor=actor, note=reason,
                                expected_version=expected_version)


def waiting_since(request: LetterRequest) -> datetime:
    """When the request reached the step it waits at: the RT head's endorsement for the RW step,
    else its last resubmission, else its submission (UTC, naive)."""
    current = lifecycle.current_endorsements(request)
    rt_done = [e.at for e in current if e.level == RT_LEVEL]
    if rt_done:
        return max(rt_done)
    # while it waits for a pengantar, every resubmission was one after a return by the RT/RW
    resubmits = [e.at for e in request.events if e.action == "resubmit"]
    return max(resubmits) if resubmits else request.submitted_at


def awaits(request: LetterRequest, user: User) -> bool:
    """Whether ``request`` waits for ``user``'s own endorsement now (not a paper-pengantar request)."""
    if request.needs_paper_pengantar:
        return False
    step = lifecycle.endorsement_step(request)
    if step == RT_LEVEL:
        return lifecycle.heads_rt_of(user, request)
    if step == RW_LEVEL:
        return lifecycle.heads_rw_of(user, request)
    return False


@dataclass
class Handled:
    """One of the head's recent decisions: the event, and the endorsement it produced (if any)."""

    event: RequestEvent
    endorsement: Endorsement | None


@dataclass
class Queue:
    #: requests waiting for this head's step, the longest-waiting first
    waiting: list[LetterRequest] = field(default_factory=list)
    #: this head's latest endorsements and returns, newest first
    handled: list[Handled] = field(default_factory=list)


def _rt_endorsed():
    """SQL: the request has an RT endorsement that still counts (``lifecycle.current_endorsements``: given after
    the request was last returned to the resident), i.e. its endorsement step is the RW's."""
    last_return = (select(func.max(RequestEvent.at))
                   .where(RequestEvent.request_id == LetterRequest.id, RequestEvent.action == "return_to_resident")
                   .correlate(LetterRequest).scalar_subquery())
    return (select(Endorsement.id)
            .where(Endorsement.request_id == LetterRequest.id, Endorsement.level == RT_LEVEL,
                   or_(last_return.is_(None), Endorsement.at > last_return))
            .correlate(LetterRequest).exists())


def _awaiting_condition(user: User):
    """``awaits`` in SQL for the requests waiting for a pengantar: in an RT the user heads and not yet endorsed by
    the RT, or in an RW the user heads and endorsed by the RT (None: the user heads no area)."""
    conditions = []
    for grant in user.roles:
        if grant.role == Role.RT_HEAD:
            area = select(Resident.id).where(Resident.rt == grant.rt, Resident.rw == grant.rw)
            conditions.append(and_(LetterRequest.subject_resident_id.in_(area), ~_rt_endorsed()))
        elif grant.role == Role.RW_HEAD:
            area = select(Resident.id).where(Resident.rw == grant.rw)
            conditions.append(and_(LetterRequest.subject_resident_id.in_(area), _rt_endorsed()))
    return or_(*conditions) if conditions else None


def _waiting_for(user: User):
    """SQL: the request waits for ``user``'s endorsement (None: the user heads no area)."""
    condition = _awaiting_condition(user)
    if condition is None:
        return None
    return and_(LetterRequest.status == RequestStatus.AWAITING_ENDORSEMENT,
                LetterRequest.needs_paper_pengantar.is_(False), condition)


def waiting_count(user: User) -> int:
    """How many requests wait for ``user``'s endorsement (``queue_for(user).waiting``, counted in SQL)."""
    waiting = _waiting_for(user)
    if waiting is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(LetterRequest).where(waiting)) or 0


def queue_for(user: User, *, recent: int = RECENT_LIMIT) -> Queue:
    """The RT/RW head's queue: requests in their area waiting for their step (RT heads: not yet
    endorsed by the RT; RW heads: endorsed by the RT, not yet by the RW), longest-waiting first, and
    what they handled lately. Requests needing a paper pengantar (the RT has no account) never appear.

    Which requests wait for this head is decided in SQL (``_awaiting_condition``: the area's residents, then
    their requests on the status index, with the endorsement step), so only those rows are loaded, whatever
    the number of requests waiting elsewhere in the kelurahan; ``awaits`` checks each of them again."""
    waiting = _waiting_for(user)
    if waiting is None:
        return Queue()
    candidates = db.session.scalars(
        select(LetterRequest).where(waiting)
        # what the queue shows and decides with, not the answers or the whole register entry
        .options(load_only(LetterRequest.tracking_number, LetterRequest.status, LetterRequest.submitted_at,
                           LetterRequest.service_version_id, LetterRequest.subject_resident_id,
                           LetterRequest.needs_paper_pengantar),
                 selectinload(LetterRequest.subject).load_only(Resident.full_name, Resident.rt, Resident.rw),
                 selectinload(LetterRequest.service_version),
                 selectinload(LetterRequest.endorsements), selectinload(LetterRequest.events))
    ).all()
    waiting = sorted((r for r in candidates if awaits(r, user)), key=lambda r: (waiting_since(r), r.id))

    events = db.session.scalars(
        select(RequestEvent).where(RequestEvent.actor_id == user.id, RequestEvent.action.in_(HEAD_ACTIONS))
        .order_by(RequestEvent.id.desc()).limit(recent)
        .options(joinedload(RequestEvent.request).joinedload(LetterRequest.subject),
                 joinedload(RequestEvent.request).joinedload(LetterRequest.service_version))
    ).unique().all()
    given = {}
    if events:
        rows = db.session.scalars(select(Endorsement).where(
            Endorsement.endorser_id == user.id, Endorsement.request_id.in_({e.request_id for e in events})))
        given = {(e.request_id, e.at): e for e in rows}
    handled = [Handled(e, given.get((e.request_id, e.at))) for e in events]
    return Queue(waiting=waiting, handled=handled)
