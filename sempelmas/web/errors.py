"""Friendly error pages; an unexpected error rolls the transaction back and shows no trace."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from sempelmas.extensions import db
from sempelmas.web.htmx import render
from sempelmas.web.security import UnreadableInput


def _page(code: int, title: str, message: str):
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title), code
    return render("errors/error.html", status=code, code=code, title=title, message=message)


def register(app: Flask) -> None:
    @app.errorhandler(400)
    def bad_request(e):
        return _page(400, _("Permintaan tidak valid"), _("Data yang dikirim tidak dapat diproses."))

    @app.errorhandler(UnreadableInput)
    def unreadable_input(e):
        return _page(400, _("Permintaan tidak valid"),
                     _("Alamat yang dibuka berisi karakter yang tidak dapat diproses. Buka halaman dari tautan "
                       "atau menu aplikasi."))

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _page(
            400,
            _("Sesi formulir kedaluwarsa"),
            _("Formulir ini tidak dapat diproses karena token keamanannya tidak valid. "
              "Muat ulang halaman lalu coba lagi."),
        )

    @app.errorhandler(403)
    def forbidden(e):
        return _page(403, _("Akses ditolak"), _("Anda tidak memiliki hak untuk membuka halaman ini."))

    @app.errorhandler(404)
    def not_found(e):
        return _page(404, _("Halaman tidak ditemukan"),
                     _("Alamat yang Anda buka tidak ada atau sudah dipindahkan."))

    @app.errorhandler(405)
    def not_allowed(e):
        return _page(405, _("Metode tidak diizinkan"), _("Tindakan ini tidak tersedia di alamat ini."))

    @app.errorhandler(413)
    def too_large(e):
        return _page(413, _("Berkas terlalu besar"), _("Ukuran kiriman melebihi batas yang diizinkan."))

    @app.errorhandler(429)
    def too_many(e):
        resp = make_response(_page(429, _("Terlalu banyak percobaan"),
                                   _("Terlalu banyak permintaan dari perangkat Anda. "
                                     "Tunggu beberapa menit lalu coba lagi.")))
        if isinstance(getattr(e, "retry_after", None), int):  # our own limits say when to come back
            resp.headers["Retry-After"] = str(e.retry_after)
        return resp

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return _page(500, _("Terjadi kesalahan"),
                     _("Maaf, terjadi kesalahan di server. Tidak ada data yang tersimpan setengah jadi. "
                       "Silakan coba lagi."))
