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
    return render("signer/home.html")
