"""``/api/v1/complaints``: complaints with their status (scope ``complaints:read``), oldest first by cursor;
the complainant's contact data and the text only with ``complaints:pii`` (each such page audited)."""

from __future__ import annotations

from flask_smorest import Blueprint

from sempelmas.services.integration import complaints as service
from sempelmas.web.api.auth import has_scope, scoped
from sempelmas.web.api.pages import cursor_page
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
    return cursor_page(lambda: service.page(status, cursor, limit, with_pii=has_scope("complaints:pii")))
