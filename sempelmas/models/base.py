"""Shared column helpers."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Timestamps are stored in UTC (naive) and shown in the profile's time zone."""
    return datetime.now(UTC).replace(tzinfo=None)
