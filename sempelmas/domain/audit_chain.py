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

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # naive UTC, always with microseconds


def format_time(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # a raw SQLite row
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        raise ValueError("audit timestamps are naive UTC")
    return value.strftime(_TIME_FORMAT)


def normalise_details(details) -> dict:
    """What the JSON column gives back after a round trip (int keys become strings, tuples lists…)."""
    return json.loads(json.dumps(details or {}, ensure_ascii=False))


def canonical(fields: dict) -> bytes:
    """Sorted-key compact JSON of the hashed fields; timestamps in one fixed format."""
    doc = {name: fields.get(name) for name in HASHED_FIELDS}
    doc["created_at"] = format_time(doc["created_at"])
    if isinstance(doc["details"], str):  # raw JSON text from a driver that does not decode it
        doc["details"] = json.loads(doc["details"])
    doc["details"] = doc["details"] or {}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(fields: dict) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()
