"""Forms of the RT/RW heads' screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms import validators as v
from wtforms.widgets import HiddenInput

from sempelmas.web.forms import REQUIRED, Form, IntegerField, length


def version_field():
    """The request's version the screen showed: a change by someone else meanwhile is refused, not overwritten."""
    return IntegerField(widget=HiddenInput(), validators=[v.Optional()])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EndorseForm(Form):
    note = TextAreaField(_l("Catatan (boleh kosong)"), [v.Optional(), length(500)], render_kw={"rows": 2})
    version = version_field()


class ReturnForm(Form):
    # spaces alone are no reason: stripped first, then required
    reason = TextAreaField(_l("Alasan dikembalikan"), [v.DataRequired(message=REQUIRED), length(500)],
                           filters=[_strip], render_kw={"rows": 3})
    version = version_field()
