"""A test-only resource mounted beside the real ones (``probe_app``): input to validate, a write, a deprecation."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_smorest import Blueprint

from sempelmas.extensions import db
from sempelmas.services.accountability import audit
from sempelmas.web.api.auth import current_client, has_scope, scoped
from sempelmas.web.api.versioning import deprecated

blp = Blueprint("api_probe", __name__, url_prefix="/probe", description="Test probe")


class EchoArgs(ma.Schema):
    n = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=10))


class EchoSchema(ma.Schema):
    n = ma.fields.Integer()
    pii = ma.fields.Boolean()


@blp.route("/echo")
@blp.arguments(EchoArgs, location="query")
@blp.response(200, EchoSchema)
@scoped("letters:read")
def echo(args):
    """Echo n back; says whether the client may see personal data."""
    return {"n": args["n"], "pii": has_scope("letters:pii")}


@blp.route("/write", methods=["POST"])
@blp.arguments(EchoArgs)
@blp.response(201, EchoSchema)
@scoped("residents:write")
def write(body):
    """A write: audited with the client's name."""
    audit.record("probe.write", actor=None, object_type="probe", object_id=body["n"], by=current_client().name)
    db.session.commit()
    return {"n": body["n"], "pii": False}


@blp.route("/old")
@deprecated(since=date(2026, 12, 1), sunset=date(2027, 6, 30), link="https://example.org/api/v1/docs#new")
@blp.response(200, EchoSchema)
@scoped()
def old():
    """A deprecated operation."""
    return {"n": 0, "pii": False}
