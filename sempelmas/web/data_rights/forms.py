from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms import validators as v

from sempelmas.services.accountability.data_rights import CORRECTABLE
from sempelmas.web.forms import Form, length, required


class CorrectionForm(Form):
    field = SelectField(_l("Data yang salah"), [required()], choices=[])
    value = StringField(_l("Data yang benar"), [length(255)])
    explanation = TextAreaField(_l("Keterangan"), [length(2000)])
    photo = FileField(_l("Foto bukti (tidak wajib)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field.choices = [("", _l("— pilih —"))] + [(code, label) for code, (label, _w) in CORRECTABLE.items()]


class DeletionForm(Form):
    reason = TextAreaField(_l("Alasan (tidak wajib)"), [length(2000)])
    understood = BooleanField(
        _l("Saya mengerti: akun saya dihapus dan saya tidak bisa masuk lagi; arsip yang wajib disimpan tetap ada."),
        [v.InputRequired(message=_l("Centang tanda bahwa Anda mengerti akibatnya."))])


class ApplyForm(Form):
    value = StringField(_l("Nilai yang ditulis ke data"), [length(255)])
    note = TextAreaField(_l("Catatan untuk warga"), [length(2000)])


class GrantForm(Form):
    note = TextAreaField(_l("Catatan untuk arsip (tidak wajib)"), [length(2000)])


class RefuseForm(Form):
    reason = TextAreaField(_l("Alasan penolakan"), [required(), length(2000)],
                           description=_l("Warga akan membaca alasan ini."))
