"""Friendly error pages; an unexpected error rolls the transaction back and shows no trace."""

from __future__ import annotations

import functools

from flask import Flask, jsonify, make_response, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from sempelmas.extensions import db
from sempelmas.web import api
from sempelmas.web.api import problems
from sempelmas.web.htmx import render
from sempelmas.web.security import UnreadableInput


def _page(code: int, title: str, message: str):
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title), code
    return render("errors/error.html", status=code, code=code, title=title, message=message)


def _api_first(handler):
    """Under /api/v1 the error is answered as problem+json (``web/api/problems.py``), not as the site's page."""
    @functools.wraps(handler)
    def wrapper(e):
        if not api.is_api_request():
            return handler(e)
        if not isinstance(e, HTTPException) or (e.code or 500) >= 500:
            db.session.rollback()
            e = e if isinstance(e, HTTPException) else InternalServerError()
        return problems.from_http_exception(e)

    return wrapper


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def any_other(e):
        # errors without a page of their own (401, 409, 412, 415, 422, …): problem+json under /api/v1,
        # werkzeug's own answer elsewhere (as before the API); a 304 is no error
        if api.is_api_request() and (e.code or 0) >= 400:
            return problems.from_http_exception(e)
        return e

    @app.errorhandler(400)
    @_api_first
    def bad_request(e):
        return _page(400, _("Permintaan tidak valid"), _("Data yang dikirim tidak dapat diproses."))

    @app.errorhandler(UnreadableInput)
    @_api_first
    def unreadable_input(e):
        return _page(400, _("Permintaan tidak valid"),
                     _("Alamat yang dibuka berisi karakter yang tidak dapat diproses. Buka halaman dari tautan "
                       "atau menu aplikasi."))

    @app.errorhandler(CSRFError)
    @_api_first
    def csrf_error(e):
        return _page(
            400,
            _("Sesi formulir kedaluwarsa"),
            _("Formulir ini tidak dapat diproses karena token keamanannya tidak valid. "
              "Muat ulang halaman lalu coba lagi."),
        )

    @app.errorhandler(403)
    @_api_first
    def forbidden(e):
        return _page(403, _("Akses ditolak"), _("Anda tidak memiliki hak untuk membuka halaman ini."))

    @app.errorhandler(404)
    @_api_first
    def not_found(e):
        return _page(404, _("Halaman tidak ditemukan"),
                     _("Alamat yang Anda buka tidak ada atau sudah dipindahkan."))

    @app.errorhandler(405)
    @_api_first
    def not_allowed(e):
        return _page(405, _("Metode tidak diizinkan"), _("Tindakan ini tidak tersedia di alamat ini."))

    @app.errorhandler(413)
    @_api_first
    def too_large(e):
        return _page(413, _("Berkas terlalu besar"), _("Ukuran kiriman melebihi batas yang diizinkan."))

    @app.errorhandler(429)
    @_api_first
    def too_many(e):
        resp = make_response(_page(429, _("Terlalu banyak percobaan"),
                                   _("Terlalu banyak permintaan dari perangkat Anda. "
                                     "Tunggu beberapa menit lalu coba lagi.")))
        if isinstance(getattr(e, "retry_after", None), int):  # our own limits say when to come back
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp

    @app.errorhandler(500)
    @_api_first
    def server_error(e):
        db.session.rollback()
        return _page(500, _("Terjadi kesalahan"),
                     _("Maaf, terjadi kesalahan di server. Tidak ada data yang tersimpan setengah jadi. "
                       "Silakan coba lagi."))
