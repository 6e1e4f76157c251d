"""The register of outgoing letters for the API, and a letter's verification by code.

The register reads the ``letters`` table alone (no join: a letter keeps the names it printed and the subject's
NIK, ``issued.facts_as_printed``), only the columns it answers with, in the stable order ``(signed_at, id)``
oldest first, a page at a time from a keyset cursor (``cursors``): one index range serves the order, the dates
and the cursor (``ix_letters_signed_at``; with a status or type filter, migration 0033's composite indexes),
measured by bench/bench_api.py. The caller commits (the audit entry of a page with NIKs).

Only letters signed at least ``API_REGISTER_SETTLE_SECONDS`` ago are listed: a letter's ``signed_at`` is taken
before its signing transaction (rendering, signing, the number's lock) commits, so two officials signing at once
can commit a letter whose moment lies behind a cursor another client already got; past the settle time no letter
can still appear there, so a page, once past, never misses one.

Personal data: the subject's NIK only when the caller holds ``letters:pii``; every such page is audited (one
entry per page, naming the letters). The verification answers the facts of the public page ``/v/<code>``
(``issued.public_facts``: the name and NIK masked), nothing more.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, or_, select

from sempelmas.extensions import db
from sempelmas.links import public_url
from sempelmas.models.base import utcnow
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.services.accountability import audit
from sempelmas.services.accountability.periods import utc_naive
from sempelmas.services.integration import cursors
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issued, issuing
from sempelmas.services.letters.issuing import VERIFY_PATH

KIND = "letters"
PAGE_DEFAULT = 100
PAGE_MAX = 500
STATUSES = tuple(s.value for s in LetterStatus)

_L = Letter.__table__.c
_COLUMNS = (_L.id, _L.number, _L.signed_at, _L.service_code, _L.title, _L.signer_name, _L.signer_position,
            _L.capacity, _L.status, _L.revoked_at, _L.verify_code, _L.signing_backend)


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    status: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict]
    #: where the next page starts; also given on the last page, so a client can come back later for newer rows
    next_cursor: str | None
    has_more: bool


def iso_utc(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def register_page(filters: Filters, cursor: str | None = None, limit: int = PAGE_DEFAULT, *,
                  with_nik: bool = False) -> Page:
    """One page of the register (oldest first). Raises cursors.CursorError for a cursor not from this list."""
    limit = max(1, min(int(limit), PAGE_MAX))
    columns = _COLUMNS + ((_L.subject_nik,) if with_nik else ())
    settled = utcnow() - timedelta(seconds=current_app.config["API_REGISTER_SETTLE_SECONDS"])
    stmt = select(*columns).where(_L.signed_at < settled)
    tz = profile_service.tz_name()
    if filters.date_from is not None:
        stmt = stmt.where(_L.signed_at >= utc_naive(filters.date_from, tz))
    if filters.date_to is not None:
        stmt = stmt.where(_L.signed_at < utc_naive(date.fromordinal(filters.date_to.toordinal() + 1), tz))
    if filters.status:
        stmt = stmt.where(_L.status == filters.status)
    if filters.type:
        stmt = stmt.where(_L.service_code == filters.type)
    if cursor:
        at, last_id = cursors.decode(KIND, cursor)
        # spelled out rather than a row value (signed_at, id) > (:at, :id): both databases then use the index
        # range from ``at`` on, SQLite included
        stmt = stmt.where(_L.signed_at >= at, or_(_L.signed_at > at, and_(_L.signed_at == at, _L.id > last_id)))
    rows = db.session.execute(stmt.order_by(_L.signed_at, _L.id).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    base = public_url()
    items = [_item(row, base, tz, with_nik) for row in rows]
    next_cursor = cursors.encode(KIND, rows[-1].signed_at, rows[-1].id) if rows else cursor
    if with_nik and rows:
        audit.record("api.letters_pii_read", object_type="letters", object_id=None, count=len(rows),
                     letter_ids=[row.id for row in rows])
    return Page(items, next_cursor, has_more)


def _item(row, base: str, tz: str, with_nik: bool) -> dict:
    out = {
        "id": row.id,
        "number": row.number,
        "signed_at": iso_utc(row.signed_at),
        "date": _local_date(row.signed_at, tz).isoformat(),
        "type": {"code": row.service_code, "title": row.title},
        "signer": {"name": row.signer_name, "position": row.signer_position, "capacity": row.capacity or ""},
        "signing_backend": row.signing_backend or "local",
        "status": row.status,
        "revoked_at": iso_utc(row.revoked_at),
        "verification": {"code": row.verify_code, "url": base + VERIFY_PATH.format(row.verify_code)},
    }
    if with_nik:
        out["subject_nik"] = row.subject_nik
    return out


@functools.cache
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _local_date(moment: datetime, tz: str) -> date:
    zone = _zone(tz)
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


# ----------------------------------------------------------------------------------- verification

def verification(code: str) -> dict | None:
    """The public page's facts of the letter with this code, as plain data; None for an unknown code."""
    facts = issued.public_facts(code)
    if facts is None:
        return None
    tz = profile_service.tz_name()
    return {
        "code": facts.code,
        "url": issuing.verify_url(facts.code),
        "number": facts.number,
        "title": facts.title,
        "signed_at": iso_utc(facts.signed_at),
        "date": _local_date(facts.signed_at, tz).isoformat(),
        "status": facts.status,
        "valid": facts.status == LetterStatus.VALID,
        "revoked_at": iso_utc(facts.revoked_at),
        "revocation_reason": facts.revocation_reason if facts.status == LetterStatus.REVOKED else None,
        "signer": {"name": facts.signer_name, "position": facts.signer_position, "capacity": facts.capacity},
        "signing_backend": facts.signing_backend,
        "subject": {"name": facts.resident_name, "nik": facts.resident_nik},  # masked, as on the page
        "pdf_sha256": facts.pdf_sha256,
        "replaced_by": ({"code": facts.replaced_by_code, "url": issuing.verify_url(facts.replaced_by_code)}
                        if facts.replaced_by_code else None),
    }
