from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    ValidationError,
)
from wtforms import validators as v
from wtforms.widgets import CheckboxInput, ListWidget

from sempelmas.domain import digits
from sempelmas.domain import phone as phone_rules
from sempelmas.models.accounts import ROLE_LABELS, Role
from sempelmas.services.letters.numbering import check_format
from sempelmas.web.forms import Form, IntegerField, digit_string, length, min_password, required, rt_rw_number


def hex_color():
    return v.Regexp(r"^#[0-9A-Fa-f]{6}$",
                    message=_l("Tulis warna sebagai # diikuti 6 angka heksadesimal, contoh: #0b5d3b."))


def rt_number():
    return rt_rw_number(_l("Angka 1–3 digit."))


def whatsapp_number():
    def check(form, field):
        try:
            field.data = phone_rules.normalise(field.data)
        except phone_rules.PhoneError as e:
            raise ValidationError(str(e)) from e

    return check


class ProfileForm(Form):
    village_kind = SelectField(_l("Jenis"), choices=[("kelurahan", "Kelurahan"), ("desa", "Desa")])
    village_name = StringField(_l("Nama kelurahan/desa"), [required(), length(80)])
    district_name = StringField(_l("Kecamatan"), [required(), length(80)])
    regency_kind = SelectField(_l("Kota/kabupaten"), choices=[("kota", "Kota"), ("kabupaten", "Kabupaten")])
    regency_name = StringField(_l("Nama kota/kabupaten"), [required(), length(80)])
    province_name = StringField(_l("Provinsi"), [required(), length(80)])
    region_code = StringField(
        _l("Kode wilayah Kemendagri"),
        [required(), v.Regexp(r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$",
                              message=_l("Format kode wilayah: 35.76.03.1004"))],
        filters=[lambda value: digits.normalise(value).strip() if value else value],
    )
    address = StringField(_l("Alamat kantor"), [required(), length(255)])
    postcode = StringField(_l("Kode pos"), [v.Optional(), digit_string(5, _l("Kode pos 5 digit."))])
    phone = StringField(_l("Telepon"), [v.Optional(), length(30)])
    whatsapp = StringField(_l("WhatsApp kantor"), [v.Optional(), whatsapp_number()],
                           description=_l("Nomor yang dipakai kantor untuk WhatsApp; warga membukanya dengan satu "
                                          "ketukan. Kosongkan bila kantor tidak melayani lewat WhatsApp."))
    email = EmailField(_l("E-mail"), [v.Optional(), v.Email(message=_l("Alamat e-mail tidak valid."))])
    website = URLField(_l("Situs web"), [v.Optional(), v.URL(message=_l("Alamat situs tidak valid."))])
    letter_unit_code = StringField(_l("Kode unit pada nomor surat"), [v.Optional(), length(40)])
    timezone = SelectField(_l("Zona waktu"), choices=[("WIB", "WIB"), ("WITA", "WITA"), ("WIT", "WIT")])
    office_hours = TextAreaField(_l("Jam layanan"), [v.Optional(), length(500)])
    tracking_prefix = StringField(
        _l("Awalan nomor pelacakan"),
        [required(), v.Regexp(r"^[A-Z]{2,8}$", message=_l("2–8 huruf kapital, contoh: JGL."))],
    )
    logo = FileField(_l("Logo daerah (PNG/JPEG)"))
    rw_endorses = BooleanField(_l("RW juga memberi pengantar"))
    #: left out of a post (an older form) or blank: the current format stays
    number_format = StringField(_l("Format nomor surat"), [v.Optional(), length(80)])
    number_scope = SelectField(_l("Nomor urut dihitung"), choices=[
        ("semua", _l("Satu urutan untuk semua surat")),
        ("klasifikasi", _l("Satu urutan per kode klasifikasi")),
        ("layanan", _l("Satu urutan per jenis layanan"))])
    paper_size = SelectField(_l("Ukuran kertas surat"), choices=[("A4", "A4 (210 × 297 mm)"),
                                                                  ("F4", "F4 (215 × 330 mm)")])
    verify_offers_pdf = BooleanField(_l("Halaman verifikasi menawarkan unduhan PDF surat"))
    #: left out of a post (an older form) or blank: the current colour stays
    theme_color = StringField(_l("Warna tema aplikasi"), [v.Optional(), hex_color()])
    background_color = StringField(_l("Warna latar layar pembuka"), [v.Optional(), hex_color()])

    def validate_number_format(self, field):
        if (field.data or "").strip():
            problem = check_format(field.data)
            if problem:
                raise ValidationError(problem)


