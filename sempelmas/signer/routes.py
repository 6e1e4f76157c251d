"""Signing officials (the signing queue arrives with the letters issue)."""

from __future__ import annotations

from flask import Blueprint

from sempelmas.access import role_required
from sempelmas.htmx import render
from sempelmas.models.accounts import Role

bp = Blueprint("signer", __name__)


@bp.get("/")
@role_required(Role.SIGNER)
def home():
    from sempelmas.signer.signing import queue_context

    return render("signer/queue.html", **queue_context())


from sempelmas.signer import signing  # noqa: E402,F401  (the signing desk's routes)
