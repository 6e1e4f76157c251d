"""Admin: kelurahan profile, officials, holidays, accounts and roles, register import, service catalogue, audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.jobs import Job
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.profile import (
    DEFAULT_BACKGROUND_COLOR,
    DEFAULT_THEME_COLOR,
    Holiday,
    KelurahanProfile,
)
from sempelmas.services.files.uploads import UploadError, reencode_image
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import numbering, template_check, templates
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.operations import outbox as outbox_service
from sempelmas.services.people import accounts, register_import, register_jobs, staff_accounts
from sempelmas.services.requests import catalogue, catalogue_english
from sempelmas.web.access import role_required
from sempelmas.web.admin.blueprint import bp
from sempelmas.web.admin.forms import (
    HolidayForm,
    ImportForm,
    LetterTemplateForm,
    ProfileForm,
    RolesForm,
    ServiceForm,
    StaffAccountForm,
)
from sempelmas.web.forms import EmptyForm, add_error, form_status, save_form
from sempelmas.web.htmx import render
from sempelmas.web.letter_http import letter_response
from sempelmas.web.lookups import get_or_404


@bp.get("/")
@role_required(Role.ADMIN)
def home():
    return render("admin/home.html")


def _profile_or_blank() -> KelurahanProfile:
    prof = profile_service.profile_row()
    if prof is None:
        prof = KelurahanProfile(province_name="", regency_name="", district_name="", village_name="",
                                region_code="", address="", number_format=numbering.DEFAULT_FORMAT,
                                number_scope="semua", paper_size="A4", verify_offers_pdf=False)
        db.session.add(prof)
    return prof


def _posted_logo(form) -> tuple[bytes, str] | None:
    """The logo uploaded with the form, re-encoded like any upload (it is printed on letters: a transparency-free
    JPEG); a refusal goes on the form's logo field."""
    upload = form.logo.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return reencode_image(upload.read()), "image/jpeg"
    except UploadError as e:
        add_error(form, "logo", str(e))
        return None


def _profile_data(form, prof: KelurahanProfile) -> dict:
    data = {name: (getattr(form, name).data or None) for name in profile_service.EDITABLE_FIELDS}
    for required_name in ("village_kind", "province_name", "regency_kind", "regency_name",
                          "district_name", "village_name", "region_code", "address",
                          "timezone", "tracking_prefix", "number_format", "number_scope", "paper_size"):
        data[required_name] = data[required_name] or ""
    data["number_format"] = data["number_format"].strip() or prof.number_format or numbering.DEFAULT_FORMAT
    data["rw_endorses"] = bool(form.rw_endorses.data)
    data["verify_offers_pdf"] = bool(form.verify_offers_pdf.data)
    for colour, default in (("theme_color", DEFAULT_THEME_COLOR), ("background_color", DEFAULT_BACKGROUND_COLOR)):
        data[colour] = (data[colour] or getattr(prof, colour) or default).lower()
    return data


