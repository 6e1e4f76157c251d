from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from sempelmas.forms import required


class KKChangeForm(FlaskForm):
    kk_number = StringField(_l("Nomor KK baru"), [required()])
