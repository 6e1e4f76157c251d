"""The request lifecycle: where a request starts, the one table of allowed transitions, who may take each,
the move itself, and the signal that tells the rest of the system a request moved.

A new request starts in ``start()``'s status (the submission announces it with ``started``); every later
status change of a LetterRequest goes through ``transition``, which writes a RequestEvent (who, when, from,
to, note), flushes, and sends ``request_moved``; it never commits. What follows a move (its audit entry, an
endorsement's number, the notifications, the survey invitation) subscribes to that signal
(services/requests/subscriptions.py) and runs inside the same transaction: the move and all it caused
commit together or not at all. No other module compares status codes: they ask ``is_final``, ``is_done``,
``waits_for`` and ``allowed_actions``, and queries use ``FINAL_STATUSES``, ``OPEN_STATUSES`` and
``statuses_waiting_for``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet

from blinker import NamedSignal
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.requests import REQUEST_STATUS_LABELS, Endorsement, LetterRequest, RequestEvent, RequestStatus
from sempelmas.services import access
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import promise

S = RequestStatus

# who may take an action
APPLICANT = "pemohon"  # the applicant, or the pendamping who assists them
RT = "rt"  # the head of the subject's RT, or of its RW at the RW's step (see may_act)
STAFF = "petugas"
SIGNER = "penandatangan"

#: (from status, action) -> to status; the whole lifecycle
TRANSITIONS: dict[tuple[RequestStatus, str], RequestStatus] = {
    # the RT head's endorsement when the RW endorses too: the request waits on, now for the RW head
    (S.AWAITING_ENDORSEMENT, "endorse_rt"): S.AWAITING_ENDORSEMENT,
    # the last endorsement needed (the RT head's, or the RW head's after it): on to the office
    (S.AWAITING_ENDORSEMENT, "endorse"): S.SUBMITTED,
    (S.AWAITING_ENDORSEMENT, "return_to_resident"): S.RETURNED,
    (S.AWAITING_ENDORSEMENT, "cancel"): S.CANCELLED,
    (S.RETURNED, "resubmit"): S.AWAITING_ENDORSEMENT,
    (S.RETURNED, "cancel"): S.CANCELLED,
    (S.SUBMITTED, "claim"): S.IN_REVIEW,
    (S.SUBMITTED, "cancel"): S.CANCELLED,
    (S.IN_REVIEW, "ask_fix"): S.NEEDS_FIX,
    (S.IN_REVIEW, "reject"): S.REJECTED,
    (S.IN_REVIEW, "forward_to_signing"): S.AWAITING_SIGNATURE,
    (S.NEEDS_FIX, "resubmit"): S.IN_REVIEW,
    (S.NEEDS_FIX, "cancel"): S.CANCELLED,
    (S.AWAITING_SIGNATURE, "sign"): S.DONE,
    (S.AWAITING_SIGNATURE, "send_back"): S.IN_REVIEW,
}

ACTORS: dict[str, str] = {
    "endorse_rt": RT,
    "endorse": RT,
    "return_to_resident": RT,
    "resubmit": APPLICANT,
    "cancel": APPLICANT,
    "claim": STAFF,
    "ask_fix": STAFF,
    "reject": STAFF,
    "forward_to_signing": STAFF,
    "sign": SIGNER,
    "send_back": SIGNER,
}
ACTIONS = tuple(ACTORS)

#: actions that must say why (the reason becomes the event's note)
REASON_REQUIRED = frozenset({"return_to_resident", "ask_fix", "reject", "send_back"})
#: no move leads out of these: the request is closed (closed_at set)
FINAL_STATUSES = frozenset({S.DONE, S.REJECTED, S.CANCELLED})
#: every other status, in the order work flows (the order screens and counts show them)
OPEN_STATUSES = tuple(s for s in RequestStatus if s not in FINAL_STATUSES)
#: whose move a request in each open status waits for (the applicant may also cancel it at several steps)
WAITS_FOR: dict[RequestStatus, str] = {
    S.AWAITING_ENDORSEMENT: RT,
    S.RETURNED: APPLICANT,
    S.SUBMITTED: STAFF,
    S.IN_REVIEW: STAFF,
    S.NEEDS_FIX: APPLICANT,
    S.AWAITING_SIGNATURE: SIGNER,
}

#: button texts
ACTION_LABELS = {
    "endorse_rt": _l("Beri pengantar RT"),
    "endorse": _l("Beri pengantar"),
    "return_to_resident": _l("Kembalikan ke pemohon"),
    "resubmit": _l("Ajukan ulang"),
    "cancel": _l("Batalkan permohonan"),
    "claim": _l("Saya tangani"),
    "ask_fix": _l("Minta perbaikan"),
    "reject": _l("Tolak"),
    "forward_to_signing": _l("Teruskan ke penandatangan"),
    "sign": _l("Tanda tangani"),
    "send_back": _l("Kembalikan ke petugas"),
}

#: "… tidak dapat <passive>" in refusals
_PASSIVE = {
    "endorse_rt": _l("diberi pengantar RT"),
    "endorse": _l("diberi pengantar"),
    "return_to_resident": _l("dikembalikan ke pemohon"),
    "resubmit": _l("diajukan ulang"),
    "cancel": _l("dibatalkan"),
    "claim": _l("ditangani petugas"),
    "ask_fix": _l("dimintakan perbaikan"),
    "reject": _l("ditolak"),
    "forward_to_signing": _l("diteruskan ke penandatangan"),
    "sign": _l("ditandatangani"),
    "send_back": _l("dikembalikan ke petugas"),
}


class RequestError(Exception):
    """A refused request operation; ``message`` is shown to the user as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransitionError(RequestError):
    """The action is not allowed from the request's current status, or lacks its reason."""


