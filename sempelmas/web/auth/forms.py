from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms import validators as v

from sempelmas.web.forms import Form, length, min_password, required
from sempelmas.web.registration_forms import nik_check


class LoginForm(Form):
    identifier = StringField(_l("NIK, nomor HP, atau nama pengguna"), [required(), length(64)])
    password = PasswordField(_l("Kata sandi"), [required(), length(200)])
    remember = BooleanField(_l("Ingat saya di perangkat ini"))


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Kata sandi saat ini"), [required()])
    password = PasswordField(_l("Kata sandi baru"), [required(), min_password()])
    password2 = PasswordField(_l("Ulangi kata sandi baru"),
                              [required(), v.EqualTo("password", message=_l("Kata sandi tidak sama."))])


class ResetForm(Form):
    nik = StringField(_l("NIK"), [required(), nik_check])
    code = StringField(_l("Kode pemulihan dari petugas"), [required(), length(20)])
    password = PasswordField(_l("Kata sandi baru"), [required(), min_password()])
    password2 = PasswordField(_l("Ulangi kata sandi baru"),
                              [required(), v.EqualTo("password", message=_l("Kata sandi tidak sama."))])
