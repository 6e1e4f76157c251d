"""The complaint forms: public (contact details typed) and the resident's (prefilled, may name a request)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import EmailField, HiddenField, SelectField, StringField, TelField, TextAreaField
from wtforms import validators as v

from sempelmas.domain.phone import PhoneError, normalise
from sempelmas.models.complaints import COMPLAINT_CATEGORIES
from sempelmas.services.accountability.complaints import ACTION_LABELS, Filing
from sempelmas.web.forms import Form, length, required


def _phone_check(form, field):
    try:
        field.data = normalise(field.data)
    except PhoneError as e:
        raise v.ValidationError(str(e)) from e


def _category_choices():
    return [("", _l("— pilih —")), *COMPLAINT_CATEGORIES.items()]


class ComplaintForm(Form):
    name = StringField(_l("Nama"), [required(), length(120)])
    phone = TelField(_l("Nomor HP / WhatsApp"), [v.Optional(), _phone_check])
    email = EmailField(_l("E-mail"), [v.Optional(), v.Email(message=_l("Alamat e-mail tidak valid.")),
                                      length(254)])
    category = SelectField(_l("Kategori"), choices=_category_choices, validators=[required()])
    subject = StringField(_l("Judul singkat"), [required(), length(150, 5)])
    body = TextAreaField(_l("Isi pengaduan"), [required(), length(4000, 10)],
                         description=_l("Ceritakan apa yang terjadi, kapan, dan di mana."))
    photo = FileField(_l("Foto pendukung (boleh kosong)"))
    #: the form's one-time key (a second submit finds the first complaint)
    kunci = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.phone.data or self.email.data) and not self.phone.errors and not self.email.errors:
            self.phone.errors = [*self.phone.errors,
                                 str(_l("Isi nomor HP atau alamat e-mail agar jawaban dapat kami sampaikan."))]
            ok = False
        return ok

    def filing(self) -> Filing:
        return Filing(name=self.name.data, phone=self.phone.data or None, email=(self.email.data or "").strip() or None,
                      category=self.category.data, subject=self.subject.data, body=self.body.data)


class ResidentComplaintForm(ComplaintForm):
    request = SelectField(_l("Tentang permohonan (boleh kosong)"), choices=[], validate_choice=False)


class AnswerForm(Form):
    text = TextAreaField(_l("Jawaban untuk pengadu"), [v.Optional(), length(4000)],
                         description=_l("Pengadu membaca jawaban ini dan menerimanya lewat notifikasi."))
    action = SelectField(_l("Status"), choices=[], validate_choice=False)

    def set_actions(self, actions: list[str]) -> None:
        self.action.choices = [("", _l("— tetap —")), *((a, ACTION_LABELS[a]) for a in actions)]
