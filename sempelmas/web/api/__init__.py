"""The integration API, ``/api/v1`` (issue 16): flask-smorest over marshmallow schemas, the OpenAPI 3.1 document
generated at ``/api/v1/openapi.json``, a reference page at ``/api/v1/docs``.

A resource is a module ``sempelmas/web/api/<resource>.py`` with ``blp = flask_smorest.Blueprint("api_<name>",
__name__, url_prefix="/<path>")`` (the prefix relative to /api/v1) whose views carry ``@scoped(...)``
(``auth.py``); add its ``blp`` to ``BLUEPRINTS``. Under /api/v1 there is no session, no CSRF token (Bearer keys,
no cookies) and no HTML error page: every error is problem+json (``problems.py``). Rules of change: docs/API.md.
"""

from __future__ import annotations

import http

from flask import Flask, g, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response

from sempelmas.web.api import catalogue, complaints, docs, ikm, letters, me, requests, residents
from sempelmas.web.api.problems import MEDIA_TYPE
from sempelmas.web.api.schemas.problem import ProblemSchema

PREFIX = "/api/v1"
VERSION = "1.0.0"

#: the resource blueprints, each mounted at PREFIX + its own url_prefix (one line per resource)
BLUEPRINTS = [
    me.blp,
    catalogue.blp,
    letters.blp,
    requests.blp,
    ikm.blp,
    complaints.blp,
    residents.blp,
]


class SemPelMasApi(Api):
    """flask-smorest's Api with our errors: the documented error body is the problem, as problem+json, and the
    app's own handlers (``web/errors.py``) answer errors, not flask-smorest's (which would also answer the
    HTML site's)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                content_type = MEDIA_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def is_api_request() -> bool:
    """Whether the request being served is under /api/v1 (matched or not: a 404 there is the API's too)."""
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _settings(app: Flask) -> None:
    from sempelmas.links import public_url

    with app.app_context():
        server = public_url()
    for key, value in {
        "API_TITLE": "SemPelMas API",
        "API_VERSION": VERSION,
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": PREFIX,
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": "The integration API of SemPelMas for the city's systems. Authenticate "
                                    "with `Authorization: Bearer <key>`; errors are application/problem+json. "
                                    "Versioning rules: docs/API.md."},
            "servers": [{"url": server}],
            "security": [{"bearerAuth": []}],
        },
    }.items():
        app.config.setdefault(key, value)


def register(app: Flask) -> None:
    """Mount the API on ``app``: the document, the resources, the reference page, the request rules."""
    from sempelmas.extensions import csrf, login_manager

    _settings(app)
    api = SemPelMasApi(app)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "bearerFormat": "spm_<prefix>_<secret>",
        "description": "An API client's key, given once by the kelurahan's admin."})
    for blp in BLUEPRINTS:
        api.register_blueprint(blp, url_prefix=PREFIX + (blp.url_prefix or ""))
        csrf.exempt(blp)
    app.register_blueprint(docs.bp, url_prefix=PREFIX)
    app.extensions["sempelmas_api"] = api

    @app.before_request
    def _no_session_user():
        # under /api/v1 only the Bearer key counts: whatever reads current_user sees nobody, even with a cookie
        if is_api_request():
            g._login_user = login_manager.anonymous_user()

    @app.after_request
    def _rate_headers(resp):
        rate = g.get("api_rate")
        if rate is not None:
            limit, remaining, reset = rate
            resp.headers["X-RateLimit-Limit"] = str(limit)
            resp.headers["X-RateLimit-Remaining"] = str(remaining)
            resp.headers["X-RateLimit-Reset"] = str(reset)
        return resp
