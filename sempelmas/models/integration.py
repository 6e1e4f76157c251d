"""Integration API clients: the city's systems that call /api/v1 (services/integration/clients.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class ApiClient(db.Model):
    """One calling system and its key (``spm_<key_prefix>_<secret>``).

    The key itself is never stored: ``key_prefix`` finds the row, ``key_hash`` (SHA-256 of the whole key, which
    carries 256 random bits, so a fast hash is enough) checks it. Rotating gives a new prefix and secret, so the
    old key finds no row. A revoked client stays (the audit log names it) but no key of it opens anything."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    #: scope codes (services/integration/scopes.py)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    #: CIDR networks the calls may come from ("10.1.2.0/24", "203.0.113.7/32"); empty: any address
    allowed_sources: Mapped[list] = mapped_column(JSON, default=list)
    #: Flask-Limiter notation ("600/minute"); None: the API_RATE_LIMIT setting
    rate_limit: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: at most API_LAST_USED_INTERVAL_SECONDS old while the client calls
    last_used_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.revoked_at is None
