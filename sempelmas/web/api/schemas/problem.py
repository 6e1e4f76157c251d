"""Schemas the whole API shares: the problem body."""

from __future__ import annotations

import marshmallow as ma


class ProblemSchema(ma.Schema):
    """An error, as ``application/problem+json`` (RFC 9457); documentation only (``problems.py`` writes it)."""

    type = ma.fields.String(metadata={"description": "Stable URI of the kind of problem; branch on this"})
    title = ma.fields.String(metadata={"description": "Short summary for people (may be translated)"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status"})
    detail = ma.fields.String(metadata={"description": "What happened in this case"})
    errors = ma.fields.Dict(metadata={"description": "422: field errors per location (json, query, ...)"})
    required_scopes = ma.fields.List(ma.fields.String(), metadata={"description": "403: the scopes needed"})
