"""Flask's cookie sessions, with the signing serializer built once per secret instead of per request.

Flask builds a new ``URLSafeTimedSerializer`` every time a request opens its session, even for a visitor
without a cookie; on the public verification page (every QR scan, bench/bench_verify.py) that was a
measurable share of the request. Same cookies, same keys (fallbacks included), same signatures.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = app.extensions.get("sempelmas.session_serializer")
        if cached is None or cached[0] != key:
            cached = (key, super().get_signing_serializer(app))
            app.extensions["sempelmas.session_serializer"] = cached
        return cached[1]