@bp.route("/profil", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def profile():
    prof = _profile_or_blank()
    form = ProfileForm(obj=prof)
    if form.validate_on_submit():
        logo = _posted_logo(form)
        if not form.logo.errors:
            changed = profile_service.update_profile(prof, _profile_data(form, prof), logo, actor=current_user)
            db.session.commit()
            flash(_("Profil tersimpan.") if changed else _("Tidak ada perubahan."), "success")
            return redirect(url_for("admin.profile"), code=303)
    status = form_status(form)
    if status == 422:
        db.session.rollback()
    return render("admin/profile.html", form=form, status=status)


@bp.route("/libur", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def holidays():
    form = HolidayForm()
    if form.validate_on_submit():
        saved, holiday = save_form(form, lambda: profile_service.add_holiday(
            form.date.data, form.name.data, actor=current_user), profile_service.HolidayError)
        if saved:
            flash(_("Hari libur %(name)s ditambahkan.", name=holiday.name), "success")
            return redirect(url_for("admin.holidays", tahun=holiday.date.year), code=303)
    status = form_status(form)
    year = digit_rules.query_int(request.args, "tahun", low=2000, high=2100)
    if year is None:
        year = form.date.data.year if form.date.data else profile_service.local_today().year
    return render("admin/holidays.html", form=form, status=status, year=year,
                  holidays=profile_service.holidays_in_year(year))


@bp.post("/libur/<int:holiday_id>/hapus")
@role_required(Role.ADMIN)
def holiday_remove(holiday_id: int):
    holiday = get_or_404(Holiday, holiday_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    year, name = holiday.date.year, holiday.name
    profile_service.remove_holiday(holiday, actor=current_user)
    db.session.commit()
    flash(_("Hari libur %(name)s dihapus.", name=name), "success")
    return redirect(url_for("admin.holidays", tahun=year), code=303)


@bp.route("/akun", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def accounts_list():
    form = StaffAccountForm()
    if form.validate_on_submit():
        saved, user = save_form(form, lambda: staff_accounts.create_staff_account(
            form.username.data, form.full_name.data, form.password.data, form.roles.data,
            actor=current_user, rt=form.rt.data, rw=form.rw.data), accounts.AccountError)
        if saved:
            flash(_("Akun %(u)s dibuat.", u=user.username), "success")
            return redirect(url_for("admin.accounts_list"), code=303)
    return render("admin/accounts.html", form=form, status=form_status(form),
                  users=staff_accounts.list_accounts(request.args.get("q", "").strip()))


@bp.route("/akun/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def account_edit(user_id: int):
    user = get_or_404(User, user_id)
    form = RolesForm()
    status = 200
    if request.method == "GET":
        form.roles.data = sorted(user.role_codes)
        scoped = user.grant(Role.RT_HEAD) or user.grant(Role.RW_HEAD)
        form.rt.data = scoped.rt if scoped else ""
        form.rw.data = scoped.rw if scoped else ""
        form.active.data = user.is_active
    elif form.validate_on_submit():
        saved, _done = save_form(form, lambda: staff_accounts.update_roles(
            user, set(form.roles.data or []), actor=current_user, rt=form.rt.data, rw=form.rw.data,
            active=form.active.data), accounts.AccountError)
        if saved:
            flash(_("Peran akun tersimpan."), "success")
            return redirect(url_for("admin.account_edit", user_id=user.id), code=303)
        status = 422
    else:
        status = 422
    return render("admin/account_edit.html", form=form, account=user, status=status)


@bp.route("/impor", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def import_register():
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None or not getattr(upload, "filename", ""):
            add_error(form, "file", _("Pilih berkas CSV atau XLSX."))
        else:
            try:
                job = register_jobs.start_preview(upload.read(), upload.filename, actor=current_user)
            except register_import.ImportFileError as e:
                add_error(form, "file", str(e))
            else:
                db.session.commit()
                return redirect(url_for("admin.import_job", job_id=job.id), code=303)
        status = 422
    recent = register_jobs.recent_jobs()
    return render("admin/import.html", form=form, recent=recent, status=status)


def _import_job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind not in register_jobs.JOB_KINDS:
        abort(404)
    return job


@bp.get("/impor/<int:job_id>")
@role_required(Role.ADMIN)
def import_job(job_id: int):
    job = _import_job_or_404(job_id)
    preview = job.kind == "register_preview" and job.status == "selesai"
    return render("admin/import_job.html", block="job", job=job, form=EmptyForm(), poll=not job.finished,
                  applied=register_jobs.apply_of(job) if preview else None,
                  file_kept=preview and register_jobs.stored_file(job) is not None,
                  expires_at=register_jobs.file_expires_at(job) if preview else None,
                  file_gone=register_jobs.file_gone_message())


@bp.post("/impor/<int:job_id>/terapkan")
@role_required(Role.ADMIN)
def import_apply(job_id: int):
    preview = _import_job_or_404(job_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        job = register_jobs.start_apply(preview, actor=current_user)
    except register_import.ImportFileError as e:
        flash(str(e), "error")
        return redirect(url_for("admin.import_job", job_id=preview.id), code=303)
    db.session.commit()
    return redirect(url_for("admin.import_job", job_id=job.id), code=303)


@bp.get("/kotak-keluar")
@role_required(Role.ADMIN)
def outbox():
    filter_status = request.args.get("status") or None
    if filter_status not in (None, *OutboxStatus):
        filter_status = None
    counts, messages = outbox_service.outbox_overview(filter_status)
    return render("admin/outbox.html", counts=counts, messages=messages, filter_status=filter_status,
                  statuses=list(OutboxStatus), form=EmptyForm())


@bp.post("/kotak-keluar/<int:message_id>/kirim-ulang")
@role_required(Role.ADMIN)
def outbox_resend(message_id: int):
    message = get_or_404(OutboxMessage, message_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if message.status == OutboxStatus.FAILED:
        outbox_service.resend(message, current_user)
        db.session.commit()
        flash(_("Pesan dijadwalkan untuk dikirim ulang."), "success")
    else:
        flash(_("Hanya pesan yang gagal yang dapat dikirim ulang."), "error")
    return redirect(url_for("admin.outbox", status=OutboxStatus.FAILED), code=303)


@bp.get("/layanan")
@role_required(Role.ADMIN)
def services():
    return render("admin/services.html", services=catalogue.all_services())


@bp.route("/layanan/baru", methods=["GET", "POST"])
@bp.route("/layanan/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def service_edit(code: str | None = None):
    service = None
    if code is not None:
        service = catalogue.get_service(code, enabled_only=False) or abort(404)
    form = ServiceForm(obj=service)
    if request.method == "GET":
        if service is not None:
            form.requirements.data = catalogue.requirement_lines(service.requirements)
            form.fields.data = catalogue.field_lines(service.fields)
            form.requirements_en.data = catalogue_english.requirement_english_lines(service.requirements)
            form.fields_en.data = catalogue_english.field_english_lines(service.fields)
        else:
            form.needs_rt_endorsement.data = form.paper_pengantar_when_no_rt_account.data = True
            form.enabled.data = True
    if service is not None:
        form.code.data = service.code  # fixed once created: requests and links use it
    if form.validate_on_submit():
        saved = _save_service(form, service)
        if saved is not None:
            flash(_("Layanan %(name)s tersimpan (versi %(v)d).", name=saved.name, v=saved.version), "success")
            return redirect(url_for("admin.service_edit", code=saved.code), code=303)
        return render("admin/service_edit.html", form=form, service=service, status=422)
    return render("admin/service_edit.html", form=form, service=service, status=form_status(form))


def _save_service(form, service):
    """The service as the form describes it, saved and committed; None with the refusals on the form."""
    requirements, req_errors = catalogue.parse_requirement_lines(form.requirements.data)
    fields, field_errors = catalogue.parse_field_lines(form.fields.data)
    errors = {"requirements": req_errors, "fields": field_errors,
              "requirements_en": catalogue_english.add_requirement_english(requirements, form.requirements_en.data),
              "fields_en": catalogue_english.add_field_english(fields, form.fields_en.data)}
    for name, messages in errors.items():
        for message in messages:
            add_error(form, name, message)
    if any(errors.values()):
        return None
    data = {name: getattr(form, name).data for name in catalogue.SERVICE_ATTRS}
    data["sort_order"] = data["sort_order"] or 0
    data["code"] = (data["code"] or "").strip()
    data["number_format"] = (data.get("number_format") or "").strip() or None
    try:
        saved = catalogue.save_service(service, data, requirements, fields, actor=current_user)
    except catalogue.CatalogueError as e:
        db.session.rollback()
        for name, messages in e.errors.items():
            for message in messages:
                add_error(form, name, message)
        return None
    db.session.commit()
    return saved


# --- letter templates ---------------------------------------------------------------------------

@bp.get("/templat-surat")
@role_required(Role.ADMIN)
def letter_templates():
    used = {}
    for service in catalogue.all_services():
        used.setdefault(service.letter_template, []).append(service.name)
    return render("admin/letter_templates.html", templates=templates.template_names(), used=used)


def _letter_template(name: str) -> tuple[str, bool]:
    """(the template's source, whether it was edited); a new service's letter starts from the domisili one."""
    found = templates.template_source(name)
    if found is None and name in {s.letter_template for s in catalogue.all_services()}:
        found = (templates.default_source("domisili") or "", False)
    if found is None:
        abort(404)
    return found


def _template_page(name: str, form, edited: bool, *, problem: str | None = None, status: int = 200):
    if problem:
        add_error(form, "source", problem)
    return render("admin/letter_template_edit.html", form=form, name=name, edited=edited,
                  has_default=templates.default_source(name) is not None, problem=problem,
                  variables=templates.TEMPLATE_VARIABLES, status=status)


def _template_reset(name: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if templates.default_source(name) is None:
        flash(_("Templat ini tidak punya versi bawaan."), "error")
    elif template_check.reset_template(name, actor=current_user):
        db.session.commit()
        flash(_("Templat %(name)s kembali ke versi bawaan.", name=name), "success")
    return redirect(url_for("admin.letter_template_edit", name=name), code=303)


def _template_preview(name: str, form, edited: bool, candidate: str, *, as_pdf: bool):
    try:
        body = template_check.render_demo(name, source=candidate, as_pdf=as_pdf)
    except LetterRenderError as e:
        problem = e.message if not e.line else _("Baris %(line)d: %(error)s", line=e.line, error=e.message)
        return _template_page(name, form, edited, problem=problem, status=422)
    return letter_response(body, filename=f"pratinjau-templat-{name}.pdf")


@bp.route("/templat-surat/<name>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def letter_template_edit(name: str):
    source, edited = _letter_template(name)
    if request.method == "GET":
        return _template_page(name, LetterTemplateForm(data={"source": source}), edited)
    action = request.form.get("action", "simpan")
    if action == "kembalikan":
        return _template_reset(name)
    form = LetterTemplateForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _template_page(name, form, edited, status=422)
    candidate = form.source.data.replace("\r\n", "\n")
    if action in ("pratinjau", "pratinjau_html"):
        return _template_preview(name, form, edited, candidate, as_pdf=action == "pratinjau")
    try:
        template_check.save_template(name, candidate, actor=current_user)
    except LetterRenderError as e:
        db.session.rollback()
        return _template_page(name, form, edited, problem=e.message, status=422)
    db.session.commit()
    flash(_("Templat %(name)s tersimpan.", name=name), "success")
    return redirect(url_for("admin.letter_template_edit", name=name), code=303)


