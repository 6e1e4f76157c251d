from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField

from sempelmas.forms import Form, required


class KKChangeForm(Form):
    kk_number = StringField(_l("Nomor KK baru"), [required()])
