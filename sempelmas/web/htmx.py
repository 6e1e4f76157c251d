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
    """Render ``block`` of ``template`` for htmx, the whole page otherwise; always Vary: HX-Request.

    ``status`` is the HTTP status, so a template cannot receive a variable called ``status``: pass a filter
    value under another name (``filter_status``). A value that is not a status is refused here, at once,
    instead of going out as a broken response ("0 antri" was the outbox's filter link)."""
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise TypeError(f"render(): status must be an HTTP status code, not {status!r}; "
                        "give a template variable another name")
    fragment = bool(block) and is_htmx()
    body = render_block(template, block, **context) if fragment else render_template(template, **context)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    return resp
