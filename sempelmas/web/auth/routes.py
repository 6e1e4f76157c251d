"""Login, logout, registration, password change and reset."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from sempelmas.domain import nik as nik_rules
from sempelmas.extensions import db, limiter, login_limit, register_check_limit, register_limit, reset_limit
from sempelmas.models.accounts import Role, User
from sempelmas.services.kelurahan import readiness
from sempelmas.services.people import (
    account_login,
    account_registration,
    accounts,
    login_guard,
    password_resets,
    passwords,
    registration_uploads,
    sessions,
)
from sempelmas.services.people.registration_uploads import HeldPhotoError
from sempelmas.web import devices, registration_photo
from sempelmas.web.access import login_required
from sempelmas.web.auth.forms import ChangePasswordForm, LoginForm, ResetForm
from sempelmas.web.forms import EmptyForm, add_error, form_status, save_form
from sempelmas.web.htmx import render
from sempelmas.web.private_files import IMAGE_CSP, send_private
from sempelmas.web.redirects import safe_next
from sempelmas.web.registration_forms import RegisterForm

bp = Blueprint("auth", __name__)


def home_for(user: User) -> str:
    """The first page each role sees after login. An admin of a production install not yet ready to serve (the
    "Siap melayani" checklist not once found all done) lands on the checklist itself (issue 17)."""
    if user.has_role(Role.ADMIN) and readiness.shows_checklist():
        return url_for("admin.readiness_page")
    for role, endpoint in (
        (Role.ADMIN, "admin.home"), (Role.STAFF, "staff.home"), (Role.SIGNER, "signer.home"),
        (Role.RT_HEAD, "rt.home"), (Role.RW_HEAD, "rt.home"), (Role.ASSISTANT, "resident.assisted"),
    ):
        if user.has_role(role):
            return url_for(endpoint)
    return url_for("resident.home")


@bp.get("/mulai")
def start():
    """Where the installed app opens (the manifest's start_url): a signed-in person's home, saving the tap from the
    public page at every launch; anyone else the public page."""
    resp = redirect(home_for(current_user) if current_user.is_authenticated else url_for("public.index"))
    resp.headers["Cache-Control"] = "no-store"  # who is signed in changes; the answer must be asked each time
    return resp


def _client() -> login_guard.Client:
    """Who is trying to sign in: the address and the accounts this browser's device cookie vouches for."""
    return login_guard.Client(address=request.remote_addr, devices=devices.read())


def _sign_in(user: User, remember: bool = False) -> None:
    """Open a server-side session for ``user`` and put its id in the cookies (Flask-Login)."""
    if current_user.is_authenticated:  # signing in again on this browser (another account): end the old one
        sessions.logout(current_user)
    sessions.start(user, remember=remember, user_agent=request.user_agent.string, ip=request.remote_addr)
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = account_login.authenticate(form.identifier.data, form.password.data, client=_client())
        except accounts.AccountError as e:
            db.session.commit()  # failed-login counters and the audit entry must persist
            add_error(form, None, e.message)
            return render_template("auth/login.html", form=form), 200
        _sign_in(user, remember=bool(form.remember.data))
        db.session.commit()
        resp = redirect(safe_next(request.args.get("next")) or home_for(user))
        devices.remember(resp, user)
        return resp
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """End this session on the server (a copied session or remember-me cookie stops working too)."""
    if current_user.is_authenticated:
        sessions.logout(current_user)
        db.session.commit()
    logout_user()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/akun/keluar-semua")
@login_required
def logout_everywhere():
    """End every session of the account, this one included (a lost phone, a shared computer)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    ended = sessions.logout_everywhere(current_user)
    db.session.commit()
    logout_user()
    flash(ngettext("Anda sudah keluar dari semua perangkat (%(num)d sesi). Silakan masuk lagi.",
                   "Anda sudah keluar dari semua perangkat (%(num)d sesi). Silakan masuk lagi.", ended), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/akun/sesi/<session_id>/akhiri")
@login_required
def end_session(session_id: str):
    """End one other signed-in device of the account, from the account page."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not sessions.end_other(current_user, session_id):
        abort(404)
    db.session.commit()
    flash(_("Sesi di perangkat itu sudah diakhiri."), "success")
    return redirect(url_for("auth.change_password"), code=303)


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(register_limit, methods=["POST"])
def register():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    form = RegisterForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and registration_photo.keep_photo(form) and valid:
        try:  # the photo's copy is kept only if the account is committed below
            user = account_registration.register_resident(form.registration_data(registration_photo.claim_photo(form)))
        except (accounts.AccountError, HeldPhotoError) as e:
            db.session.rollback()
            add_error(form, e.field, e.message)
        else:
            _sign_in(user)
            db.session.commit()
            flash(_("Pendaftaran berhasil. Akun Anda menunggu verifikasi oleh petugas atau ketua RT."), "success")
            resp = redirect(url_for("resident.home"), code=303)
            devices.remember(resp, user)
            return resp
    resp = make_response(render_template("auth/register.html", form=form), form_status(form))
    resp.headers["Cache-Control"] = "private, no-store"  # it may carry the passwords typed
    return resp


@bp.get("/daftar/cek-data")
@limiter.limit(register_check_limit)
def check_register():
    """Live check once NIK, KK number and birth date are typed: whether the register knows the person (then
    birth place, gender, address, RT and RW are not asked), else those fields, keeping what was typed in them."""
    form = RegisterForm(formdata=request.args, meta={"csrf": False})
    form.check_register()
    if request.args.get("register_view") == form.register_view:
        return "", 204  # unchanged: a late answer must not swap away what is being typed in those fields
    return render("auth/_register_extra.html", form=form)


@bp.get("/daftar/foto-ktp/<token>")
def held_ktp_photo(token: str):
    """The thumbnail of a KTP photo held across a refused registration: only to the browser session that
    uploaded it, never cached."""
    try:
        held = registration_uploads.find(token, registration_photo.binding())
    except HeldPhotoError:
        abort(404)
    return send_private(registration_uploads.path_of(held), mimetype="image/jpeg", csp=IMAGE_CSP, read_at_once=True)


@bp.get("/daftar/cek-nik")
def check_nik():
    """Live check while typing: the format, and once filled in, the gender and birth date the NIK encodes
    against those typed (the duplicate check happens at submit)."""
    value = request.args.get("nik", "")
    error = None
    info = None
    warnings: list[str] = []
    if nik_rules.clean_digits(value):
        try:
            info = nik_rules.parse(value)
        except nik_rules.NikError as e:
            error = e.message
        else:
            gender = request.args.get("gender") if request.args.get("gender") in ("L", "P") else None
            try:
                birth = date.fromisoformat(request.args.get("birth_date", ""))
            except ValueError:
                birth = None
            warnings = nik_rules.compare_with_declared(info, gender, birth)
    return render("auth/_nik_check.html", error=error, info=info, warnings=warnings)


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def change_password():
    """The account page: the password, and the devices signed in to the account."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        saved, _result = save_form(form, lambda: passwords.change_password(
            current_user, form.current_password.data, form.password.data), accounts.AccountError)
        if saved:
            flash(_("Kata sandi sudah diganti. Perangkat lain sudah dikeluarkan."), "success")
            resp = redirect(url_for("auth.change_password"), code=303)
            devices.remember(resp, current_user)  # this device stays trusted under the new password
            return resp
    # this device first, then the others by when they were last used
    active = sorted(sessions.active(current_user), key=lambda r: r.id != current_user.session_id)
    return render_template("auth/change_password.html", form=form, sessions=active,
                           device_label=sessions.device_label, session_form=EmptyForm())


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@limiter.limit(reset_limit, methods=["POST"])
def reset_password():
    form = ResetForm()
    if form.validate_on_submit():
        try:
            user = password_resets.redeem_reset_code(form.nik.data, form.code.data, form.password.data,
                                                     client=_client())
        except accounts.AccountError as e:
            db.session.commit()  # keep the failure count
            add_error(form, e.field, e.message)
        else:
            db.session.commit()
            flash(_("Kata sandi baru sudah disimpan. Silakan masuk."), "success")
            resp = redirect(url_for("auth.login"), code=303)
            devices.remember(resp, user)  # the code came from the office: this device is the owner's
            return resp
    return render_template("auth/reset.html", form=form)
