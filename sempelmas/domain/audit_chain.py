"""The audit log's hash chain: one canonical serialisation of an entry and its SHA-256.

Pure functions (no Flask, no database) so the migration's back-fill, the append hook, the verifier and the
benchmark all hash exactly the same bytes. Changing anything here invalidates every stored hash: don't.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

#: the "previous hash" of the very first entry
GENESIS = "0" * 64

#: the stored fields covered by ``entry_hash``, in no particular order (the JSON keys are sorted).
#: ``id`` is not among them: the database assigns it at INSERT, after the hash is computed. The chain's
#: position is ``seq``; the verifier also checks that ids rise with ``seq``.
HASHED_FIELDS = ("seq", "prev_hash", "created_at", "actor_id", "on_behalf_of_id", "ip", "action",
                 "object_type", "object_id", "details")

def format_time(value: datetime | str | None) -> str | None:
    """``2026-11-28T05:10:00.000000``: naive UTC, always with microseconds (a raw SQLite or PostgreSQL text
    value of the same instant gives the same string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        raise ValueError("audit timestamps are naive UTC")
    return value.isoformat(timespec="microseconds")


def normalise_details(details) -> dict:
    """What the JSON column gives back after a round trip (int keys become strings, tuples lists…)."""
    return json.loads(json.dumps(details or {}, ensure_ascii=False))


def canonical(fields: dict) -> bytes:
    """Sorted-key compact JSON of the hashed fields; timestamps in one fixed format; ``details`` as a dict
    (JSON text, as some drivers return it, is decoded first)."""
    details = fields.get("details")
    if isinstance(details, str):
        details = json.loads(details)
    doc = {name: fields.get(name) for name in HASHED_FIELDS}
    doc["created_at"] = format_time(doc["created_at"])
    doc["details"] = details or {}
    return _dumps(doc).encode()


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def entry_hash(fields: dict) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()
