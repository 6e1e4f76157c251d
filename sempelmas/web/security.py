"""Security headers on every response, and the screening of input no person types."""

from __future__ import annotations

from flask import Flask, request, session
from werkzeug.exceptions import BadRequest

from sempelmas.domain.text import has_nul

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)


BASE_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), microphone=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class UnreadableInput(BadRequest):
    """An address or query carrying a NUL byte: a script's probe, which PostgreSQL would refuse mid-query."""


def register(app: Flask) -> None:
    @app.before_request
    def _screen_address():
        # the path and the query only: form bodies are cleaned field by field (sempelmas/web/forms.py), and
        # reading a body here would parse uploads before their view sets its own size limit
        if has_nul(request.path) or any(has_nul(k) or has_nul(v) for k, v in request.args.items(multi=True)):
            raise UnreadableInput()

    @app.after_request
    def _headers(resp):
        h = resp.headers
        # a view may have set its own (a sandboxed CSP on files, no-referrer on /v/): those stay. One pass
        # over the response's headers instead of a scan per setdefault (this runs on every response)
        present = {key.lower() for key, _value in h.items()}
        extra = [pair for pair in BASE_HEADERS if pair[0].lower() not in present]
        if app.config.get("SESSION_COOKIE_SECURE") and "strict-transport-security" not in present:
            extra.append(HSTS)
        # Pages for a signed-in person carry personal data: no shared or back-button cache keeps them.
        # (the session's user id is enough: loading the user here would cost a query per file)
        if "cache-control" not in present and "_user_id" in session:
            extra.append(("Cache-Control", "private, no-store"))
        h.extend(extra)
        return resp
