"""Signing officials: the signing key (passphrase and certificate); the signing queue arrives with the letters."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.letters import backends as signer_backends
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.web.access import role_required
from sempelmas.web.forms import add_error, form_status
from sempelmas.web.htmx import render
from sempelmas.web.signer.blueprint import bp
from sempelmas.web.signer.forms import ChangePassphraseForm, SetupPassphraseForm
from sempelmas.web.signer.signing import queue_context


@bp.get("/")
@role_required(Role.SIGNER)
def home():
    return render("signer/queue.html", **queue_context())


@bp.route("/kunci", methods=["GET", "POST"])
@role_required(Role.SIGNER)
def key():
    """First time: account password + new passphrase → certificate. Afterwards: change the passphrase."""
    user = current_user._get_current_object()
    official = letter_certs.official_for(user)
    if signer_backends.backend_name(official) == signer_backends.BSRE:
        # their key lives at BSrE: nothing to set up here, and no kelurahan-CA certificate is issued for them
        if request.method == "POST":
            flash(_("Pejabat ini menandatangani melalui BSrE: kunci dan passphrase dikelola di BSrE."), "error")
            return redirect(url_for("signer.key"), code=303)
        return render("signer/key.html", form=None, certificate=None, official=official, history=[],
                      has_ca=letter_ca.has_ca(), status=200, bsre=True)
    cert = letter_certs.active_certificate(user)
    form = ChangePassphraseForm() if cert is not None else SetupPassphraseForm()
    if form.validate_on_submit():
        try:
            if cert is None:
                cert = letter_certs.setup_signing(user, form.account_password.data, form.passphrase.data)
                message = _("Sertifikat tanda tangan sudah diterbitkan. Ingat passphrase Anda: tanpa itu surat "
                            "tidak dapat ditandatangani.")
            else:
                letter_certs.change_passphrase(user, form.old_passphrase.data, form.new_passphrase.data)
                message = _("Passphrase tanda tangan sudah diganti.")
        except (letter_ca.WrongPassphrase, letter_ca.TooManyAttempts) as e:
            db.session.commit()  # the failure stays counted
            add_error(form, e.field, e.message)
            cert = letter_certs.active_certificate(user)
        except letter_ca.PkiError as e:
            db.session.rollback()
            add_error(form, e.field, e.message)
            cert = letter_certs.active_certificate(user)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("signer.key"), code=303)
    status = form_status(form)
    return render("signer/key.html", form=form, certificate=cert, official=letter_certs.official_for(user),
                  history=letter_certs.certificates_of(user), has_ca=letter_ca.has_ca(), status=status)


