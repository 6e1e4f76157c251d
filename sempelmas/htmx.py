"""The one place that decides whether to answer with a fragment or a whole page."""

from __future__ import annotations

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """An htmx request that wants a fragment (boosted navigation and a history restore want the whole page)."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(template: str, block: str | None = None, status: int = 200, **context):
    """Render ``block`` of ``template`` for htmx, the whole page otherwise; always Vary: HX-Request."""
    fragment = bool(block) and is_htmx()
    body = render_block(template, block, **context) if fragment else render_template(template, **context)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    return resp
