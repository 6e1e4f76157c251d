"""Staff: the register of outgoing letters (buku register surat keluar), a letter's page, the download of
the signed PDF, revocation. Residents: the download of their own letter."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.services.accountability import audit
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import store as letter_store
from sempelmas.web.access import role_required
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404, resident_request_or_404
from sempelmas.web.private_files import send_private

bp = Blueprint("letters", __name__)
#: the register: front office and admins; signing officials too, who revoke from a letter's page
REGISTER_ROLES = (Role.STAFF, Role.ADMIN, Role.SIGNER)
PAGE_SIZE = 25


def _filters() -> dict:
    args = request.args
    out = {"year": digit_rules.query_int(args, "tahun", low=1900, high=9999),
           "month": digit_rules.query_int(args, "bulan", high=12),
           "service": (args.get("layanan") or "").strip()[:40], "status": args.get("status") or "",
           "q": (args.get("q") or "").strip()[:80]}
    if out["month"] and not 1 <= out["month"] <= 12:
        out["month"] = None
    if out["status"] not in set(LetterStatus):
        out["status"] = ""
    return out


@bp.get("/petugas/surat")
@role_required(*REGISTER_ROLES)
def register():
    filters = _filters()
    page = digit_rules.query_int(request.args, "page", 1)
    stmt = letters.register_query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    if filters["q"]:
        audit.record("letter.register_search", object_type="letters", query=filters["q"], results=total)
        db.session.commit()
    years = db.session.scalars(select(Letter.year).distinct().order_by(Letter.year.desc())).all()
    services = db.session.execute(select(Letter.service_code, func.max(Letter.title))
                                  .group_by(Letter.service_code).order_by(Letter.service_code)).all()
    args = {k: v for k, v in {"tahun": filters["year"], "bulan": filters["month"], "layanan": filters["service"],
                              "status": filters["status"], "q": filters["q"]}.items() if v}
    return render("letters_admin/register.html", block="results", rows=rows, total=total, page=page,
                  pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), filters=filters, args=args, years=years,
                  services=services, labels=letters.LETTER_STATUS_LABELS)


def _letter_or_404(letter_id: int) -> Letter:
    return get_or_404(Letter, letter_id)


@bp.get("/petugas/surat/<int:letter_id>")
@role_required(*REGISTER_ROLES)
def detail(letter_id: int, error: str | None = None, status: int = 200):
    letter = _letter_or_404(letter_id)
    if request.method == "GET":  # not again when a failed revocation shows the page
        audit.record("letter.view", letter, number=letter.number)
        db.session.commit()
    newer = db.session.scalar(select(Letter).where(Letter.replaces_id == letter.id).order_by(Letter.id.desc()))
    return render("letters_admin/detail.html", status=status, letter=letter, newer=newer, error=error,
                  may_revoke=letters.may_revoke(current_user) and letter.status == LetterStatus.VALID,
                  labels=letters.LETTER_STATUS_LABELS)


@bp.get("/petugas/surat/<int:letter_id>/unduh")
@role_required(*REGISTER_ROLES)
def download(letter_id: int):
    letter = _letter_or_404(letter_id)
    return _send(letter, "letter.download")


@bp.post("/penandatangan/surat/<int:letter_id>/cabut")
@role_required(Role.SIGNER, Role.ADMIN)
def revoke(letter_id: int):
    letter = _letter_or_404(letter_id)
    try:
        letters.revoke(letter, current_user, request.form.get("alasan", ""))
    except letters.LetterError as e:
        db.session.rollback()
        return detail(letter_id, error=e.message, status=422)
    db.session.commit()
    flash(_("Surat %(number)s dicabut. Halaman verifikasinya kini menyatakan DICABUT.", number=letter.number),
          "success")
    return redirect(url_for("letters.detail", letter_id=letter.id), code=303)


@bp.get("/warga/permohonan/<tracking_number>/surat")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_download(tracking_number: str):
    """The resident's (or family's) valid signed letter; 404 for anyone else's. A revoked letter is not handed
    out (as on the public verification page): 410 with the revocation, so an old link explains itself."""
    found = resident_request_or_404(tracking_number)
    issued = letters.of_request(found.id)
    if issued.current is not None:
        return _send(issued.current, "letter.resident_download")
    if issued.revoked is None:
        abort(404)
    return render("resident/letter_revoked.html", status=410, req=found, letter=issued.revoked)


def _send(letter: Letter, action: str):
    path = letter_store.path_of(letter)
    if not path.exists():
        abort(404)
    audit.record(action, letter, number=letter.number)
    db.session.commit()
    # a signed letter is small (≤ 120 KB): read at once
    return send_private(path, mimetype="application/pdf", attachment=True, read_at_once=True,
                        filename=f"surat-{letter.number.replace('/', '-')}.pdf")
