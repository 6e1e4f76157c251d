"""Shared form pieces: Indonesian messages and the empty form for button-only POSTs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField as _WTFIntegerField
from wtforms import PasswordField, StringField, TextAreaField, validators

from sempelmas.domain import digits
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db

T = TypeVar("T")

REQUIRED = _l("Wajib diisi.")


def required():
    return validators.InputRequired(message=REQUIRED)


def length(max_len: int, min_len: int = -1):
    return validators.Length(min=min_len, max=max_len,
                             message=_l("Panjang isian %(min)d–%(max)d karakter.", min=max(min_len, 0),
                                        max=max_len))


#: WTForms' own message, translated through WTFORMS_MESSAGES like the ones its fields raise
_NOT_AN_INTEGER = "Not a valid integer value."


class IntegerField(_WTFIntegerField):
    """WTForms' IntegerField, read by the digits rule: full-width digits count, superscripts and other scripts'
    digits do not, and a number too large for the database's integer is refused instead of crashing the save."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = valuelist[0]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            self.data = None
            return
        text = digits.normalise(str(raw)).strip()
        negative = text.startswith("-")
        number = digits.to_int(text[1:] if negative else text)
        if number is None:
            self.data = None
            raise ValueError(self.gettext(_NOT_AN_INTEGER))
        self.data = -number if negative else number


def digit_string(length: int, message):
    """A field of exactly ``length`` digits (NIP, postcode): NFKC-normalised, stored as ASCII 0–9."""

    def check(form, field):
        if not (field.data or "").strip():
            return
        value = digits.fixed_length(field.data, length)
        if value is None:
            raise validators.ValidationError(message)
        field.data = value

    return check


def rt_rw_number(message):
    """RT or RW: 1–3 digits, stored with three ("1" → "001")."""

    def check(form, field):
        if not (field.data or "").strip():
            return
        value = digits.rt_rw(field.data)
        if value is None:
            raise validators.ValidationError(message)
        field.data = value

    return check


def min_password():
    return validators.Length(min=8, message=_l("Kata sandi minimal 8 karakter."))


# WTForms ships no Indonesian catalogue: its built-in messages are translated here.
WTFORMS_MESSAGES = {
    "This field is required.": _l("Wajib diisi."),
    "Not a valid date value.": _l("Tanggal tidak valid; pilih dari kalender atau tulis HH-BB-TTTT."),
    "Not a valid datetime value.": _l("Tanggal dan jam tidak valid."),
    "Not a valid time value.": _l("Jam tidak valid."),
    "Not a valid integer value.": _l("Harus berupa bilangan bulat."),
    "Not a valid decimal value.": _l("Harus berupa angka."),
    "Not a valid float value.": _l("Harus berupa angka."),
    "Not a valid choice.": _l("Pilihan tidak valid."),
    "Invalid Choice: could not coerce.": _l("Pilihan tidak valid."),
    "Choices cannot be None.": _l("Pilihan tidak valid."),
    "Invalid input.": _l("Isian tidak valid."),
    "Invalid email address.": _l("Alamat e-mail tidak valid."),
    "Invalid URL.": _l("Alamat situs tidak valid."),
    "The CSRF token is missing.": _l("Token keamanan formulir hilang; muat ulang halaman."),
    "The CSRF token is invalid.": _l("Token keamanan formulir tidak valid; muat ulang halaman."),
    "The CSRF token has expired.": _l("Token keamanan formulir kedaluwarsa; muat ulang halaman."),
    "The CSRF tokens do not match.": _l("Token keamanan formulir tidak cocok; muat ulang halaman."),
}


class _Translations:
    def gettext(self, message):
        return str(WTFORMS_MESSAGES.get(message, message))

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


def _clean_line(value):
    return clean_text(value) if isinstance(value, str) else value


def _clean_lines(value):
    return clean_text(value, multiline=True) if isinstance(value, str) else value


class Form(FlaskForm):
    """Base of every SemPelMas form: WTForms' own messages in the user's language, and typed text cleaned of
    control and invisible characters before any validator sees it (sempelmas/domain/text.py). Passwords are
    taken exactly as typed: they are only hashed, never shown."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _Translations()

        def bind_field(self, form, unbound_field, options):
            cls = unbound_field.field_class
            if issubclass(cls, StringField) and not issubclass(cls, PasswordField):
                cleaner = _clean_lines if issubclass(cls, TextAreaField) else _clean_line
                options = {**options, "filters": [cleaner, *unbound_field.kwargs.get("filters", ())]}
            return super().bind_field(form, unbound_field, options)


class EmptyForm(Form):
    """Buttons that change state still carry a CSRF token."""


def add_error(form: FlaskForm, field: str | None, message: str) -> None:
    """Attach a service's refusal to the field it names (or the whole form)."""
    target = getattr(form, field, None) if field else None
    if target is not None:
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]
    else:
        form.form_errors.append(message)



def form_status(form: FlaskForm) -> int:
    """The one status of a form page: 422 when the form (or a service, through ``add_error``) refused something,
    for htmx and whole pages alike (static/js/app.js swaps a 422 answer), else 200."""
    return 422 if form.errors else 200


def save_form(form: FlaskForm, action: Callable[[], T], refusal: type[Exception]) -> tuple[bool, T | None]:
    """Run ``action`` (the service call a valid form asks for) and commit: (True, its result). When the service
    refuses (a ``refusal``, which names a ``field`` and gives a ``message``): roll back, put the message on the
    field (``add_error``) and return (False, None)."""
    try:
        result = action()
    except refusal as e:
        db.session.rollback()
        add_error(form, e.field, e.message)
        return False, None
    db.session.commit()
    return True, result
