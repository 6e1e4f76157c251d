"""Notifications caused by request status changes: the bell and the outbox (delivered by the notify worker).

Called inside the transaction that changes the status, so a message is never lost and never sent
for a change that was rolled back; delivery happens later, outside the request.
"""

from __future__ import annotations


def request_changed(request, event) -> None:
    """Queue what ``event`` (a RequestEvent just added to ``request``) should tell whom."""