class NotPermittedError(RequestError):
    """The actor may not take this action on this request."""


class ConcurrentUpdateError(RequestError):
    """Someone else changed the request first; the screen should reload it."""

    def __init__(self, message: str | None = None):
        super().__init__(message or str(_(
            "Permohonan ini baru saja diubah oleh pengguna lain. Halaman dimuat ulang; periksa statusnya "
            "lalu coba lagi bila masih perlu.")))


class _OrderedSet(MutableSet):
    """A set that iterates in insertion order: blinker's ``Signal.set_class`` hook for receivers called in the
    order they were connected."""

    def __init__(self, items: Iterable = ()) -> None:
        self._items = dict.fromkeys(items)

    def __contains__(self, item) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item) -> None:
        self._items[item] = None

    def discard(self, item) -> None:
        self._items.pop(item, None)

    def copy(self) -> _OrderedSet:
        return _OrderedSet(self._items)


class _InOrderSignal(NamedSignal):
    set_class = _OrderedSet


#: Sent after every move, the submission included, inside the mover's transaction and before it commits.
#: Sender: the LetterRequest. Keywords: ``event`` (the RequestEvent just flushed), ``actor``, ``on_behalf_of``
#: and ``details`` (the details of the move's audit entry, which a receiver may add to: the endorsement number).
#: Receivers run in the order they were connected (services/requests/subscriptions.py) and add rows, flush,
#: never commit: a rollback of the move takes back all they did.
request_moved = _InOrderSignal("request-moved")


def start(*, awaits_pengantar: bool) -> RequestStatus:
    """The status a new request starts in: waiting for the RT head's online pengantar when its service asks for
    one (and the subject's RT has an account to give it), else submitted to the office."""
    return S.AWAITING_ENDORSEMENT if awaits_pengantar else S.SUBMITTED


def status_label(status: str) -> str:
    return str(REQUEST_STATUS_LABELS[RequestStatus(status)])


def is_final(status: str) -> bool:
    """Whether no move leads out of ``status`` (done, rejected, cancelled)."""
    return RequestStatus(status) in FINAL_STATUSES


def is_done(status: str) -> bool:
    """Whether a request in ``status`` has its letter issued (the one final status that serves the resident)."""
    return RequestStatus(status) is S.DONE


def waits_for(status: str) -> str | None:
    """Whose move a request in ``status`` waits for: APPLICANT, RT, STAFF or SIGNER; None once it is final."""
    return WAITS_FOR.get(RequestStatus(status))


