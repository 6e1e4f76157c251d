"""Admin: the kelurahan's officials (who may sign letters), each with the signer backend that signs for them (the
kelurahan CA or BSrE: services/letters/backends) and the "cek status" of a BSrE official's certificate."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.profile import Official
from sempelmas.services.accountability import audit
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import backends as signer_backends
from sempelmas.services.letters.backends import bsre as bsre_backend
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.admin.forms import OfficialForm
from sempelmas.web.forms import EmptyForm, form_status
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404


def _signer_choices() -> list[tuple[int, str]]:
    users = db.session.scalars(select(User).where(User.username.is_not(None)).order_by(User.full_name))
    return [(0, _("— tidak terhubung —"))] + [
        (u.id, f"{u.full_name} ({u.username})") for u in users if u.has_role(Role.SIGNER)
    ]


def _backend_choices(official: Official | None) -> list[tuple[str, str]]:
    """The kelurahan CA always; BSrE when the Esign Client is configured (or the official already uses it, so the
    admin can move them back)."""
    labels = signer_backends.backend_labels()
    names = [signer_backends.LOCAL]
    if bsre_backend.configured() or signer_backends.backend_name(official) == signer_backends.BSRE:
        names.append(signer_backends.BSRE)
    return [(n, labels[n]) for n in names]


def _officials_page(form, official, status=200, bsre_status=None):
    return render("admin/officials.html", form=form, official=official, status=status,
                  officials=profile_service.officials(active_only=False), check_form=EmptyForm(),
                  backend_labels=signer_backends.backend_labels(), bsre_configured=bsre_backend.configured(),
                  bsre_status=bsre_status)


@bp.route("/pejabat", methods=["GET", "POST"])
@bp.route("/pejabat/<int:official_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def officials(official_id: int | None = None):
    official = None
    if official_id is not None:
        official = get_or_404(Official, official_id)
    form = OfficialForm(obj=official)
    form.user_id.choices = _signer_choices()
    form.signing_backend.choices = _backend_choices(official)
    if request.method == "GET" and official is not None:
        form.user_id.data = official.user_id or 0
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in profile_service.OFFICIAL_FIELDS}
        official = profile_service.save_official(official, data, actor=current_user)
        db.session.commit()
        flash(_("Data pejabat tersimpan."), "success")
        return redirect(url_for("admin.officials"), code=303)
    return _officials_page(form, official, form_status(form))


@bp.post("/pejabat/<int:official_id>/cek-bsre")
@role_required(Role.ADMIN)
def official_bsre_status(official_id: int):
    """Ask the Esign Client for the status of the official's BSrE certificate (short timeouts); audited."""
    official = get_or_404(Official, official_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    active, message = bsre_backend.status_of(official)
    audit.record("official.bsre_status", official, active=active)
    db.session.commit()
    form = OfficialForm(obj=official, formdata=None)
    form.user_id.choices = _signer_choices()
    form.user_id.data = official.user_id or 0
    form.signing_backend.choices = _backend_choices(official)
    return _officials_page(form, official, bsre_status=(active, message))
