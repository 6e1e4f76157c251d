"""The online surat pengantar: the RT head's (and, where the profile says so, the RW head's) endorsement.

A request that needs it waits in "menunggu_pengantar". The head of the subject's RT endorses it; where
the RW endorses too (``KelurahanProfile.rw_endorses``) that is the lifecycle action "endorse_rt", the
request stays waiting and goes to the head of the subject's RW, whose "endorse" sends it to the office;
otherwise the RT head's "endorse" does. Whoever holds the step may instead return it to the resident
with a reason. Each endorsement is stored with its own number, printed on the letter in place of the
paper pengantar: ``007/RT.003/RW.002/XI/2026`` (RT) and ``004/RW.002/XI/2026`` (RW), counted per level,
RT/RW and year (services.sequences), with the month in Roman numerals (month and year in the profile's
time zone).

A return restarts the endorsements: after the resident resubmits, both heads endorse again. The earlier
rows are kept (their numbers were handed out and must never be reused) but no longer count; see
``lifecycle.current_endorsements``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from sempelmas.domain import dates
from sempelmas.domain.letter_format import roman_month
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.models.letters import LetterCounter
from sempelmas.models.requests import Endorsement, LetterRequest, RequestEvent
from sempelmas.models.residents import Resident
from sempelmas.services import access, sequences
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import lifecycle

RT_LEVEL = "rt"
RW_LEVEL = "rw"
#: the lifecycle actions of an RT/RW head, and those of them that give a numbered endorsement
HEAD_ACTIONS = ("endorse_rt", "endorse", "return_to_resident")
ENDORSE_ACTIONS = ("endorse_rt", "endorse")
RECENT_LIMIT = 10


def format_number(level: str, seq: int, *, rt: str | None, rw: str, month: int, year: int) -> str:
    """007/RT.003/RW.002/XI/2026 for the RT, 004/RW.002/XI/2026 for the RW."""
    area = f"RT.{rt}/RW.{rw}" if level == RT_LEVEL else f"RW.{rw}"
    return f"{seq:03d}/{area}/{roman_month(month)}/{year}"


def counter_key(level: str, rt: str, rw: str) -> str:
    """The sequence an endorsement counts in: "pengantar:rt:003/002", "pengantar:rw:/002"."""
    return f"pengantar:{level}:{rt}/{rw}"


def _next_seq(level: str, rt: str, rw: str, year: int) -> int:
    """The next number of the level, RT/RW and year (services.sequences; the request's move already
    holds the write lock). A counter created where endorsements were numbered before it existed
    starts after the highest of them."""
    used = (select(func.coalesce(func.max(Endorsement.seq), 0))
            .where(Endorsement.level == level, Endorsement.rt == rt, Endorsement.rw == rw, Endorsement.year == year)
            .scalar_subquery())
    return sequences.take(LetterCounter.scope, counter_key(level, rt, rw), year, already_used=used)


def _issue(request: LetterRequest, level: str, actor: User, note: str | None, at: datetime) -> Endorsement:
    """Store the endorsement with the next number of its level, RT/RW and year.

    The unique constraint (level, rt, rw, year, seq) stays as a guard. The RW level stores rt "" rather
    than NULL, because a unique constraint treats NULLs as all different.
    """
    subject = request.subject
    rt = subject.rt if level == RT_LEVEL else ""
    rw = subject.rw or ""
    profile = profile_service.profile_row()
    local = dates.to_local(at, dates.tz_name_of(profile))
    seq = _next_seq(level, rt, rw, local.year)
    endorsement = Endorsement(
        request_id=request.id, level=level, rt=rt, rw=rw, year=local.year, seq=seq,
        number=format_number(level, seq, rt=rt, rw=rw, month=local.month, year=local.year),
        endorser_id=actor.id, at=at, note=note)
    db.session.add(endorsement)
    db.session.flush()
    db.session.expire(request, ["endorsements"])
    return endorsement


def endorse(request: LetterRequest, actor: User, note: str | None = None,
            expected_version: int | None = None) -> Endorsement:
    """Endorse ``request`` as the head whose step it is; returns the numbered Endorsement.

    At the RT step the RT head's endorsement is "endorse_rt" (the request waits on for the RW head)
    when the profile says the RW endorses too, else "endorse" (on to the office); at the RW step the
    RW head's is "endorse". The lifecycle refuses anyone else (NotPermittedError), a request not
    waiting for its pengantar (TransitionError) and a stale ``expected_version``
    (ConcurrentUpdateError). The move numbers the endorsement (``number_endorsement``); audited as
    "request.endorse_rt" / "request.endorse" with the number; flushes, never commits.
    """
    if lifecycle.endorsement_step(request) == RW_LEVEL:
        action = "endorse"
    else:
        action = "endorse_rt" if lifecycle.rw_endorses() else "endorse"
    lifecycle.transition(request, action, actor=actor, note=note, expected_version=expected_version)
    return max(request.endorsements, key=lambda e: e.id)  # the one this move was given


def number_endorsement(request: LetterRequest, *, event: RequestEvent, actor: User, details: dict, **_) -> None:
    """Receiver of ``lifecycle.request_moved``: a head's endorsement move ("endorse_rt", "endorse") is stored
    with its number, at the event's time and with its note; the number and level join the move's audit
    ``details``. The level is the step the request was at (``lifecycle.endorsement_step`` before the move): the
    RW's once the RT head's endorsement counts, else the RT's."""
    if event.action not in ENDORSE_ACTIONS:
        return
    rt_done = any(e.level == RT_LEVEL for e in lifecycle.current_endorsements(request))
    level = RW_LEVEL if rt_done else RT_LEVEL
    endorsement = _issue(request, level, actor, event.note, event.at)
    details.update(endorsement_number=endorsement.number, endorsement_level=level)


