"""Admin: the "Siap melayani" checklist (``services/kelurahan/readiness.py``), its confirmations, the banner that
follows admins in production until every step is done, and ``/healthz``, which the public-address step fetches."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.kelurahan import readiness
from sempelmas.services.kelurahan import readiness_actions as actions
from sempelmas.services.letters import kop
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.forms import EmptyForm
from sempelmas.web.htmx import render


def healthz():
    return f"ok {readiness.health_token()}\n", 200, {"Content-Type": "text/plain; charset=utf-8",
                                                    "Cache-Control": "no-store"}


@bp.record_once
def _add_healthz(state) -> None:
    state.app.add_url_rule("/healthz", "healthz", healthz)


@bp.app_context_processor
def _readiness_banner() -> dict:
    """Admins in production see a banner until the checklist is done (computed lazily, only for them)."""
    def show() -> bool:
        return (current_user.is_authenticated and current_user.has_role(Role.ADMIN)
                and request.endpoint != "admin.readiness_page"
                and readiness.shows_checklist())
    return {"readiness_banner": show}


@bp.get("/siap")
@role_required(Role.ADMIN)
def readiness_page():
    steps = readiness.all_steps()
    if actions.record_completion(steps, current_user):
        db.session.commit()
    prof = profile_service.profile_row()
    return render("admin/readiness.html", steps=steps, done=sum(s.done for s in steps),
                  kop=kop.kop_context(prof) if prof else None, form=EmptyForm(),
                  public_url=current_app.config["PUBLIC_URL"])


def _checked_post() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _confirm(anchor: str, action, done_message: str):
    """Run one confirmation of the checklist (CSRF checked): committed and flashed, or refused with its reason
    and nothing kept; back to the step either way."""
    _checked_post()
    try:
        action()
    except actions.ReadinessError as e:
        db.session.rollback()
        flash(str(e), "error")
    else:
        db.session.commit()
        flash(done_message, "success")
    return redirect(url_for("admin.readiness_page") + f"#{anchor}", code=303)


@bp.get("/siap/cadangan-ca")
@role_required(Role.ADMIN)
def readiness_ca_download():
    try:
        data, name = actions.ca_backup_file(current_user)
    except actions.ReadinessError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.readiness_page"), code=303)
    db.session.commit()
    return data, 200, {"Content-Type": "application/x-pem-file",
                       "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@bp.post("/siap/cadangan-ca")
@role_required(Role.ADMIN)
def readiness_ca_confirm():
    upload = request.files.get("berkas")
    return _confirm("ca", lambda: actions.confirm_ca_backup(upload.read(256 * 1024) if upload else b"",
                                                            current_user), _("Cadangan CA dikonfirmasi."))


@bp.post("/siap/katalog")
@role_required(Role.ADMIN)
def readiness_catalogue():
    return _confirm("katalog", lambda: actions.mark_catalogue_reviewed(current_user), _("Tinjauan katalog dicatat."))


@bp.post("/siap/pesan-uji")
@role_required(Role.ADMIN)
def readiness_test_message():
    return _confirm("notifikasi", lambda: actions.send_test_message(
        current_user, email=request.form.get("email") or current_user.email,
        phone=request.form.get("phone") or current_user.phone),
        _("Pesan uji masuk antrean; pengirim notifikasi (flask background) akan mengirimnya."))


@bp.post("/siap/periksa-alamat")
@role_required(Role.ADMIN)
def readiness_recheck():
    _checked_post()
    readiness.forget_probe()
    return redirect(url_for("admin.readiness_page") + "#alamat", code=303)
