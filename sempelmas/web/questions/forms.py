"""The message form of a request's thread (the resident's question or the staff's answer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, TextAreaField

from sempelmas.services.requests.questions import MAX_TEXT
from sempelmas.web.forms import Form, length, required


class MessageForm(Form):
    text = TextAreaField(_l("Pesan"), [required(), length(MAX_TEXT)])
    photo = FileField(_l("Foto (boleh kosong)"))
    #: the form's one-time key: the same message sent twice is stored once
    kunci = HiddenField()
