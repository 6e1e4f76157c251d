"""Signing forms. The passphrase lives only in the POST that uses it: never stored, logged or put in the
session, and never written back into a page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectMultipleField, StringField, TextAreaField
from wtforms import validators as v
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from sempelmas.web.forms import REQUIRED, Form, IntegerField, length, required

PASSPHRASE_HINT = _l("Passphrase tanda tangan Anda sendiri (bukan kata sandi akun). Tidak disimpan oleh sistem.")
BSRE_PASSPHRASE_HINT = _l("Passphrase sertifikat BSrE Anda: dikirim ke BSrE untuk surat ini saja, tidak disimpan "
                          "oleh sistem.")
TOTP_HINT = _l("Atau kode TOTP 6 digit dari aplikasi autentikator BSrE Anda, sebagai ganti passphrase.")


def passphrase_or_totp(form, field):
    """The passphrase is required, unless a TOTP was given (BSrE v2; the field is only shown then)."""
    totp = getattr(form, "totp", None)
    if (field.data or "") or (totp is not None and (totp.data or "").strip()):
        return
    raise v.StopValidation(REQUIRED)


def _totp_field():
    return StringField(_l("Kode TOTP BSrE"), [v.Optional(), v.Regexp(r"^\s*\d{6,8}\s*$",
                                                                      message=_l("Kode TOTP 6–8 angka."))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


#: the TOTP field of every signing form (the admin's test letter form too: web/admin/test_letter.py)
totp_field = _totp_field


class SignForm(Form):
    version = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(message=_l("Formulir tidak lengkap; muat ulang halaman."))])
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [passphrase_or_totp, length(200)],
                               render_kw={"autocomplete": "off"})
    totp = _totp_field()


class SendBackForm(Form):
    version = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(message=_l("Formulir tidak lengkap; muat ulang halaman."))])
    reason = TextAreaField(_l("Alasan dikembalikan"), [required(), length(1000)],
                           description=_l("Petugas akan membaca alasan ini dan memperbaiki suratnya."))


class BatchForm(Form):
    selected = SelectMultipleField(_l("Surat yang ditandatangani"), choices=[], validate_choice=False)
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [required(), length(200)],
                               render_kw={"autocomplete": "off"})


class ReplaceForm(Form):
    reason = TextAreaField(_l("Alasan penggantian"), [required(), length(500)],
                           description=_l("Dicatat dalam jejak audit bersama kedua nomor surat."))
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [passphrase_or_totp, length(200)],
                               render_kw={"autocomplete": "off"})
    totp = _totp_field()
