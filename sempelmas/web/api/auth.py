"""The API's authentication: ``Authorization: Bearer <key>`` and nothing else (no session cookie, no query key).

``@scoped("letters:read")`` on a view: the key must belong to a client that is not revoked, the call must come
from one of its allowed addresses, the client must hold every named scope, and its rate limit must have room.
Otherwise a problem+json answer: 401 (with ``WWW-Authenticate``), 403, 429 (with ``Retry-After``). The view then
finds the client in ``current_client()`` (also ``g.api_client``; the audit log names it)."""

from __future__ import annotations

import functools
import time

from flask import current_app, g, request
from flask_babel import gettext as _
from limits import parse as parse_limit

from sempelmas.extensions import db, limiter
from sempelmas.models.integration import ApiClient
from sempelmas.services.integration import clients
from sempelmas.web.api.problems import abort_problem

REALM = 'Bearer realm="sempelmas-api"'


def current_client() -> ApiClient | None:
    """The client authenticated for this request (None outside a ``scoped`` view)."""
    return g.get("api_client")


def has_scope(scope: str) -> bool:
    """Whether this request's client holds ``scope`` (for optional widening, e.g. ``letters:pii``)."""
    client = current_client()
    return client is not None and scope in (client.scopes or ())


def _unauthorized(detail: str, slug: str, error: str = "invalid_token"):
    header = REALM if error is None else f'{REALM}, error="{error}"'
    abort_problem(401, _("Tidak terautentikasi"), detail, slug=slug, headers={"WWW-Authenticate": header})


def authenticate() -> ApiClient:
    """The client of this request's Bearer key, or a 401/403 problem. Sets ``g.api_client``."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    if not header:
        abort_problem(401, _("Tidak terautentikasi"), _("Kirim kunci API di header Authorization: Bearer <kunci>."),
                      slug="missing-key", headers={"WWW-Authenticate": REALM})
    if scheme.lower() != "bearer" or not key.strip():
        _unauthorized(_("Header Authorization harus berbentuk: Bearer <kunci>."), "invalid-key", "invalid_request")
    client = clients.find_by_key(key.strip())
    if client is None:
        _unauthorized(_("Kunci API tidak dikenal (mungkin sudah diganti)."), "invalid-key")
    if client.revoked_at is not None:
        _unauthorized(_("Kunci API ini sudah dicabut."), "revoked-key")
    if not clients.source_allowed(client, request.remote_addr):
        abort_problem(403, _("Akses ditolak"), _("Alamat asal panggilan ini tidak diizinkan untuk klien ini."),
                      slug="source-not-allowed", source=request.remote_addr)
    g.api_client = client
    if clients.touch(client, interval_seconds=current_app.config["API_LAST_USED_INTERVAL_SECONDS"]):
        db.session.commit()  # its own small commit, before the view's work
    return client


@functools.cache  # parsed once per process per notation
def _parsed(spec: str):
    return parse_limit(spec)


def throttle(client: ApiClient) -> None:
    """Count this call against the client's limit (its row, else API_RATE_LIMIT): 429 with Retry-After when
    spent. Counted in Flask-Limiter's storage, keyed by the client's id (shared by workers with redis://)."""
    if not limiter.enabled:
        return
    item = _parsed(client.rate_limit or current_app.config["API_RATE_LIMIT"])
    key = str(client.id)
    allowed = limiter.limiter.hit(item, "api", key)
    stats = limiter.limiter.get_window_stats(item, "api", key)
    retry = max(1, int(stats.reset_time - time.time()))
    g.api_rate = (item.amount, stats.remaining, int(stats.reset_time))
    if not allowed:
        abort_problem(429, _("Terlalu banyak permintaan"),
                      _("Batas laju klien ini (%(limit)s) terlampaui; coba lagi setelah %(n)d detik.",
                        limit=str(item), n=retry),
                      slug="rate-limited", headers={"Retry-After": str(retry)})


def scoped(*needed: str):
    """Require a valid key holding every scope in ``needed`` (none: any valid key), then count the call."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            client = authenticate()
            missing = [s for s in needed if s not in (client.scopes or ())]
            if missing:
                abort_problem(403, _("Akses ditolak"),
                              _("Klien ini tidak memiliki cakupan yang diperlukan: %(s)s", s=", ".join(missing)),
                              slug="insufficient-scope", required_scopes=list(needed))
            throttle(client)
            return view(*args, **kwargs)

        # the OpenAPI document: the bearer scheme and the scopes on this operation, and its auth answers
        doc = dict(getattr(view, "_apidoc", {}) or {})
        manual = dict(doc.get("manual_doc", {}))
        manual.setdefault("security", [{"bearerAuth": []}])
        manual["x-scopes"] = list(needed)
        responses = dict(manual.get("responses", {}))
        for code, name in (("401", "UNAUTHORIZED"), ("403", "FORBIDDEN"), ("429", "TOO_MANY_REQUESTS")):
            responses.setdefault(code, name)  # a component's name: apispec makes it a $ref
        manual["responses"] = responses
        doc["manual_doc"] = manual
        wrapper._apidoc = doc
        wrapper.api_scopes = tuple(needed)
        return wrapper

    return decorate
