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
    return canonical_values(fields.get("seq"), fields.get("prev_hash"), fields.get("created_at"),
                            fields.get("actor_id"), fields.get("on_behalf_of_id"), fields.get("ip"),
                            fields.get("action"), fields.get("object_type"), fields.get("object_id"),
                            fields.get("details"))


def canonical_values(seq, prev_hash, created_at, actor_id, on_behalf_of_id, ip, action, object_type, object_id,
                     details) -> bytes:
    """``canonical`` from the values themselves (the verifier's hot path: no dict per row)."""
    if isinstance(details, str):
        details = _loads(details)
    return _dumps({"seq": seq, "prev_hash": prev_hash, "created_at": format_time(created_at),
                   "actor_id": actor_id, "on_behalf_of_id": on_behalf_of_id, "ip": ip, "action": action,
                   "object_type": object_type, "object_id": object_id, "details": details or {}}).encode()


def entry_hash(fields: dict) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def values_hash(*values) -> str:
    """``entry_hash`` from the values in ``canonical_values``' order."""
    return hashlib.sha256(canonical_values(*values)).hexdigest()


# The same bytes as json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) and json.loads,
# without building an encoder (and a whitespace regex) per call: a million entries are hashed in one run.
def _no_default(o):
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


try:
    from json.encoder import c_encode_basestring, c_make_encoder
    from json.scanner import c_make_scanner
except ImportError:  # pragma: no cover - an interpreter without the C accelerator
    c_make_encoder = c_make_scanner = None

if c_make_encoder is not None and c_encode_basestring is not None:
    _encode = c_make_encoder(None, _no_default, c_encode_basestring, None, ":", ",", True, False, True)

    def _dumps(doc) -> str:
        return "".join(_encode(doc, 0))
else:  # pragma: no cover
    _dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode

if c_make_scanner is not None:
    _scan = c_make_scanner(json.JSONDecoder())

    def _loads(text: str):
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            return json.loads(text)  # leading whitespace, or not JSON: the full decoder says which
        return value if end == len(text) else json.loads(text)
else:  # pragma: no cover
    _loads = json.loads
