"""The OpenDK connector: its settings (one row) and, per signed letter, what happened to it on the way to the
kecamatan's OpenDK (services/integration/opendk.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class OpenDkSettings(db.Model):
    """The connector's settings, set by the admin. The password and the registered token are stored encrypted
    with a key derived from SECRET_KEY (services/integration/opendk_settings.py) and never shown back."""

    __tablename__ = "opendk_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    #: OpenDK's address, e.g. https://kecamatan.example.go.id (the API lives under /api/v1)
    base_url: Mapped[str] = mapped_column(String(300), default="")
    #: an OpenDK account (POST /api/v1/auth/login)
    email: Mapped[str] = mapped_column(String(254), default="")
    password_enc: Mapped[str | None] = mapped_column(Text)
    #: the token OpenDK's admin generated and registered (its "api_key_opendk"); sent as the Bearer instead of
    #: logging in when set
    api_key_enc: Mapped[str | None] = mapped_column(Text)
    #: the kelurahan's code as OpenDK knows it (its "desa_id")
    desa_id: Mapped[str] = mapped_column(String(20), default="")
    updated_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class OpenDkLetter(db.Model):
    """One signed letter for OpenDK: queued (``outbox_id``, its attempts and errors are the outbox row's), or held
    back with the reason (``held_reason``: too large, no valid NIK), and OpenDK's last answer."""

    __tablename__ = "opendk_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    #: why it was not queued (for the operator, Indonesian); None when it was
    held_reason: Mapped[str | None] = mapped_column(Text)
    #: OpenDK's answer to the last attempt (status and body, cut short)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
