"""Signing forms. The passphrase lives only in the POST that uses it: never stored, logged or put in the
session, and never written back into a page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from sempelmas.web.forms import Form, IntegerField, length, required

PASSPHRASE_HINT = _l("Passphrase tanda tangan Anda sendiri (bukan kata sandi akun). Tidak disimpan oleh sistem.")


class SignForm(Form):
    version = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(message=_l("Formulir tidak lengkap; muat ulang halaman."))])
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [required(), length(200)],
                               render_kw={"autocomplete": "off"})


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
    passphrase = PasswordField(_l("Passphrase tanda tangan"), [required(), length(200)],
                               render_kw={"autocomplete": "off"})
