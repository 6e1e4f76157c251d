"""``GET /api/v1/me``: the calling client as the API sees it (name, scopes, limits). Any valid key."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from sempelmas.web.api.auth import current_client, scoped

blp = Blueprint("api_me", __name__, url_prefix="/me", description="The calling client")


class MeSchema(ma.Schema):
    name = ma.fields.String(required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True)
    allowed_sources = ma.fields.List(ma.fields.String(), required=True,
                                     metadata={"description": "CIDR networks; empty: any address"})
    rate_limit = ma.fields.String(required=True)


@blp.route("")
@blp.response(200, MeSchema)
@scoped()
def me():
    """The calling client: its name, scopes, allowed source networks and rate limit."""
    c = current_client()
    return {"name": c.name, "scopes": c.scopes, "allowed_sources": c.allowed_sources,
            "rate_limit": c.rate_limit or current_app.config["API_RATE_LIMIT"]}
