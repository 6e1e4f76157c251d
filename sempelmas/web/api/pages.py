"""A list answered a page at a time: the page the service fetched for the client's cursor, as
{items, next_cursor, has_more}; a cursor this list did not hand out is a 400 ``invalid-cursor`` problem."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from sempelmas.extensions import db
from sempelmas.services.integration import cursors
from sempelmas.services.integration.letters import Page
from sempelmas.web.api.problems import abort_problem


def cursor_page(fetch: Callable[[], Page]) -> dict:
    """``fetch()`` the page (it may audit a read of personal data: committed here, with the answer)."""
    try:
        page = fetch()
    except cursors.CursorError:
        abort_problem(400, _("Kursor tidak valid"), _("Pakai next_cursor dari halaman sebelumnya, tanpa diubah."),
                      slug="invalid-cursor")
    db.session.commit()  # the audit entry of a page with personal data
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
