from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from sempelmas.web.forms import Form, IntegerField, length, required


class KKChangeForm(Form):
    kk_number = StringField(_l("Nomor KK baru"), [required()])


class ActionForm(Form):
    """A button on the review screen: carries the request version the screen showed."""

    version = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(message=_l("Formulir tidak lengkap; muat ulang halaman."))])


class ReasonForm(ActionForm):
    reason = TextAreaField(_l("Alasan"), [required(), length(1000)],
                           description=_l("Warga akan membaca alasan ini."))


class FixForm(ReasonForm):
    fields = SelectMultipleField(_l("Isian yang perlu diperbaiki"), choices=[], validate_choice=False,
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    files = SelectMultipleField(_l("Berkas yang perlu diganti"), choices=[], validate_choice=False,
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class NoteForm(Form):
    text = TextAreaField(_l("Catatan internal"), [required(), length(2000)],
                         description=_l("Hanya terlihat oleh petugas; warga tidak melihatnya."))
