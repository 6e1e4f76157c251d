"""The registration forms, shared by the auth blueprint (a resident registers) and the resident one (a pendamping
registers a person without a phone)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms import validators as v

from sempelmas.domain import digits
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.phone import PhoneError, normalise
from sempelmas.services.people.account_registration import RegistrationData
from sempelmas.web.forms import Form, length, min_password, required


def nik_check(form, field):
    try:
        field.data = nik_rules.check_format(field.data)
    except nik_rules.NikError as e:
        raise v.ValidationError(e.message) from e


def _kk_check(form, field):
    try:
        field.data = nik_rules.check_kk(field.data)
    except nik_rules.NikError as e:
        raise v.ValidationError(e.message) from e


def _rt_check(form, field):
    number = digits.rt_rw(field.data)
    if number is None:
        raise v.ValidationError(_l("Isi dengan angka, contoh: 001."))
    field.data = number


def _phone_check(form, field):
    try:
        field.data = normalise(field.data)
    except PhoneError as e:
        raise v.ValidationError(str(e)) from e


class RegisterForm(Form):
    nik = StringField(_l("NIK"), [required(), nik_check])
    kk_number = StringField(_l("Nomor KK"), [required(), _kk_check])
    full_name = StringField(_l("Nama lengkap (sesuai KTP)"), [required(), length(120, 2)])
    birth_place = StringField(_l("Tempat lahir"), [required(), length(80)])
    birth_date = DateField(_l("Tanggal lahir"), [required()],
                           render_kw={"max": "2100-01-01"})
    gender = SelectField(_l("Jenis kelamin"), choices=[("", _l("— pilih —")), ("L", _l("Laki-laki")),
                                                        ("P", _l("Perempuan"))], validators=[required()])
    address = StringField(_l("Alamat (jalan, gang, nomor)"), [required(), length(255)])
    rt = StringField(_l("RT"), [required(), _rt_check])
    rw = StringField(_l("RW"), [required(), _rt_check])
    phone = TelField(_l("Nomor HP"), [required(), _phone_check])
    email = EmailField(_l("E-mail (boleh kosong)"), [v.Optional(), v.Email(message=_l("Alamat e-mail tidak valid.")),
                                                     length(254)])
    ktp_photo = FileField(_l("Foto KTP"), [FileRequired(message=_l("Foto KTP wajib diunggah."))])
    password = PasswordField(_l("Kata sandi"), [required(), min_password()])
    password2 = PasswordField(_l("Ulangi kata sandi"),
                              [required(), v.EqualTo("password", message=_l("Kata sandi tidak sama."))])
    consent = BooleanField(
        _l("Saya setuju data pribadi saya diproses oleh kelurahan untuk layanan administrasi, "
           "sesuai kebijakan privasi."),
        [v.DataRequired(message=_l("Persetujuan wajib dicentang untuk mendaftar."))],
    )


    def registration_data(self, ktp_photo: str | None) -> RegistrationData:
        """What the person declared, for ``account_registration.register_resident``."""
        return RegistrationData(
            nik=self.nik.data, kk_number=self.kk_number.data, full_name=self.full_name.data,
            birth_place=self.birth_place.data, birth_date=self.birth_date.data, gender=self.gender.data,
            address=self.address.data, rt=self.rt.data, rw=self.rw.data, phone=self.phone.data or None,
            email=self.email.data or None, password=self.password.data or "", consent=self.consent.data,
            ktp_photo=ktp_photo,
        )


class AssistedRegisterForm(RegisterForm):
    """A pendamping registers a person without a phone: no password or phone needed."""

    phone = TelField(_l("Nomor HP (boleh kosong)"), [v.Optional(), _phone_check])
    ktp_photo = FileField(_l("Foto KTP (boleh kosong)"))
    password = PasswordField(_l("Kata sandi (boleh kosong)"),
                             [v.Optional(), min_password()])
    password2 = PasswordField(_l("Ulangi kata sandi"),
                              [v.EqualTo("password", message=_l("Kata sandi tidak sama."))])
    consent = BooleanField(
        _l("Warga yang didampingi hadir, sudah dijelaskan kebijakan privasi, dan menyetujui pemrosesan "
           "data pribadinya."),
        [v.DataRequired(message=_l("Persetujuan warga wajib dicatat."))],
    )