def return_to_resident(request: LetterRequest, actor: User, reason: str | None,
                       expected_version: int | None = None) -> RequestEvent:
    """Send ``request`` back to the resident ("dikembalikan"); the reason is required and shown to them.

    Only the head whose step it is may (the lifecycle's rule). Flushes, never commits.
    """
    return lifecycle.transition(request, "return_to_resident", actor=actor, note=reason,
                                expected_version=expected_version)


def waiting_since(request: LetterRequest) -> datetime:
    """When the request reached the step it waits at: the RT head's endorsement for the RW step,
    else its last resubmission, else its submission (UTC, naive). ``_waiting_columns`` is the same rule in SQL
    (the queue's list)."""
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
        return access.heads_rt(user, request.subject.rt, request.subject.rw)
    if step == RW_LEVEL:
        return access.heads_rw(user, request.subject.rw)
    return False


@dataclass
class Handled:
    """One of the head's recent decisions: the event, and the endorsement it produced (if any)."""

    event: RequestEvent
    endorsement: Endorsement | None


@dataclass
class Waiting:
    """A request in the head's queue, as the list shows it."""

    request_id: int
    tracking_number: str
    service: str
    subject_name: str
    rt: str | None
    rw: str | None
    submitted_at: datetime
    #: when it reached the step it waits at (``waiting_since``)
    since: datetime
    #: the RT endorsement that counts, when the request waits for the RW head
    rt_number: str | None


@dataclass
class Queue:
    #: requests waiting for this head's step, the longest-waiting first
    waiting: list[Waiting] = field(default_factory=list)
    #: this head's latest endorsements and returns, newest first
    handled: list[Handled] = field(default_factory=list)


def _rt_endorsed():
    """SQL: the request has an RT endorsement that still counts (``lifecycle.current_endorsements``: given after
    the request was last returned to the resident), i.e. its endorsement step is the RW's."""
    last_return = _last("return_to_resident")
    return (select(Endorsement.id)
            .where(Endorsement.request_id == LetterRequest.id, Endorsement.level == RT_LEVEL,
                   or_(last_return.is_(None), Endorsement.at > last_return))
            .correlate(LetterRequest).exists())


