"""Opaque keyset cursors for the API's lists: a position in a stable order ``(moment, id)``.

A cursor is the last row a client has seen, so a page never skips or repeats a row while rows are added (new
rows sort after every cursor already handed out: lists run oldest first, and a row's moment never changes).
It is base64url text of ``<kind>|<moment ISO>|<id>``; the kind binds it to its list, so a letters cursor is
refused by the complaints list. Not signed: it only says where to start, and anything malformed is refused.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime


class CursorError(ValueError):
    """A cursor this list did not hand out."""


def encode(kind: str, moment: datetime, row_id: int) -> str:
    raw = f"{kind}|{moment.isoformat(timespec='microseconds')}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str) -> tuple[datetime, int]:
    try:
        if len(cursor) > 120:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        got_kind, moment, row_id = raw.split("|")
        if got_kind != kind or not row_id.isascii() or not row_id.isdigit():
            raise ValueError
        return datetime.fromisoformat(moment), int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError(cursor) from exc
