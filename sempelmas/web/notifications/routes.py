"""The bell: every signed-in user's notifications, the unread count (an htmx fragment) and mark-as-read."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.notifications import Notification
from sempelmas.services.operations import notice_text, outbox
from sempelmas.web.access import login_required
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404

bp = Blueprint("notifications", __name__)
PAGE_SIZE = 20


@bp.get("/")
@login_required
def index():
    page = digit_rules.query_int(request.args, "page", 1)
    mine = Notification.user_id == current_user.id
    total = db.session.scalar(select(func.count()).select_from(Notification).where(mine)) or 0
    rows = db.session.scalars(select(Notification).where(mine).order_by(Notification.id.desc())
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render("notifications/index.html", block="results", rows=rows, shown=notice_text.shown, page=page,
                  total=total,
                  pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), unread=outbox.unread_count(current_user.id))


@bp.get("/jumlah")
@login_required
def count():
    """The bell's badge, loaded by htmx after the page (so no page render pays for the count)."""
    resp = render("notifications/_count.html", count=outbox.unread_count(current_user.id))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<int:notification_id>/baca")
@login_required
def read(notification_id: int):
    note = get_or_404(Notification, notification_id, allowed=lambda note: note.user_id == current_user.id)
    outbox.mark_read(note)
    db.session.commit()
    return redirect(_safe_path(note.url) or url_for("notifications.index"), code=303)


@bp.post("/baca-semua")
@login_required
def read_all():
    n = outbox.mark_all_read(current_user.id)
    db.session.commit()
    flash(_("%(n)d notifikasi ditandai sudah dibaca.", n=n) if n else _("Tidak ada notifikasi baru."), "success")
    return redirect(url_for("notifications.index"), code=303)


def _safe_path(url: str | None) -> str | None:
    """Only a path inside this site (never another host: no open redirect through a stored URL)."""
    if url and url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    return None
