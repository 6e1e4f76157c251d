"""Admin: webhooks, the endpoints the city's systems receive events on (list, subscribe, delivery log, pause,
resume, new secret, redelivery, edit, delete). The work is in services/operations/webhooks.py; every change is
audited there."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import BooleanField, StringField, validators

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.webhooks import WebhookDelivery, WebhookEndpoint
from sempelmas.services.operations import webhooks
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.admin.forms import MultiCheckbox
from sempelmas.web.forms import EmptyForm, Form, form_status, length, required, save_form
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404


class EndpointForm(Form):
    url = StringField(_l("Alamat endpoint (https://…)"), [required(), length(webhooks.MAX_URL)])
    description = StringField(_l("Keterangan (mis. nama sistem penerima)"), [validators.Optional(), length(200)])
    events = MultiCheckbox(_l("Peristiwa yang dikirim"), choices=list(webhooks.EVENT_TYPES.items()),
                           validate_choice=False,  # checked below, with the message in Indonesian
                           validators=[validators.DataRequired(message=_l("Pilih setidaknya satu jenis peristiwa."))])

    def validate_events(self, field) -> None:
        if any(value not in webhooks.EVENT_TYPES for value in field.data or ()):
            raise validators.ValidationError(_l("Pilihan tidak valid."))


class DeleteEndpointForm(Form):
    confirm = BooleanField(_l("Saya mengerti: endpoint ini, antrean dan log pengirimannya dihapus dan tidak dapat "
                              "dikembalikan."),
                           [validators.DataRequired(message=_l("Centang kotak konfirmasi untuk menghapus endpoint."))])


def _secret_page(endpoint: WebhookEndpoint, secret: str, status: int = 200):
    resp = render("admin/webhook_secret.html", endpoint=endpoint, secret=secret, status=status)
    resp.headers["Cache-Control"] = "no-store"  # shown once: no copy in any cache
    return resp


@bp.route("/webhook", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def webhook_list():
    form = EndpointForm()
    if form.validate_on_submit():
        saved, made = save_form(form, lambda: webhooks.create_endpoint(
            form.url.data, form.events.data, current_user, form.description.data), webhooks.WebhookError)
        if saved:
            return _secret_page(*made, status=201)
    return render("admin/webhooks.html", form=form, endpoints=webhooks.endpoints(), status=form_status(form))


@bp.get("/webhook/<int:endpoint_id>")
@role_required(Role.ADMIN)
def webhook_detail(endpoint_id: int):
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    return render("admin/webhook.html", endpoint=endpoint, log=webhooks.delivery_log(endpoint),
                  labels=webhooks.EVENT_TYPES)


def _endpoint_for_post(endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    return endpoint


@bp.post("/webhook/<int:endpoint_id>/jeda")
@role_required(Role.ADMIN)
def webhook_pause(endpoint_id: int):
    endpoint = _endpoint_for_post(endpoint_id)
    if endpoint.paused_at is None:
        webhooks.pause(endpoint, "dijeda oleh admin", actor=current_user)
        db.session.commit()
        flash(_("Pengiriman ke endpoint ini dijeda; peristiwa baru ditahan sampai dilanjutkan."), "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id), code=303)


@bp.post("/webhook/<int:endpoint_id>/lanjutkan")
@role_required(Role.ADMIN)
def webhook_resume(endpoint_id: int):
    endpoint = _endpoint_for_post(endpoint_id)
    if endpoint.paused_at is not None:
        queued = webhooks.resume(endpoint, current_user)
        db.session.commit()
        flash(ngettext("Pengiriman dilanjutkan; %(num)d peristiwa yang ditahan diantrekan.",
                       "Pengiriman dilanjutkan; %(num)d peristiwa yang ditahan diantrekan.", queued), "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id), code=303)


@bp.post("/webhook/<int:endpoint_id>/rahasia-baru")
@role_required(Role.ADMIN)
def webhook_rotate(endpoint_id: int):
    endpoint = _endpoint_for_post(endpoint_id)
    secret = webhooks.rotate_secret(endpoint, current_user)
    db.session.commit()
    return _secret_page(endpoint, secret)


@bp.post("/webhook/<int:endpoint_id>/kirim-ulang/<int:delivery_id>")
@role_required(Role.ADMIN)
def webhook_redeliver(endpoint_id: int, delivery_id: int):
    endpoint = _endpoint_for_post(endpoint_id)
    delivery = get_or_404(WebhookDelivery, delivery_id)
    if delivery.endpoint_id != endpoint.id:
        abort(404)
    webhooks.redeliver(delivery, current_user)
    db.session.commit()
    flash(_("Peristiwa dijadwalkan untuk dikirim ulang dengan webhook-id yang sama."), "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id), code=303)


def _edit_page(endpoint: WebhookEndpoint, form: EndpointForm, delete_form: DeleteEndpointForm, status: int = 200):
    return render("admin/webhook_edit.html", endpoint=endpoint, form=form, delete_form=delete_form, status=status)


@bp.route("/webhook/<int:endpoint_id>/ubah", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def webhook_edit(endpoint_id: int):
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    form = EndpointForm(obj=endpoint)
    if form.validate_on_submit():
        saved, changed = save_form(form, lambda: webhooks.update_endpoint(
            endpoint, form.url.data, form.events.data, current_user, form.description.data), webhooks.WebhookError)
        if saved:
            flash(_("Perubahan endpoint disimpan.") if changed else _("Tidak ada yang berubah."), "success")
            return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id), code=303)
    return _edit_page(endpoint, form, DeleteEndpointForm(formdata=None), form_status(form))


@bp.post("/webhook/<int:endpoint_id>/hapus")
@role_required(Role.ADMIN)
def webhook_delete(endpoint_id: int):
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    form = DeleteEndpointForm()
    if not form.validate_on_submit():
        return _edit_page(endpoint, EndpointForm(obj=endpoint, formdata=None), form, form_status(form))
    url = endpoint.url
    counts = webhooks.delete_endpoint(endpoint, current_user)
    db.session.commit()
    flash(_("Endpoint %(url)s dihapus: %(queued)d kiriman dalam antrean dan %(held)d yang ditahan dibatalkan, "
            "log pengirimannya dihapus.", url=url, queued=counts["queued"], held=counts["held"]), "success")
    return redirect(url_for("admin.webhook_list"), code=303)
