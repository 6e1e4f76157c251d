"""Admin: the integration API's clients (/admin/api-klien): create, change scopes and addresses, rotate the key,
revoke. A new key is shown once, on the answer to the POST that made it (never stored, never cached)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, TextAreaField

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.integration import ApiClient
from sempelmas.services.integration import clients
from sempelmas.services.integration.scopes import SCOPES
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.admin.forms import MultiCheckbox
from sempelmas.web.forms import EmptyForm, Form, add_error, form_status, length, required, save_form
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404


class ApiClientForm(Form):
    name = StringField(_l("Nama klien (sistem yang memanggil)"), [required(), length(clients.NAME_MAX)])
    scopes = MultiCheckbox(_l("Cakupan"), choices=[])
    allowed_sources = TextAreaField(_l("Alamat asal yang diizinkan (opsional)"), [length(2000)])
    rate_limit = StringField(_l("Batas laju (opsional)"), [length(40)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scopes.choices = [(code, f"{code}: {label}") for code, label in SCOPES.items()]


def _settings(form: ApiClientForm) -> clients.Settings:
    """The form's values for the service; ClientError (on its field) for addresses that are not addresses."""
    return clients.Settings(name=form.name.data, scopes=list(form.scopes.data or []),
                            allowed_sources=clients.parse_sources(form.allowed_sources.data),
                            rate_limit=form.rate_limit.data)


def _key_page(client: ApiClient, key: str, *, rotated: bool):
    """The key, once: the answer to the POST itself (no redirect that would have to carry it), kept by no cache."""
    resp = render("admin/api_client_key.html", client=client, key=key, rotated=rotated)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/api-klien", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def api_clients():
    form = ApiClientForm()
    if form.validate_on_submit():
        saved, made = save_form(form, lambda: clients.create_client(_settings(form), actor=current_user),
                                clients.ClientError)
        if saved:
            return _key_page(made[0], made[1], rotated=False)
    return render("admin/api_clients.html", form=form, status=form_status(form), clients=clients.list_clients(),
                  action_form=EmptyForm())


@bp.route("/api-klien/<int:client_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def api_client_edit(client_id: int):
    client = get_or_404(ApiClient, client_id)
    form = ApiClientForm()
    if request.method == "GET":
        form.name.data, form.scopes.data = client.name, list(client.scopes)
        form.allowed_sources.data = "\n".join(client.allowed_sources)
        form.rate_limit.data = client.rate_limit or ""
    elif client.revoked_at is not None:
        add_error(form, None, _("Klien ini sudah dicabut dan tidak dapat diubah."))
    elif form.validate_on_submit():
        saved, _done = save_form(form, lambda: clients.update_client(client, _settings(form), actor=current_user),
                                 clients.ClientError)
        if saved:
            flash(_("Pengaturan klien %(name)s tersimpan.", name=client.name), "success")
            return redirect(url_for("admin.api_client_edit", client_id=client.id), code=303)
    return render("admin/api_client_edit.html", form=form, client=client, action_form=EmptyForm(),
                  status=form_status(form))


@bp.post("/api-klien/<int:client_id>/ganti-kunci")
@role_required(Role.ADMIN)
def api_client_rotate(client_id: int):
    client = get_or_404(ApiClient, client_id)
    if not EmptyForm().validate_on_submit() or client.revoked_at is not None:
        abort(400)
    key = clients.rotate_key(client, actor=current_user)
    db.session.commit()
    return _key_page(client, key, rotated=True)


@bp.post("/api-klien/<int:client_id>/cabut")
@role_required(Role.ADMIN)
def api_client_revoke(client_id: int):
    client = get_or_404(ApiClient, client_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    clients.revoke_client(client, actor=current_user)
    db.session.commit()
    flash(_("Klien %(name)s dicabut: kuncinya tidak berlaku lagi.", name=client.name), "success")
    return redirect(url_for("admin.api_clients"), code=303)