def _awaiting_condition(user: User):
    """``awaits`` in SQL for the requests waiting for a pengantar: in an RT the user heads and not yet endorsed by
    the RT, or in an RW the user heads and endorsed by the RT (None: the user heads no area). The areas are
    ``access.area_clause``'s, over the register, so the requests are found through their subjects' ids."""
    if not access.heads_any_area(user):
        return None
    rt_area = select(Resident.id).where(access.area_clause(user, Resident.rt, Resident.rw, rw_heads=False))
    rw_area = select(Resident.id).where(access.area_clause(user, Resident.rt, Resident.rw, rt_heads=False))
    return or_(and_(LetterRequest.subject_resident_id.in_(rt_area), ~_rt_endorsed()),
               and_(LetterRequest.subject_resident_id.in_(rw_area), _rt_endorsed()))


def _waiting_for(user: User):
    """SQL: the request waits for ``user``'s endorsement (None: the user heads no area)."""
    condition = _awaiting_condition(user)
    if condition is None:
        return None
    return and_(LetterRequest.status.in_(lifecycle.statuses_waiting_for(lifecycle.RT)),
                LetterRequest.needs_paper_pengantar.is_(False), condition)


def waiting_count(user: User) -> int:
    """How many requests wait for ``user``'s endorsement (``queue_for(user).waiting``, counted in SQL)."""
    waiting = _waiting_for(user)
    if waiting is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(LetterRequest).where(waiting)) or 0


def _waiting_columns():
    """SQL, per request: when it reached the step it waits at (``waiting_since``) and the number of the RT
    endorsement that still counts (waiting for the RW head), from the request's events and endorsements."""
    last_return = _last("return_to_resident")
    counts = and_(Endorsement.request_id == LetterRequest.id, Endorsement.level == RT_LEVEL,
                  or_(last_return.is_(None), Endorsement.at > last_return))
    rt_at = select(func.max(Endorsement.at)).where(counts).correlate(LetterRequest).scalar_subquery()
    rt_number = (select(Endorsement.number).where(counts).order_by(Endorsement.at.desc(), Endorsement.id.desc())
                 .limit(1).correlate(LetterRequest).scalar_subquery())
    return func.coalesce(rt_at, _last("resubmit"), LetterRequest.submitted_at), rt_number


def _last(action: str):
    """SQL: when the request's latest event of ``action`` happened (NULL: never)."""
    return (select(func.max(RequestEvent.at))
            .where(RequestEvent.request_id == LetterRequest.id, RequestEvent.action == action)
            .correlate(LetterRequest).scalar_subquery())


def queue_for(user: User, *, recent: int = RECENT_LIMIT) -> Queue:
    """The RT/RW head's queue: requests in their area waiting for their step (RT heads: not yet
    endorsed by the RT; RW heads: endorsed by the RT, not yet by the RW), longest-waiting first, and
    what they handled lately. Requests needing a paper pengantar (the RT has no account) never appear.

    Which requests wait for this head, since when, and the RT's number are decided in SQL (``_waiting_for``:
    the area's residents, then their requests on the status index, with the endorsement step), one row per
    request shown, whatever the number of requests waiting elsewhere in the kelurahan."""
    waiting = _waiting_for(user)
    if waiting is None:
        return Queue()
    since, rt_number = _waiting_columns()
    rows = db.session.execute(
        select(LetterRequest.id, LetterRequest.tracking_number, ServiceVersion.snapshot["name"].as_string(),
               Resident.full_name, Resident.rt, Resident.rw, LetterRequest.submitted_at, since, rt_number)
        .join(ServiceVersion, ServiceVersion.id == LetterRequest.service_version_id)
        .join(Resident, Resident.id == LetterRequest.subject_resident_id)
        .where(waiting)).all()
    waiting = sorted((Waiting(*row) for row in rows), key=lambda w: (w.since, w.request_id))

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
