"""What follows a request's move: the receivers of ``lifecycle.request_moved``, connected here, once, in order.

1. ``endorsements.number_endorsement``: an RT/RW head's endorsement gets its number (it joins the audit entry);
2. ``record_in_audit``: the audit entry "request.<action>" with the move's details;
3. ``notify.request_moved``: the bell and outbox rows for whoever should hear of it;
4. ``survey.request_moved``: on the move to "selesai", the satisfaction-survey invitation;
5. ``webhooks.request_moved``: the "request.submitted" / "request.status_changed" webhook event.

Each runs inside the mover's transaction, adds rows and flushes, never commits: a message is queued exactly
when the status change commits. The lifecycle imports none of them (it only sends the signal), so none of
them can import it back in a cycle. ``create_app`` imports this module, which connects the receivers at its
import: once per process, the web app, the CLI and the workers alike (a forked process inherits them).
"""

from __future__ import annotations

from sempelmas.models.accounts import User
from sempelmas.models.requests import LetterRequest, RequestEvent
from sempelmas.services.accountability import audit, survey
from sempelmas.services.operations import notify, webhooks
from sempelmas.services.requests import endorsements, lifecycle, questions


def record_in_audit(request: LetterRequest, *, event: RequestEvent, actor: User, on_behalf_of: User | None,
                    details: dict, **_) -> None:
    """The move's entry in the audit log: "request.<action>" with ``details`` (from/to status, note, …)."""
    audit.record(f"request.{event.action}", request, actor=actor, on_behalf_of=on_behalf_of, **details)


#: the receivers, in the order they run (the endorsement number must exist before the audit entry names it)
RECEIVERS = (endorsements.number_endorsement, record_in_audit, notify.request_moved, survey.request_moved,
             webhooks.request_moved)

for _receiver in RECEIVERS:
    lifecycle.request_moved.connect(_receiver, weak=False)

# a message on a request's thread ("Tanya petugas"): who hears of it (the audit entry is the poster's own)
questions.message_posted.connect(notify.question_posted, weak=False)
