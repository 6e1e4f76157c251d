"""Shared form pieces: Indonesian messages and the empty form for button-only POSTs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import validators

REQUIRED = _l("Wajib diisi.")


def required():
    return validators.InputRequired(message=REQUIRED)


def length(max_len: int, min_len: int = -1):
    return validators.Length(min=min_len, max=max_len,
                             message=_l("Panjang isian %(min)d–%(max)d karakter.", min=max(min_len, 0),
                                        max=max_len))


def min_password():
    return validators.Length(min=8, message=_l("Kata sandi minimal 8 karakter."))


class EmptyForm(FlaskForm):
    """Buttons that change state still carry a CSRF token."""


def add_error(form: FlaskForm, field: str | None, message: str) -> None:
    """Attach a service's refusal to the field it names (or the whole form)."""
    target = getattr(form, field, None) if field else None
    if target is not None:
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]
    else:
        form.form_errors.append(message)
