"""Admin (and signing officials): the test letter ("Surat uji") of going live: sign one with your own key, see
whether its QR was opened from a phone, download it. The work is in services/letters/test_letter.py."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.test_letters import TestLetter
from sempelmas.services.letters import backends as signer_backends
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import issuing
from sempelmas.services.letters import test_letter as test_letters
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.forms import Form, add_error, length
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404
from sempelmas.web.private_files import send_private
from sempelmas.web.signer.signing_forms import BSRE_PASSPHRASE_HINT, TOTP_HINT, passphrase_or_totp, totp_field

#: the signing desk's wording (web/signer/signing_forms.py), the same messages
PASSPHRASE_HINT = _l("Passphrase tanda tangan Anda sendiri (bukan kata sandi akun). Tidak disimpan oleh sistem.")


class TestLetterForm(Form):
    __test__ = False
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [passphrase_or_totp, length(200)],
                               render_kw={"autocomplete": "off"})
    #: shown only for a BSrE official on the v2 API, as on the letter's signing page
    totp = totp_field()


def _page(form: TestLetterForm | None = None, status: int = 200, message: str | None = None):
    is_signer = current_user.has_role(Role.SIGNER)
    certificate = letter_certs.active_certificate(current_user) if is_signer else None
    official = issuing.official_of(current_user, certificate) if is_signer else None
    bsre = signer_backends.backend_name(official) == signer_backends.BSRE
    return render("admin/test_letter.html", form=form or TestLetterForm(formdata=None), status=status,
                  message=message, items=test_letters.test_letters(), is_signer=is_signer,
                  certificate=certificate, can_sign=bsre or certificate is not None,  # BSrE holds the key
                  capabilities=signer_backends.capabilities_of(official), totp_hint=TOTP_HINT,
                  verified=test_letters.test_letter_verified, opened=test_letters.test_letter_opened,
                  verify_url=issuing.verify_url, passphrase_hint=BSRE_PASSPHRASE_HINT if bsre else PASSPHRASE_HINT)


@bp.get("/surat-uji")
@role_required(Role.ADMIN, Role.SIGNER)
def test_letter():
    return _page()


@bp.post("/surat-uji")
@role_required(Role.SIGNER)
def test_letter_sign():
    form = TestLetterForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _page(form, 422, _("Periksa kembali isian yang ditandai."))
    try:
        made = test_letters.issue_test_letter(current_user, form.passphrase.data, totp=form.totp.data)
    except letter_ca.PkiError as e:
        db.session.rollback()
        if isinstance(e, letter_ca.WrongPassphrase):
            add_error(form, "passphrase", e.message)
        status = 429 if isinstance(e, letter_ca.TooManyAttempts) else 422 if isinstance(
            e, letter_ca.WrongPassphrase) else 409
        return _page(form, status, e.message)
    except (issuing.IssueError, LetterRenderError) as e:
        db.session.rollback()
        return _page(form, 409, e.message)
    flash(_("Surat uji %(n)s ditandatangani. Pindai kode QR-nya dengan HP untuk membuka halaman verifikasi.",
            n=made.number), "success")
    return redirect(url_for("admin.test_letter"), code=303)


@bp.get("/surat-uji/<int:letter_id>.pdf")
@role_required(Role.ADMIN, Role.SIGNER)
def test_letter_pdf(letter_id: int):
    found = get_or_404(TestLetter, letter_id)
    return send_private(found.pdf, mimetype="application/pdf", filename=f"surat-uji-{found.sequence:03d}.pdf")
