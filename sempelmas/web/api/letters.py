"""``/api/v1/letters``: the register of outgoing letters (scope ``letters:read``; the subject's NIK with
``letters:pii``, each such page audited), and ``/api/v1/letters/verify/<code>``: a letter's verification, the
facts of the public page ``/v/<code>`` as JSON.

The register is paged by an opaque cursor over the order (signed_at, id), oldest first: rows added while a client
pages (new letters sort last) are neither skipped nor repeated, and the last page's ``next_cursor`` brings only
newer letters later. Each page has an ``ETag``; ``If-None-Match`` with it answers 304 while the page is unchanged
(a revocation changes it)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from sempelmas.services.integration import letters as service
from sempelmas.web.api.auth import has_scope, scoped
from sempelmas.web.api.pages import cursor_page
from sempelmas.web.api.problems import abort_problem
from sempelmas.web.api.schemas.letters import RegisterPageSchema, RegisterQuerySchema, VerificationSchema

blp = Blueprint("api_letters", __name__, url_prefix="/letters", description="Outgoing letters")


@blp.route("")
@blp.etag
@blp.arguments(RegisterQuerySchema, location="query", as_kwargs=True)
@blp.response(200, RegisterPageSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="A cursor this list did not hand out")
@scoped("letters:read")
def register(cursor=None, limit=service.PAGE_DEFAULT, **filters):
    """The register of outgoing letters, oldest first, a page at a time (`cursor`); filters by the local
    signing date, status and type. The subject's NIK only with scope `letters:pii`."""
    return cursor_page(lambda: service.register_page(service.Filters(**filters), cursor, limit,
                                                     with_nik=has_scope("letters:pii")))


@blp.route("/verify/<string:code>")
@blp.response(200, VerificationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@scoped("letters:read")
def verify(code: str):
    """A letter's verification by its code: what the public page /v/<code> shows (name and NIK masked)."""
    facts = service.verification(code)
    if facts is None:
        abort_problem(404, _("Tidak ditemukan"), _("Tidak ada surat dengan kode verifikasi ini."))
    return facts
