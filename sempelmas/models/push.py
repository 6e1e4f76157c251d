"""Web Push subscriptions: the phones and browsers a user asked to be told on (services/operations/push.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class PushSubscription(db.Model):
    """One browser's push subscription (PushManager.subscribe) for one user.

    The endpoint is the push service's address for that browser: unique, so a shared phone on which another
    person signs in and turns notifications on moves the subscription to them. It was made in a session
    (``session_id``): once that session is ended by signing out (on the phone or from the account page) the
    device is told nothing more; a session that only expires keeps it (residents sign in seldom) until its row
    is pruned (services/people/sessions.py, 30 days on, at the account's next sign-in), which deletes it too: the
    offer then shows again on that phone and one tap turns it back on.
    """

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("user_sessions.id", ondelete="CASCADE"))
    #: the push service's URL for this browser (https://…); a capability: whoever has it can push
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    #: the browser's P-256 public key (base64url, 65 bytes uncompressed) and auth secret (base64url, 16 bytes)
    p256dh: Mapped[str] = mapped_column(String(120))
    auth: Mapped[str] = mapped_column(String(40))
    #: "Chrome di Android": for the owner to recognise the device in the list
    label: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    #: the push service's last refusal (short), for the admin and the owner's list
    last_error: Mapped[str | None] = mapped_column(String(300))
