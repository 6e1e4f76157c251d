"""Signer forms: the signing passphrase (first setup, change)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms import validators as v

from sempelmas.web.forms import Form, required

_MIN = v.Length(min=10, message=_l("Passphrase tanda tangan minimal 10 karakter."))
_SAME = _l("Passphrase tidak sama.")


class SetupPassphraseForm(Form):
    account_password = PasswordField(_l("Kata sandi akun Anda"), [required()])
    passphrase = PasswordField(_l("Passphrase tanda tangan baru"), [required(), _MIN])
    passphrase2 = PasswordField(_l("Ulangi passphrase"), [required(), v.EqualTo("passphrase", message=_SAME)])


class ChangePassphraseForm(Form):
    old_passphrase = PasswordField(_l("Passphrase saat ini"), [required()])
    new_passphrase = PasswordField(_l("Passphrase baru"), [required(), _MIN])
    new_passphrase2 = PasswordField(_l("Ulangi passphrase baru"),
                                    [required(), v.EqualTo("new_passphrase", message=_SAME)])