def statuses_waiting_for(actor: str) -> tuple[RequestStatus, ...]:
    """The statuses in which a request waits for ``actor``'s move, for queries (``status.in_(…)``)."""
    return tuple(status for status, whose in WAITS_FOR.items() if whose == actor)


def target(request: LetterRequest, action: str) -> RequestStatus | None:
    """The status ``action`` would lead to, or None when the table does not allow it."""
    return TRANSITIONS.get((RequestStatus(request.status), action))


def rw_endorses() -> bool:
    """Whether the profile says the RW head endorses after the RT head (read fresh: admins change it)."""
    profile = profile_service.profile_row()
    return bool(profile and profile.rw_endorses)


def current_endorsements(request: LetterRequest) -> list[Endorsement]:
    """The endorsements that count: those given after the request was last returned to the resident.

    A return sends the request back to the start, so after the resident resubmits it the RT head (and
    the RW head) endorse it again. Earlier endorsements stay stored, as a record and so that their
    numbers are never handed out twice, but no longer count.
    """
    returns = [event.at for event in request.events if event.action == "return_to_resident"]
    since = max(returns) if returns else None
    return [e for e in request.endorsements if since is None or e.at > since]


def endorsement_step(request: LetterRequest) -> str | None:
    """Whose endorsement a request waiting for its pengantar needs next: "rt", then "rw" once the RT head
    endorsed it and handed it on; None when it is not waiting for an endorsement."""
    if RequestStatus(request.status) != S.AWAITING_ENDORSEMENT:
        return None
    return "rw" if any(e.level == "rt" for e in current_endorsements(request)) else "rt"


def heads_rt_of(user: User, request: LetterRequest) -> bool:
    return access.heads_rt(user, request.subject.rt, request.subject.rw)


def heads_rw_of(user: User, request: LetterRequest) -> bool:
    return access.heads_rw(user, request.subject.rw)


def _may_endorse(request: LetterRequest, user: User, action: str) -> bool:
    """The RT step belongs to the head of the subject's RT: "endorse_rt" when the RW endorses after
    them, else "endorse"; the RW step (after endorse_rt) to the head of the subject's RW. Whoever
    holds the step may return the request to the resident."""
    if endorsement_step(request) == "rw":
        return action != "endorse_rt" and heads_rw_of(user, request)
    if not heads_rt_of(user, request):
        return False
    if action == "endorse_rt":
        return rw_endorses()
    if action == "endorse":
        return not rw_endorses()
    return True


def may_act(request: LetterRequest, user: User | None, action: str, *, on_behalf_of: User | None = None) -> bool:
    """Whether ``user`` holds the role the action needs, for this request.

    The applicant acts for themself, a pendamping only for a resident they assist; an RT head only
    for a subject living in their RT, an RW head for their RW at the RW's step (see _may_endorse);
    staff and signers for any request.
    """
    if user is None or action not in ACTORS:
        return False
    kind = ACTORS[action]
    if kind == APPLICANT:
        if on_behalf_of is not None:
            return (user.has_role(Role.ASSISTANT) and on_behalf_of.assisted_by_id == user.id
                    and on_behalf_of.id == request.applicant_user_id)
        return user.id == request.applicant_user_id
    if kind == RT:
        return _may_endorse(request, user, action)
    if kind == STAFF:
        return user.has_role(Role.STAFF)
    return user.has_role(Role.SIGNER)


def allowed_actions(request: LetterRequest, user: User | None, *, on_behalf_of: User | None = None) -> list[str]:
    """The actions ``user`` may take on ``request`` now, in table order (for the buttons on a screen)."""
    current = RequestStatus(request.status)
    return [action for (status, action) in TRANSITIONS
            if status == current and may_act(request, user, action, on_behalf_of=on_behalf_of)]


