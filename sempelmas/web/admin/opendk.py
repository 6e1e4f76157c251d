"""Admin: the OpenDK connector (settings, and the log of signed letters sent to the kecamatan)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, PasswordField, StringField

from sempelmas.models.accounts import Role
from sempelmas.services.integration import opendk, opendk_settings
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.forms import Form, form_status, length, save_form
from sempelmas.web.htmx import render


class OpenDkForm(Form):
    enabled = BooleanField(_l("Kirim setiap surat yang ditandatangani ke OpenDK kecamatan"))
    base_url = StringField(_l("Alamat OpenDK"), [length(300)])
    desa_id = StringField(_l("Kode desa/kelurahan di OpenDK"), [length(20)])
    email = StringField(_l("E-mail akun OpenDK"), [length(254)])
    password = PasswordField(_l("Kata sandi akun OpenDK"), [length(200)])
    api_key = PasswordField(_l("Token terdaftar dari OpenDK (api_key_opendk)"), [length(2000)])
    clear_api_key = BooleanField(_l("Hapus token tersimpan (kembali masuk dengan e-mail dan kata sandi)"))


def _page(form: OpenDkForm):
    row = opendk_settings.row()
    return render("admin/opendk.html", form=form, row=row, log=opendk.log(), held=opendk.held(),
                  revoked=opendk.revoked_after_sending(), status=form_status(form))


@bp.route("/opendk", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def opendk_settings_page():
    row = opendk_settings.row()
    form = OpenDkForm(obj=row) if request.method == "GET" else OpenDkForm()
    if form.validate_on_submit():
        d = form.data
        saved, _row = save_form(form, lambda: opendk_settings.save(
            current_user._get_current_object(), enabled=d["enabled"], base_url=d["base_url"] or "",
            email=d["email"] or "", password=d["password"] or "", api_key=d["api_key"] or "",
            clear_api_key=d["clear_api_key"], desa_id=d["desa_id"] or ""), opendk_settings.SettingsError)
        if saved:
            flash(_("Pengaturan OpenDK disimpan."), "success")
            return redirect(url_for("admin.opendk_settings_page"), code=303)
    form.password.data = form.api_key.data = ""  # secrets are never sent back to the browser
    return _page(form)
