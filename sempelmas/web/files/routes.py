"""Downloading request documents: every download checks who is asking (another's file → 404)."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.requests import attachments
from sempelmas.web.access import login_required
from sempelmas.web.acting import acting_resident
from sempelmas.web.private_files import send_private

bp = Blueprint("files", __name__)


def _may_open(attachment) -> bool:
    if attachment.request is None:  # a draft upload: only the person it belongs to (or their pendamping)
        return access.may_open_draft(attachment.owner_user_id,
                                     acting_resident() if current_user.is_authenticated else None)
    return access.can_view(current_user, attachment.request, acting_for=acting_resident())


@bp.get("/berkas/<name>")
@login_required
def attachment(name: str):
    found = attachments.by_name(name)
    if found is None or not _may_open(found):
        abort(404)
    path = attachments.path_of(found)
    if path is None:
        abort(404)
    if found.request is not None and current_user.id != found.owner_user_id \
            and not current_user.has_role(Role.RESIDENT, Role.ASSISTANT):
        audit.record("attachment.view", found.request, tracking_number=found.request.tracking_number,
                     requirement=found.requirement_code)
        db.session.commit()
    # never run as a page of this site; the sandbox directive would also stop Chromium's PDF viewer,
    # so a PDF gets only the fetch restrictions (its viewer runs apart from this origin)
    return send_private(path, mimetype=found.mime,
                        filename=f"{found.requirement_code}{'.pdf' if found.is_pdf else '.jpg'}",
                        csp="default-src 'none'; object-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'"
                        if found.is_pdf else "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
