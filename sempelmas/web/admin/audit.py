"""Admin: browse the audit log (filters, keyset pages, htmx partials) and check its hash chain."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import audit, audit_browse
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.forms import EmptyForm
from sempelmas.web.htmx import is_htmx, render
from sempelmas.web.i18n import select_timezone

#: above this many entries the button refuses and points to the CLI (a web request must not run for minutes)
WEB_VERIFY_MAX = 200_000


def _page(report=None, refused: bool = False, status: int = 200):
    filters = audit_browse.parse_filters(request.args)
    if request.method == "GET" and filters.actor and filters.actor_id and "pelaku" in request.args:
        # the account was typed (username or NIK): continue with its id so no NIK stays in the address bar,
        # the history or the server's access log beyond this one request
        target = url_for("admin.audit_log", **filters.args())
        if not is_htmx():
            return redirect(target, code=303)
    else:
        target = None
    before = digit_rules.query_int(request.args, "sebelum")
    page = audit_browse.search(filters, before=before, tz_name=select_timezone())
    resp = render("admin/audit.html", block="results", status=422 if filters.errors else status, page=page,
                  filters=filters, args=filters.args(), before=before, label=audit_browse.action_label,
                  prefixes=audit_browse.ACTION_PREFIXES, object_types=audit_browse.object_types(),
                  total=audit_browse.entry_count(), verify_form=EmptyForm(), report=report, refused=refused,
                  web_max=current_app.config.get("AUDIT_VERIFY_WEB_MAX", WEB_VERIFY_MAX))
    if target:
        resp.headers["HX-Push-Url"] = target  # instead of the address with the NIK
    return resp


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit_log():
    audit.chain_views()  # the page views recorded since the last append show too, chained
    return _page()


@bp.post("/audit/periksa")
@role_required(Role.ADMIN)
def audit_verify():
    """Run the chain check from the page when the log is small enough; the CLI otherwise."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    limit = current_app.config.get("AUDIT_VERIFY_WEB_MAX", WEB_VERIFY_MAX)
    audit.chain_views()
    if audit_browse.entry_count() > limit:
        return _page(refused=True)
    report = audit.verify_chain()
    found = {"problem": report.problem.message} if report.problem else {}
    if report.breaks:
        found["breaks"] = len(report.breaks)
    audit.record("audit.verify", actor=current_user, object_type="audit_log", intact=report.intact,
                 checked=report.checked, **found)
    db.session.commit()
    return _page(report=report)