class OfficialForm(Form):
    name = StringField(_l("Nama (dengan gelar)"), [required(), length(120)])
    position = SelectField(_l("Jabatan"), choices=[("lurah", _l("Lurah/Kepala Desa")),
                                                   ("sekretaris", _l("Sekretaris")),
                                                   ("kasi", _l("Kepala Seksi")), ("lain", _l("Lainnya"))])
    position_title = StringField(_l("Jabatan seperti tercetak"), [required(), length(120)])
    rank = StringField(_l("Pangkat/golongan"), [v.Optional(), length(80)])
    nip = StringField(_l("NIP"), [v.Optional(), digit_string(18, _l("NIP 18 digit tanpa spasi."))])
    user_id = SelectField(_l("Akun penandatangan"), coerce=int, choices=[])
    sort_order = IntegerField(_l("Urutan"), [v.Optional()], default=0)
    active = BooleanField(_l("Aktif"), default=True)
    #: the choices are set by the view: BSrE only when the Esign Client is configured (ESIGN_URL)
    signing_backend = SelectField(_l("Tanda tangan elektronik melalui"), choices=[], default="local")
    bsre_nik = StringField(_l("NIK pemegang sertifikat BSrE"),
                           [v.Optional(), digit_string(16, _l("NIK 16 digit tanpa spasi."))])


ROLE_CHOICES = [(r.value, ROLE_LABELS[r]) for r in Role if r != Role.RESIDENT]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StaffAccountForm(Form):
    username = StringField(_l("Nama pengguna"), [required(), length(64, 3)])
    full_name = StringField(_l("Nama lengkap"), [required(), length(120)])
    password = PasswordField(_l("Kata sandi awal"), [required(), min_password()])
    roles = MultiCheckbox(_l("Peran"), choices=ROLE_CHOICES,
                          validators=[v.DataRequired(message=_l("Pilih minimal satu peran."))])
    rt = StringField(_l("RT (untuk ketua RT)"), [v.Optional(), rt_number()])
    rw = StringField(_l("RW (untuk ketua RT/RW)"), [v.Optional(), rt_number()])


class RolesForm(Form):
    roles = MultiCheckbox(_l("Peran"), choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    rt = StringField(_l("RT (untuk ketua RT)"), [v.Optional(), rt_number()])
    rw = StringField(_l("RW (untuk ketua RT/RW)"), [v.Optional(), rt_number()])
    active = BooleanField(_l("Akun aktif"))


class ImportForm(Form):
    file = FileField(_l("Berkas data penduduk (CSV atau XLSX)"))


class ServiceForm(Form):
    code = StringField(_l("Kode (dalam alamat halaman)"), [required(), length(40)])
    name = StringField(_l("Nama layanan"), [required(), length(120)])
    description = TextAreaField(_l("Kegunaan surat"), [required(), length(2000)])
    name_en = StringField(_l("Nama layanan dalam bahasa Inggris"), [v.Optional(), length(120)])
    description_en = TextAreaField(_l("Kegunaan surat dalam bahasa Inggris"), [v.Optional(), length(2000)])
    who_may_request = SelectField(_l("Yang dapat mengajukan"),
                                  choices=[("warga", _l("Warga untuk diri sendiri atau keluarga satu KK"))])
    needs_rt_endorsement = BooleanField(_l("Perlu persetujuan ketua RT (pengantar RT/RW)"))
    paper_pengantar_when_no_rt_account = BooleanField(_l("Pengantar kertas bila RT belum punya akun"))
    service_time_value = IntegerField(_l("Waktu layanan"), [required(), v.NumberRange(
        min=1, max=999, message=_l("Antara 1 dan 999."))])
    service_time_unit = SelectField(_l("Satuan waktu"), choices=[
        ("menit", _l("menit")), ("jam", _l("jam")), ("hari_kerja", _l("hari kerja"))])
    classification_code = StringField(_l("Kode klasifikasi arsip"), [required(), length(20)])
    letter_template = StringField(_l("Nama templat surat"), [required(), length(60)])
    validity_days = IntegerField(_l("Masa berlaku (hari)"), [v.Optional(), v.NumberRange(
        min=1, max=3650, message=_l("Antara 1 dan 3650."))])
    number_format = StringField(_l("Format nomor surat khusus layanan ini"), [v.Optional(), length(80)])
    sort_order = IntegerField(_l("Urutan"), [v.Optional()], default=0)
    enabled = BooleanField(_l("Dibuka untuk warga"))
    requirements = TextAreaField(_l("Persyaratan"), render_kw={"rows": 8})
    fields = TextAreaField(_l("Isian formulir"), render_kw={"rows": 12})
    requirements_en = TextAreaField(_l("Persyaratan dalam bahasa Inggris"), render_kw={"rows": 6})
    fields_en = TextAreaField(_l("Isian formulir dalam bahasa Inggris"), render_kw={"rows": 8})


    def validate_number_format(self, field):
        if (field.data or "").strip():
            problem = check_format(field.data)
            if problem:
                raise ValidationError(problem)


class LetterTemplateForm(Form):
    source = TextAreaField(_l("Isi templat (Jinja HTML)"), [required(), length(100_000)],
                           render_kw={"rows": 28, "spellcheck": "false", "class": "code"})


class HolidayForm(Form):
    date = DateField(_l("Tanggal"), [required()])
    name = StringField(_l("Nama hari libur"), [required(), length(120)])
