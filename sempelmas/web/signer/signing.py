"""The signing desk: the queue of letters awaiting signature, checking one letter, signing it (or a batch of
up to 100 with one passphrase entry) and sending a letter back to the staff."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import audit
from sempelmas.services.letters import backends as signer_backends
from sempelmas.services.letters import batch_signing, issuing
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters.numbering import NumberFormatError
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.requests import declared_data, lifecycle, review
from sempelmas.web.access import role_required
from sempelmas.web.forms import add_error
from sempelmas.web.htmx import render
from sempelmas.web.i18n import current_lang
from sempelmas.web.lookups import request_or_404
from sempelmas.web.private_files import send_private
from sempelmas.web.signer.blueprint import bp
from sempelmas.web.signer.signing_forms import (
    BSRE_PASSPHRASE_HINT,
    PASSPHRASE_HINT,
    TOTP_HINT,
    BatchForm,
    ReplaceForm,
    SendBackForm,
    SignForm,
)

KEY_SETUP_URL = "/penandatangan/kunci"


def _key_setup_url() -> str:
    """The PKI part's page where an official sets a signing passphrase and gets a certificate."""
    from flask import current_app

    for endpoint in ("signer.key", "signer.keys", "signer.kunci", "signer.key_setup"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return KEY_SETUP_URL


def _desk_facts() -> dict:
    """Who signs, in which capacity, through which backend and what it offers (BSrE: no batch, no key page, a
    TOTP field with the v2 API)."""
    cert = letter_certs.active_certificate(current_user)
    official = issuing.official_of(current_user, cert)
    backend = signer_backends.backend_name(official)
    bsre = backend == signer_backends.BSRE
    return {"certificate": cert, "official": official, "capacity": issuing.capacity_of(official),
            "key_url": _key_setup_url(), "passphrase_hint": BSRE_PASSPHRASE_HINT if bsre else PASSPHRASE_HINT,
            "batch_max": issuing.BATCH_MAX, "backend": backend,
            "capabilities": signer_backends.capabilities_of(official), "totp_hint": TOTP_HINT,
            # BSrE holds the key: the official can sign without a certificate of the kelurahan CA
            "can_sign": bsre or cert is not None}


def queue_context(form: BatchForm | None = None, *, message: str | None = None) -> dict:
    """The queue page's context: the page asked for in ``?page=`` (the batch form posts back to it)."""
    queue = issuing.signing_queue(digit_rules.query_int(request.args, "page", 1))
    return {"queue": queue, "items": queue.items, "form": form or BatchForm(formdata=None), "message": message,
            "batches": batch_signing.running_batches(current_user), **_desk_facts()}


def queue_page(form: BatchForm | None = None, *, status: int = 200, message: str | None = None):
    return render("signer/queue.html", status=status, **queue_context(form, message=message))


def _detail(letter_request, *, sign_form=None, back_form=None, replace_form=None, status=200, message=None):
    letter = issuing.latest_letter_of(letter_request.id)
    if lifecycle.target(letter_request, "sign") is None and letter is None:
        abort(404)  # signers see what waits for them and what was signed, not the other steps
    version = {"version": letter_request.version}
    return render("signer/request.html", r=letter_request, snap=letter_request.service_snapshot, letter=letter,
                  answers=review.answers(letter_request), declared=declared_data.of_request(letter_request),
                  declared_questions=declared_data.by_field(), declared_shown=declared_data.shown,
                  awaiting=lifecycle.target(letter_request, "sign") is not None,
                  sign_form=sign_form or SignForm(formdata=None, data=version),
                  back_form=back_form or SendBackForm(formdata=None, data=version),
                  replace_form=replace_form or ReplaceForm(formdata=None),
                  letter_labels=letters.LETTER_STATUS_LABELS,
                  message=message, status=status, **_desk_facts())


@bp.get("/permohonan/<tracking_number>")
@role_required(Role.SIGNER)
def request_detail(tracking_number: str):
    letter_request = request_or_404(tracking_number)
    resp = _detail(letter_request)
    # recorded after the page is rendered: the commit expires what the page read (audit.record_view)
    audit.record_view("request.view", letter_request, tracking_number=letter_request.tracking_number)
    db.session.commit()
    return resp


@bp.get("/permohonan/<tracking_number>/pratinjau.pdf")
@role_required(Role.SIGNER)
def preview_pdf(tracking_number: str):
    """The letter as it will be signed, without number and QR (marked PRATINJAU), for the check."""
    from sempelmas.services.letters import render as letter_render

    letter_request = request_or_404(tracking_number)
    if lifecycle.target(letter_request, "sign") is None:
        abort(404)
    facts = _desk_facts()
    try:
        pdf = letter_render.render_pdf(letter_request, number=None, signed_at=None, official=facts["official"],
                                       capacity=facts["capacity"], verify_url=None)
    except LetterRenderError as e:
        return _detail(letter_request, status=422, message=_("Surat tidak dapat dibuat: %(m)s", m=e.message))
    audit.record("letter.preview", letter_request, tracking_number=letter_request.tracking_number)
    db.session.commit()
    # shown in a frame of the signer's own page; nothing else may frame it
    resp = send_private(pdf, mimetype="application/pdf", filename=f"pratinjau-{letter_request.tracking_number}.pdf",
                        csp="default-src 'none'; object-src 'self'; img-src 'self' data:; "
                            "style-src 'unsafe-inline'; frame-ancestors 'self'")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def _pki_refusal(e: letter_ca.PkiError) -> int:
    if isinstance(e, letter_ca.TooManyAttempts):
        return 429
    if isinstance(e, signer_backends.SigningRefused) and e.kind in ("unavailable", "timeout", "bad_response"):
        return 503  # the gateway, not the official: try again later
    if isinstance(e, letter_ca.WrongPassphrase):
        return 422
    return 409


@bp.post("/permohonan/<tracking_number>/tanda-tangan")
@role_required(Role.SIGNER)
def sign_one(tracking_number: str):
    letter_request = request_or_404(tracking_number)
    form = SignForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _detail(letter_request, sign_form=form, status=422, message=_("Periksa kembali isian yang ditandai."))
    if form.version.data != letter_request.version:
        return _detail(letter_request, status=409, message=str(lifecycle.ConcurrentUpdateError().message))
    try:
        letter = issuing.issue_letter(letter_request, current_user, form.passphrase.data, totp=form.totp.data)
    except letter_ca.PkiError as e:
        db.session.rollback()
        if isinstance(e, letter_ca.WrongPassphrase):
            add_error(form, "passphrase", e.message)
        return _detail(request_or_404(tracking_number), sign_form=form, status=_pki_refusal(e), message=e.message)
    except (issuing.IssueError, lifecycle.RequestError, LetterRenderError, NumberFormatError) as e:
        db.session.rollback()
        return _detail(request_or_404(tracking_number), status=409, message=e.message)
    flash(_("Surat %(tn)s ditandatangani dengan nomor %(n)s.", tn=tracking_number, n=letter.number), "success")
    return redirect(url_for("signer.home"), code=303)


def _valid_with_reason(form) -> bool:
    """The form validates (a bad CSRF token → 400) and its reason is not blank."""
    valid = form.validate_on_submit()
    if "csrf_token" in form.errors:
        abort(400)
    if valid and not (form.reason.data or "").strip():
        add_error(form, "reason", _("Wajib diisi."))
        valid = False
    return valid


@bp.post("/permohonan/<tracking_number>/kembalikan")
@role_required(Role.SIGNER)
def send_back(tracking_number: str):
    letter_request = request_or_404(tracking_number)
    form = SendBackForm()
    valid = _valid_with_reason(form)
    if not valid:
        return _detail(letter_request, back_form=form, status=422, message=_("Periksa kembali isian yang ditandai."))
    try:
        lifecycle.transition(letter_request, "send_back", actor=current_user, note=form.reason.data,
                             expected_version=form.version.data)
        db.session.commit()
    except lifecycle.RequestError as e:
        db.session.rollback()
        return _detail(request_or_404(tracking_number), status=409, message=e.message)
    flash(_("Permohonan %(tn)s dikembalikan ke petugas.", tn=tracking_number), "success")
    return redirect(url_for("signer.home"), code=303)


@bp.post("/tanda-tangan")
@role_required(Role.SIGNER)
def sign_batch():
    """Start a batch: the passphrase is checked here (a wrong one is answered in the form); the letters are
    signed by the batch's own process while the official watches its page (services/letters/batch_signing.py)."""
    form = BatchForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return queue_page(form, status=422, message=_("Periksa kembali isian yang ditandai."))
    running = batch_signing.running_batches(current_user)
    if running:  # a second submit of the same form (or another tab) while the first batch is being signed
        flash(_("Penandatanganan massal Anda sebelumnya masih berjalan; tunggu sampai selesai."), "error")
        return redirect(url_for("signer.batch_job", job_id=running[0].id), code=303)
    try:
        job, held = batch_signing.start(form.selected.data or [], current_user, form.passphrase.data,
                                        lang=current_lang())
    except letter_ca.PkiError as e:
        db.session.rollback()
        if isinstance(e, letter_ca.WrongPassphrase):
            add_error(form, "passphrase", e.message)
        return queue_page(form, status=_pki_refusal(e), message=e.message)
    except issuing.IssueError as e:
        db.session.rollback()
        return queue_page(form, status=422, message=e.message)
    db.session.commit()
    batch_signing.launch(job, held)
    return redirect(url_for("signer.batch_job", job_id=job.id), code=303)


@bp.get("/tanda-tangan/<int:job_id>")
@role_required(Role.SIGNER)
def batch_job(job_id: int):
    """A batch's progress and per-letter results; htmx polls it until the batch ends. The official's own only."""
    job = batch_signing.batch_of(job_id, current_user)
    if job is None:
        abort(404)
    result = job.result or {}
    return render("signer/batch.html", block="job", job=job, letters=result.get("letters") or [],
                  signed=result.get("signed", 0), poll=not job.finished)


@bp.post("/permohonan/<tracking_number>/ganti")
@role_required(Role.SIGNER)
def replace(tracking_number: str):
    """A replacement letter: a new number and a new signature for the same request; the old one → diganti."""
    letter_request = request_or_404(tracking_number)
    old = issuing.latest_letter_of(letter_request.id)
    if old is None:
        abort(404)
    form = ReplaceForm()
    valid = _valid_with_reason(form)
    if not valid:
        return _detail(letter_request, replace_form=form, status=422,
                       message=_("Periksa kembali isian yang ditandai."))
    try:
        new = issuing.issue_replacement(old, current_user, form.passphrase.data, form.reason.data,
                                        totp=form.totp.data)
    except letter_ca.PkiError as e:
        db.session.rollback()
        if isinstance(e, letter_ca.WrongPassphrase):
            add_error(form, "passphrase", e.message)
        return _detail(request_or_404(tracking_number), replace_form=form, status=_pki_refusal(e),
                       message=e.message)
    except (issuing.IssueError, LetterRenderError, NumberFormatError) as e:
        db.session.rollback()
        return _detail(request_or_404(tracking_number), status=409, message=e.message)
    flash(_("Surat pengganti %(n)s diterbitkan; surat %(old)s kini berstatus diganti.", n=new.number,
            old=old.number), "success")
    return redirect(url_for("signer.request_detail", tracking_number=tracking_number), code=303)
