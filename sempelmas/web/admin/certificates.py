"""Admin: the officials' signing certificates (list, revoke)."""

from __future__ import annotations

import contextlib

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import TextAreaField

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.letters import SigningCertificate
from sempelmas.models.profile import Official
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.forms import Form, length, required
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404


class RevokeCertificateForm(Form):
    reason = TextAreaField(_l("Alasan pencabutan"), [required(), length(500)])


def _page(form: RevokeCertificateForm | None = None, failed_id: int | None = None, status: int = 200):
    rows = db.session.execute(
        select(SigningCertificate, Official, User)
        .join(User, User.id == SigningCertificate.user_id)
        .outerjoin(Official, Official.id == SigningCertificate.official_id)
        .order_by(SigningCertificate.created_at.desc(), SigningCertificate.id.desc())
    ).all()
    now = utcnow()
    items = [{"cert": c, "official": o, "user": u, "status": letter_certs.certificate_status(c, now)}
             for c, o, u in rows]
    ca = None
    with contextlib.suppress(letter_ca.PkiError):
        ca = letter_ca.ca_certificate()
    return render("admin/certificates.html", items=items, ca=ca, form=form or RevokeCertificateForm(),
                  failed_id=failed_id, status=status)


@bp.get("/sertifikat")
@role_required(Role.ADMIN)
def certificates():
    return _page()


@bp.post("/sertifikat/<int:cert_id>/cabut")
@role_required(Role.ADMIN)
def certificate_revoke(cert_id: int):
    cert = get_or_404(SigningCertificate, cert_id)
    form = RevokeCertificateForm()
    if form.validate_on_submit():
        try:
            letter_certs.revoke_certificate(cert, current_user._get_current_object(), form.reason.data)
        except letter_ca.PkiError as e:
            db.session.rollback()
            form.reason.errors = [e.message]
        else:
            db.session.commit()
            flash(_("Sertifikat %(serial)s dicabut. Pejabat membuat passphrase baru untuk mendapatkan sertifikat "
                    "baru.", serial=cert.serial[:16]), "success")
            return redirect(url_for("admin.certificates"), code=303)
    return _page(form, failed_id=cert_id, status=422)
