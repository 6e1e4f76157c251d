"""Security headers on every response; requests carrying NUL characters are refused."""

from __future__ import annotations

from flask import Flask, abort, request, session

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


#: bodies whose fields Flask parses into request.form
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values)


def register(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        """No keyboard types a NUL, and PostgreSQL refuses to store one (a 500 on any text field it reached):
        a query string or form carrying one is answered 400 before a view sees it. The public verification
        page's upload form is left to its own checks (its body is a PDF)."""
        if _has_nul(request.args.values()):
            abort(400)
        if (request.method == "POST" and request.blueprint != "verify"
                and request.mimetype in _FORM_TYPES and _has_nul(request.form.values())):
            abort(400)

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
