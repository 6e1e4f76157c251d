"""Complaints for the API: the list with status, oldest first by a keyset cursor (``cursors``).

Without ``complaints:pii`` an item carries what says how the office handles it (code, category, subject,
status, dates, whether it concerns a request); with it, also the complainant's contact data (name, phone,
e-mail) and the complaint's text (written by the complainant, it often names people), and every such page is
audited (one entry naming the complaints; the caller commits).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from sempelmas.extensions import db
from sempelmas.models.complaints import Complaint, ComplaintStatus
from sempelmas.services.accountability import audit
from sempelmas.services.integration import cursors
from sempelmas.services.integration.letters import Page, iso_utc

KIND = "complaints"
PAGE_DEFAULT = 50
PAGE_MAX = 200
STATUSES = tuple(s.value for s in ComplaintStatus)

_C = Complaint.__table__.c
_COLUMNS = (_C.id, _C.code, _C.category, _C.subject, _C.status, _C.created_at, _C.updated_at, _C.closed_at,
            _C.request_id)
_PII = (_C.name, _C.phone, _C.email, _C.body)


def page(status: str | None = None, cursor: str | None = None, limit: int = PAGE_DEFAULT, *,
         with_pii: bool = False) -> Page:
    limit = max(1, min(int(limit), PAGE_MAX))
    stmt = select(*_COLUMNS, *(_PII if with_pii else ()))
    if status:
        stmt = stmt.where(_C.status == status)
    if cursor:
        at, last_id = cursors.decode(KIND, cursor)
        stmt = stmt.where(_C.created_at >= at, or_(_C.created_at > at, and_(_C.created_at == at, _C.id > last_id)))
    rows = db.session.execute(stmt.order_by(_C.created_at, _C.id).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        item = {"code": row.code, "category": row.category, "subject": row.subject, "status": row.status,
                "created_at": iso_utc(row.created_at), "updated_at": iso_utc(row.updated_at),
                "closed_at": iso_utc(row.closed_at), "about_request": row.request_id is not None}
        if with_pii:
            item["contact"] = {"name": row.name, "phone": row.phone, "email": row.email}
            item["body"] = row.body
        items.append(item)
    if with_pii and rows:
        audit.record("api.complaints_pii_read", object_type="complaints", object_id=None, count=len(rows),
                     complaint_codes=[row.code for row in rows])
    next_cursor = cursors.encode(KIND, rows[-1].created_at, rows[-1].id) if rows else cursor
    return Page(items, next_cursor, has_more)
