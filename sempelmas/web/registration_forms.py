"""The registration forms, shared by the auth blueprint (a resident registers) and the resident one (a pendamping
registers a person without a phone)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField, TelField
from wtforms import validators as v
from wtforms.widgets import PasswordInput

from sempelmas.domain import digits
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.phone import PhoneError, normalise
from sempelmas.services.people import account_registration
from sempelmas.services.people.account_registration import FROM_REGISTER, RegistrationData
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


#: where the register stands on the NIK, KK number and birth date typed (``RegisterForm.register_state``)
UNKNOWN = "unknown"  # not all three valid yet: nothing asked, nothing said
FOUND = "found"  # an entry matches all three: birth place, gender, address, RT and RW come from it
MISSING = "missing"  # no entry matches: the person types them


def _asked_unless_in_register(form, field):
    """Birth place, gender, address, RT and RW are asked only when the register cannot give them."""
    if form.register_state != MISSING:
        field.errors[:] = []
        raise v.StopValidation()


def _photo_given(form, field):
    """A KTP photo: picked now, or held from an earlier submit of this form (its token)."""
    if getattr(field.data, "filename", "") or form.ktp_token.data:
        return
    raise v.StopValidation(_l("Foto KTP wajib diunggah."))


_photo_given.field_flags = {"required": True}

#: a password typed well is shown again after an error elsewhere (``RegisterForm.forget_bad_passwords``)
_KEPT = PasswordInput(hide_value=False)


class RegisterForm(Form):
    nik = StringField(_l("NIK"), [required(), nik_check])
    kk_number = StringField(_l("Nomor KK"), [required(), _kk_check])
    full_name = StringField(_l("Nama lengkap (sesuai KTP)"), [required(), length(120, 2)])
    birth_place = StringField(_l("Tempat lahir"), [_asked_unless_in_register, required(), length(80)])
    birth_date = DateField(_l("Tanggal lahir"), [required()],
                           render_kw={"max": "2100-01-01"})
    gender = SelectField(_l("Jenis kelamin"), choices=[("", _l("— pilih —")), ("L", _l("Laki-laki")),
                                                        ("P", _l("Perempuan"))],
                         validators=[_asked_unless_in_register, required()])
    address = StringField(_l("Alamat (jalan, gang, nomor)"), [_asked_unless_in_register, required(), length(255)])
    rt = StringField(_l("RT"), [_asked_unless_in_register, required(), _rt_check])
    rw = StringField(_l("RW"), [_asked_unless_in_register, required(), _rt_check])
    phone = TelField(_l("Nomor HP"), [required(), _phone_check])
    email = EmailField(_l("E-mail (boleh kosong)"), [v.Optional(), v.Email(message=_l("Alamat e-mail tidak valid.")),
                                                     length(254)])
    ktp_photo = FileField(_l("Foto KTP"), [_photo_given])
    #: names a photo held from an earlier submit (services/people/registration_uploads.py)
    ktp_token = HiddenField()
    password = PasswordField(_l("Kata sandi"), [required(), min_password()], widget=_KEPT)
    password2 = PasswordField(_l("Ulangi kata sandi"),
                              [required(), v.EqualTo("password", message=_l("Kata sandi tidak sama."))], widget=_KEPT)
    consent = BooleanField(
        _l("Saya setuju data pribadi saya diproses oleh kelurahan untuk layanan administrasi, "
           "sesuai kebijakan privasi."),
        [v.DataRequired(message=_l("Persetujuan wajib dicentang untuk mendaftar."))],
    )

    #: UNKNOWN, FOUND or MISSING (``check_register``)
    register_state = UNKNOWN
    #: the RegistrationUpload held for this form, once the view has found or made it
    held_photo = None

    def check_register(self) -> str:
        """Whether the register knows the person by the NIK, KK number and birth date typed (nothing of the
        entry is kept on the form: the page shows only that it was found)."""
        try:
            nik = nik_rules.check_format(self.nik.data or "")
            kk = nik_rules.check_kk(self.kk_number.data or "")
        except nik_rules.NikError:
            self.register_state = UNKNOWN
            return self.register_state
        if not isinstance(self.birth_date.data, date):
            self.register_state = UNKNOWN
        elif account_registration.register_entry(nik, kk, self.birth_date.data) is not None:
            self.register_state = FOUND
        else:
            self.register_state = MISSING
        return self.register_state

    @property
    def asks_register_data(self) -> bool:
        """Show birth place, gender, address, RT and RW: the register cannot give them, or they were typed
        already (kept while the NIK is being corrected)."""
        if self.register_state == FOUND:
            return False
        return self.register_state == MISSING or any(self[name].data for name in FROM_REGISTER)

    @property
    def register_view(self) -> str:
        """What the register part of the page shows: "found", "asked" (the fields) or "none" (a hint)."""
        return "found" if self.register_state == FOUND else "asked" if self.asks_register_data else "none"

    def validate(self, extra_validators=None) -> bool:
        self.check_register()
        ok = super().validate(extra_validators)
        self.forget_bad_passwords()
        return ok

    def forget_bad_passwords(self) -> None:
        """Passwords that are the problem are cleared; passwords typed well stay for the next submit."""
        if self.password.errors or self.password2.errors:
            for f in (self.password, self.password2):
                f.data = ""
                f.raw_data = []

    def registration_data(self, ktp_photo: str | None) -> RegistrationData:
        """What the person declared, for ``account_registration.register_resident`` (without what the register
        gives when it knows the person)."""
        known = self.register_state == FOUND
        return RegistrationData(
            nik=self.nik.data, kk_number=self.kk_number.data, full_name=self.full_name.data,
            birth_place=None if known else self.birth_place.data, birth_date=self.birth_date.data,
            gender=None if known else self.gender.data, address=None if known else self.address.data,
            rt=None if known else self.rt.data, rw=None if known else self.rw.data, phone=self.phone.data or None,
            email=self.email.data or None, password=self.password.data or "", consent=self.consent.data,
            ktp_photo=ktp_photo,
        )


class AssistedRegisterForm(RegisterForm):
    """A pendamping registers a person without a phone: no password or phone needed."""

    phone = TelField(_l("Nomor HP (boleh kosong)"), [v.Optional(), _phone_check])
    ktp_photo = FileField(_l("Foto KTP (boleh kosong)"))
    password = PasswordField(_l("Kata sandi (boleh kosong)"),
                             [v.Optional(), min_password()], widget=_KEPT)
    password2 = PasswordField(_l("Ulangi kata sandi"),
                              [v.EqualTo("password", message=_l("Kata sandi tidak sama."))], widget=_KEPT)
    consent = BooleanField(
        _l("Warga yang didampingi hadir, sudah dijelaskan kebijakan privasi, dan menyetujui pemrosesan "
           "data pribadinya."),
        [v.DataRequired(message=_l("Persetujuan warga wajib dicatat."))],
    )
