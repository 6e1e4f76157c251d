"""``/api/v1/complaints``: complaints with their status (scope ``complaints:read``), oldest first by cursor;
the complainant's contact data and the text only with ``complaints:pii`` (each such page audited)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from sempelmas.extensions import db
from sempelmas.services.integration import complaints as service
from sempelmas.services.integration import cursors
from sempelmas.web.api.auth import has_scope, scoped
from sempelmas.web.api.problems import abort_problem
from sempelmas.web.api.schemas.reads import ComplaintsPageSchema, ComplaintsQuerySchema

blp = Blueprint("api_complaints", __name__, url_prefix="/complaints", description="Complaints")


@blp.route("")
@blp.etag
@blp.arguments(ComplaintsQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ComplaintsPageSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="A cursor this list did not hand out")
@scoped("complaints:read")
def complaints(status=None, cursor=None, limit=service.PAGE_DEFAULT):
    """Complaints, oldest first, a page at a time (`cursor`), optionally of one status."""
    try:
        page = service.page(status, cursor, limit, with_pii=has_scope("complaints:pii"))
    except cursors.CursorError:
        abort_problem(400, _("Kursor tidak valid"), _("Pakai next_cursor dari halaman sebelumnya, tanpa diubah."),
                      slug="invalid-cursor")
    db.session.commit()  # the audit entry of a page with contact data
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
