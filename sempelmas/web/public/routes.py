"""Pages anyone may open: the landing page, the service catalogue, privacy notice, language switch, logo."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from flask import Blueprint, abort, current_app, make_response, redirect, request, url_for
from flask_login import current_user

from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.people import preferences
from sempelmas.services.requests import catalogue
from sempelmas.web.htmx import render
from sempelmas.web.i18n import set_language_cookie
from sempelmas.web.redirects import safe_next

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render("public/index.html")


@bp.get("/privasi")
def privacy():
    from sempelmas.services.accountability import data_rights

    return render("public/privacy.html", **data_rights.privacy_facts())


@bp.post("/bahasa")
def set_language():
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    preferences.remember_language(current_user, lang)
    return set_language_cookie(redirect(safe_next(request.form.get("next")) or url_for("public.index"), code=303),
                               lang)


@bp.get("/profil/logo")
def logo():
    stored = profile_service.logo()
    if stored is None:
        abort(404)
    resp = make_response(stored[0])
    resp.headers["Content-Type"] = stored[1]
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/layanan")
def services():
    return render("public/services.html", services=catalogue.enabled_services())


@bp.get("/layanan/<code>")
def service(code: str):
    svc = catalogue.get_service(code)
    if svc is None:
        abort(404)
    return render("public/service.html", service=svc)


def _ca_download(data_of, mime: str, filename: str):
    from sempelmas.services.letters import ca as letter_ca

    try:
        data = data_of()
    except letter_ca.PkiError:
        abort(404)
    resp = make_response(data)
    resp.headers["Content-Type"] = mime
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.get("/ca-kelurahan.pem")
def ca_pem():
    """The kelurahan CA certificate (PEM) that verifiers import to trust its letters' signatures."""
    from sempelmas.services.letters import ca as letter_ca

    return _ca_download(letter_ca.ca_pem, "application/x-pem-file", "ca-kelurahan.pem")


@bp.get("/ca-kelurahan.crt")
def ca_der():
    from sempelmas.services.letters import ca as letter_ca

    return _ca_download(letter_ca.ca_der, "application/pkix-cert", "ca-kelurahan.crt")


@bp.get("/ca-kelurahan.cer")
def ca_cer():
    """The same DER certificate under the extension Windows and Adobe Reader's import dialog expect."""
    from sempelmas.services.letters import ca as letter_ca

    return _ca_download(letter_ca.ca_der, "application/pkix-cert", "ca-kelurahan.cer")


@bp.get("/ca-kelurahan.fdf")
def ca_fdf():
    """The CA as Adobe's certificate-exchange FDF: Reader imports it with its trust settings."""
    from sempelmas.services.letters import ca_public

    return _ca_download(ca_public.ca_fdf, "application/vnd.fdf", "ca-kelurahan.fdf")


@bp.get("/ca-kelurahan")
def ca_page():
    """How a reader trusts the kelurahan CA in Adobe Reader (a kelurahan CA cannot be on Adobe's list)."""
    from sempelmas.services.letters import ca as letter_ca

    if not letter_ca.has_ca():
        abort(404)
    cert = letter_ca.ca_certificate()
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return render("public/ca.html", ca=cert, fingerprint=fingerprint)


@bp.get("/pki/kelurahan.crl")
def crl():
    """The kelurahan CA's certificate revocation list (DER), named in every certificate it issues."""
    from sempelmas.services.letters import ca as letter_ca
    from sempelmas.services.letters import ca_public

    try:
        data = ca_public.crl_der()
    except letter_ca.PkiError:
        abort(404)
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pkix-crl"
    resp.headers["Cache-Control"] = "public, max-age=600"  # a revocation reaches validators within minutes
    return resp
