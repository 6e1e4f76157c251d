"""Push notifications on a resident's phone: turning them on (the browser's subscription, sent by
static/js/push.js) and off (from that phone, or any of the user's devices from the notifications page).

The page gets the site's VAPID public key through ``push_offer`` (a template global): no key, no button. Both
routes take JSON (the script, with the X-CSRFToken header) or a plain form (the devices list, works without JS);
only the user's own subscriptions are touched (another's: 404), and each change is audited
(services/operations/push.py).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.push import PushSubscription
from sempelmas.services.operations import push, vapid
from sempelmas.services.people import sessions
from sempelmas.web.access import role_required
from sempelmas.web.lookups import get_or_404

bp = Blueprint("push", __name__)
RESIDENTS = (Role.RESIDENT, Role.ASSISTANT)


@bp.app_template_global()
def push_offer() -> dict | None:
    """What the opt-in needs (the public key and the two addresses), or None when Web Push is off or has no key
    or the reader is not a resident: then no button is shown."""
    if not (current_user.is_authenticated and current_user.has_role(*RESIDENTS)):
        return None
    try:
        key = vapid.public_key()
    except vapid.PushNotReady:
        return None
    return {"key": key, "subscribe": url_for("push.subscribe"), "unsubscribe": url_for("push.unsubscribe"),
            "script": url_for("static", filename="js/push.js"), "known": " ".join(push.known_hashes(current_user))}


@bp.app_template_global()
def push_devices() -> list[PushSubscription]:
    """The signed-in user's devices with push on (the notifications page's list)."""
    return push.devices(current_user) if current_user.is_authenticated else []


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@bp.post("/langganan")
@role_required(*RESIDENTS)
def subscribe():
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    try:
        push.subscribe(current_user, data if isinstance(data, dict) else {},
                       label=sessions.device_label(request.headers.get("User-Agent")))
    except push.SubscriptionError as e:
        db.session.rollback()
        if _wants_json():
            return jsonify(ok=False, message=str(e)), 400
        flash(str(e), "error")
    else:
        db.session.commit()
        if _wants_json():
            return jsonify(ok=True, message=_("Notifikasi di HP ini aktif."))
        flash(_("Notifikasi di HP ini aktif."), "success")
    return redirect(url_for("notifications.index"), code=303)


@bp.post("/berhenti")
@role_required(*RESIDENTS)
def unsubscribe():
    """Turn one device off: by its endpoint (the script on that phone) or its id (the devices list)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    endpoint = str((data or {}).get("endpoint") or "")
    if endpoint:
        sub = push.own_by_endpoint(current_user, endpoint) or abort(404)
    else:
        sub = get_or_404(PushSubscription, request.form.get("id", type=int) or 0,
                         allowed=lambda s: s.user_id == current_user.id)
    label = sub.label or _("perangkat itu")
    push.unsubscribe(current_user, sub)
    db.session.commit()
    if _wants_json():
        return jsonify(ok=True, message=_("Notifikasi di HP ini dimatikan."))
    flash(_("Notifikasi dimatikan untuk %(device)s.", device=label), "success")
    return redirect(url_for("notifications.index"), code=303)