def transition(request: LetterRequest, action: str, *, actor: User, note: str | None = None,
               on_behalf_of: User | None = None, expected_version: int | None = None, **extra) -> RequestEvent:
    """Move ``request`` by ``action`` and record it.

    Refuses (TransitionError) an action the table does not allow from the current status, and
    return_to_resident / ask_fix / reject / send_back without a reason (``note``); refuses
    (NotPermittedError) an actor without the right role for this request; raises
    ConcurrentUpdateError when ``expected_version`` (the version the actor's screen showed) is
    stale or another session committed a change first. ``claim`` sets claimed_by; ``ask_fix``
    stores ``fields`` and ``files`` (extra keyword arguments) in fix_request; ``reject`` stores the
    reason; final statuses set closed_at; the last endorsement starts the office's clock (``due_at``,
    services/requests/promise.py). Writes a RequestEvent and flushes the move; then sends
    ``request_moved`` (the audit entry "request.<action>", an endorsement's number, the notifications, on the
    move to "selesai" the satisfaction-survey invitation: see services/requests/subscriptions.py); flushes again.
    """
    if action not in ACTORS:
        raise ValueError(f"unknown lifecycle action {action!r}")
    if expected_version is not None and expected_version != request.version:
        raise ConcurrentUpdateError()
    current = RequestStatus(request.status)
    new = TRANSITIONS.get((current, action))
    if new is None:
        if current in FINAL_STATUSES:
            raise TransitionError(str(_(
                "Permohonan berstatus '%(status)s' sudah selesai diproses dan tidak dapat %(action)s.",
                status=status_label(current), action=str(_PASSIVE[action]))))
        raise TransitionError(str(_("Permohonan berstatus '%(status)s' tidak dapat %(action)s.",
                                    status=status_label(current), action=str(_PASSIVE[action]))))
    if not may_act(request, actor, action, on_behalf_of=on_behalf_of):
        raise NotPermittedError(str(_("Anda tidak berwenang: permohonan ini tidak dapat %(action)s oleh Anda.",
                                      action=str(_PASSIVE[action]))))
    note = (note or "").strip() or None
    if action in REASON_REQUIRED and not note:
        raise TransitionError(str(_("Alasan wajib diisi.")))

    now = utcnow()
    if action == "claim":
        request.claimed_by_id = actor.id
    elif action == "ask_fix":
        request.fix_request = {"reason": note, "fields": list(extra.get("fields") or []),
                               "files": list(extra.get("files") or [])}
    elif action == "resubmit":
        request.fix_request = None
    elif action == "reject":
        request.rejection_reason = note
    if current == S.AWAITING_ENDORSEMENT and new == S.SUBMITTED:
        promise.start_clock(request, now)  # the office receives it: its service time starts now
    request.status = new
    request.closed_at = now if new in FINAL_STATUSES else None
    # always an UPDATE, so the version moves even when the status stays (endorse_rt)
    request.updated_at = now
    event = RequestEvent(request=request, at=now, action=action, actor_id=actor.id,
                         on_behalf_of_id=getattr(on_behalf_of, "id", None),
                         from_status=current, to_status=new, note=note)
    db.session.add(event)
    flush()
    _moved(request, event, actor, on_behalf_of, {"tracking_number": request.tracking_number,
                                                 "from_status": str(current), "to_status": str(new), "note": note})
    return event


def started(request: LetterRequest, *, actor: User, on_behalf_of: User | None = None, **details) -> RequestEvent:
    """Announce a new request, flushed in its ``start()`` status with its "submit" event: ``request_moved``
    as for a move (its audit entry "request.submit" with ``details``). Flushes, never commits."""
    event = request.events[0]
    _moved(request, event, actor, on_behalf_of, {"tracking_number": request.tracking_number, **details})
    return event


def _moved(request: LetterRequest, event: RequestEvent, actor: User, on_behalf_of: User | None,
           details: dict) -> None:
    if not request_moved.receivers:
        # a move nobody hears would leave no audit entry and tell no one: refuse it rather than lose that
        raise RuntimeError("nothing is connected to lifecycle.request_moved: import "
                           "sempelmas.services.requests.subscriptions (create_app does)")
    request_moved.send(request, event=event, actor=actor, on_behalf_of=on_behalf_of, details=details)
    flush()


def flush() -> None:
    """Flush, turning the optimistic-lock failure into the error screens understand."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdateError() from exc
