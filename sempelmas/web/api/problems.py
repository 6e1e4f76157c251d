"""The API's errors as ``application/problem+json`` (RFC 9457): {type, title, status, detail, ...}.

``type`` is a stable URI per kind of problem (``PROBLEM_BASE`` + a slug); clients branch on it, never on the
title, which is for people and may be translated. It is a relative reference to the problem's entry on this
instance's reference page: the same string on every kelurahan's server, and it resolves (against the API's own
address) to documentation the instance serves, not to a domain the project may not hold."""

from __future__ import annotations

from flask import json, make_response
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

PROBLEM_BASE = "/api/v1/docs#problem-"
MEDIA_TYPE = "application/problem+json"

#: status → the slug of its ``type`` when the code raising it names none
SLUGS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    406: "not-acceptable", 409: "conflict", 410: "gone", 412: "precondition-failed", 413: "too-large",
    415: "unsupported-media-type", 422: "validation", 428: "precondition-required", 429: "rate-limited",
    500: "server-error", 503: "unavailable",
}


#: the problems the API's own machinery raises (resources may add their own slugs), for the reference page
KNOWN = {
    "missing-key": (401, _l("Tanpa header Authorization")),
    "invalid-key": (401, _l("Bukan 'Bearer <kunci>', kunci tidak dikenal, atau kunci lama setelah diganti")),
    "revoked-key": (401, _l("Klien sudah dicabut")),
    "insufficient-scope": (403, _l("Klien tidak memiliki cakupan yang diperlukan (required_scopes)")),
    "source-not-allowed": (403, _l("Alamat asal di luar jaringan yang diizinkan untuk klien (source)")),
    "not-found": (404, _l("Alamat atau data tidak ada")),
    "method-not-allowed": (405, _l("Metode tidak tersedia; lihat header Allow")),
    "validation": (422, _l("Isian tidak valid; 'errors' per lokasi (query, json) dan kolom")),
    "rate-limited": (429, _l("Batas laju klien terlampaui; lihat header Retry-After")),
    # the resources' own
    "invalid-cursor": (400, _l("Kursor halaman diubah atau dari daftar lain; pakai next_cursor apa adanya")),
    "conflict": (409, _l("Batch lain menyimpan NIK yang sama pada saat yang sama; kirim ulang")),
    "batch-too-large": (413, _l("Batch melebihi jumlah baris maksimum (max_rows)")),
}


def type_uri(slug: str) -> str:
    return PROBLEM_BASE + slug


class Problem(HTTPException):
    """An HTTP error carrying its problem body (raised by ``abort_problem``)."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(body.get("detail") or body.get("title"))
        self.code = status
        self.body = body
        self.extra_headers = headers or {}

    def get_response(self, environ=None, scope=None):
        return problem_response(self.body, self.extra_headers)


def problem_body(status: int, title: str, detail: str | None = None, *, slug: str | None = None, **extra) -> dict:
    body = {"type": type_uri(slug or SLUGS.get(status, "error")), "title": str(title), "status": status}
    if detail:
        body["detail"] = str(detail)
    body.update(extra)
    return body


def problem_response(body: dict, headers: dict | None = None):
    resp = make_response(json.dumps(body, ensure_ascii=False), body["status"])
    resp.mimetype = MEDIA_TYPE
    resp.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def abort_problem(status: int, title: str, detail: str | None = None, *, slug: str | None = None,
                  headers: dict | None = None, **extra):
    """Stop the request with a problem+json answer. ``slug`` names the problem's ``type`` (default: per status);
    ``extra`` members go into the body (e.g. ``errors`` for a 422, ``scope`` for a 403)."""
    raise Problem(status, problem_body(status, title, detail, slug=slug, **extra), headers)


def from_http_exception(e: HTTPException):
    """A problem answer for any HTTP error raised under /api/v1 (a 404, flask-smorest's 422 with its field
    errors in ``errors``, Flask-Limiter's 429 with ``Retry-After``)."""
    if isinstance(e, Problem):
        return e.get_response()
    body = problem_body(e.code or 500, e.name, e.description if e.code != 500 else None)
    headers = {}
    data = getattr(e, "data", None) or {}  # flask-smorest's abort(...) puts its details here
    if data.get("messages") or data.get("errors"):
        body["errors"] = data.get("errors") or data.get("messages")
        body["detail"] = "Data yang dikirim tidak valid; lihat 'errors' per bagian dan kolom."
    if data.get("message"):
        body["detail"] = str(data["message"])
    headers.update(data.get("headers") or {})
    retry = getattr(e, "retry_after", None)
    if isinstance(retry, int):
        headers["Retry-After"] = str(retry)
    for name, value in e.get_headers():  # Allow on a 405, WWW-Authenticate, Retry-After set by the raiser
        if name.lower() != "content-type":
            headers.setdefault(name, value)
    return problem_response(body, headers)
