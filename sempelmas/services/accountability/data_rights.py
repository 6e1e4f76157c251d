"""Residents' rights over their personal data (UU 27/2022 PDP): see it all, have it corrected, have it erased.

``export`` gathers everything held about one account (never another's); ``request_correction`` and
``request_deletion`` open a staff task; ``apply_correction``, ``refuse`` and ``grant_deletion`` close it.
Every step is audited. Services flush, never commit; files are removed only after the caller commits
(``remove_files``), so a failed transaction never loses a file whose row survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import selectinload

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import phone as phone_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.masking import mask_nik
from sempelmas.extensions import db
from sempelmas.models.accounts import (
    ROLE_LABELS,
    AccountStatus,
    LoginThrottle,
    PasswordResetCode,
    Role,
    User,
    UserSession,
)
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.complaints import Complaint
from sempelmas.models.data_rights import DataRequestKind, DataRequestStatus, DataRightsRequest
from sempelmas.models.letters import Letter
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.accountability import audit, complaints
from sempelmas.services.files.uploads import CORRECTION_EVIDENCE, KTP, stored_path
from sempelmas.services.letters import issuing
from sempelmas.services.operations import notify, outbox
from sempelmas.services.people.accounts import AccountError, check_phone_free, family_members
from sempelmas.services.requests import attachments, lifecycle

#: uploads/<EVIDENCE_KIND>/ holds correction evidence photos
EVIDENCE_KIND = CORRECTION_EVIDENCE
#: the name a deleted account keeps (its requests stay in the archive and still point at it)
ERASED_NAME = "Akun dihapus"
EXPORT_FORMAT = "sempelmas-data-saya/1"

#: what a resident may ask to correct: code → (label, where it lives). "lainnya" is anything else
#: (NIK and KK included: staff check the documents and change them through the register)
CORRECTABLE = {
    "full_name": (_l("Nama lengkap"), "resident"),
    "birth_place": (_l("Tempat lahir"), "resident"),
    "birth_date": (_l("Tanggal lahir"), "resident"),
    "gender": (_l("Jenis kelamin"), "resident"),
    "address": (_l("Alamat"), "resident"),
    "rt": (_l("RT"), "resident"),
    "rw": (_l("RW"), "resident"),
    "religion": (_l("Agama"), "resident"),
    "marital_status": (_l("Status perkawinan"), "resident"),
    "occupation": (_l("Pekerjaan"), "resident"),
    "phone": (_l("Nomor HP"), "account"),
    "email": (_l("E-mail"), "account"),
    "lainnya": (_l("Lainnya (jelaskan di keterangan)"), None),
}
_MAX_LEN = {"full_name": 120, "birth_place": 80, "address": 255, "religion": 30, "marital_status": 30,
            "occupation": 80, "email": 254}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def retained_items() -> list[str]:
    """What a granted deletion keeps, and why (shown to the resident before and after)."""
    days = current_app.config.get("ATTACHMENT_RETENTION_DAYS")
    kept_files = (_("Berkas lampiran yang menjadi dasar surat yang sudah terbit, sampai masa simpan lampiran "
                    "(%(days)d hari setelah permohonan selesai) berakhir.", days=int(days)) if days
                  else _("Berkas lampiran yang menjadi dasar surat yang sudah terbit, sampai masa simpan lampiran "
                         "yang ditetapkan kelurahan berakhir."))
    return [
        _("Data Anda dalam register penduduk kelurahan: itu arsip kependudukan, bukan bagian dari akun."),
        _("Surat yang sudah ditandatangani dan register surat keluar: arsip resmi, dan keasliannya harus "
          "tetap bisa diperiksa lewat kode QR."),
        _("Catatan permohonan surat (nomor, riwayat status, pengantar RT/RW) selama masa retensi arsip."),
        kept_files,
        _("Log audit: kelurahan wajib dapat menunjukkan siapa mengakses atau mengubah data pribadi."),
    ]


def erased_items() -> list[str]:
    """What a granted deletion erases."""
    return [
        _("Kata sandi, nomor HP, e-mail dan nama akun: Anda tidak bisa masuk lagi."),
        _("Foto KTP dan data yang Anda isi saat mendaftar."),
        _("Lampiran permohonan lain (draf, ditolak, dibatalkan, atau sudah diganti) dan foto bukti koreksi."),
        _("Notifikasi dan pesan yang belum terkirim."),
        _("Daftar perangkat dan alamat tempat Anda pernah masuk."),
        _("Nama, nomor HP, e-mail dan foto pada pengaduan Anda (isi pengaduan dan jawabannya tetap sebagai "
          "catatan pelayanan, tanpa nama)."),
    ]


class DataRightsError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


# ----------------------------------------------------------------------------- export


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _who(actor_id: int | None, user: User, users: dict[int, User]) -> str:
    """"Anda" for the resident, otherwise the role (staff names are not the resident's data)."""
    if actor_id is None:
        return str(_("Sistem"))
    if actor_id == user.id:
        return str(_("Anda"))
    other = users.get(actor_id) or db.session.get(User, actor_id)
    if other is None:
        return str(_("Sistem"))
    users[actor_id] = other
    roles = [str(ROLE_LABELS[g.role]) for g in other.roles if g.role != Role.RESIDENT]
    return ", ".join(roles) if roles else str(_("Warga lain"))


def _requests_of(user: User) -> list[LetterRequest]:
    """Requests the account made, and requests about its register entry."""
    cond = [LetterRequest.applicant_user_id == user.id]
    if user.resident_id is not None:
        cond.append(LetterRequest.subject_resident_id == user.resident_id)
    return list(db.session.scalars(select(LetterRequest).where(or_(*cond)).order_by(LetterRequest.id).options(
        selectinload(LetterRequest.events), selectinload(LetterRequest.attachments),
        selectinload(LetterRequest.endorsements), selectinload(LetterRequest.service_version),
        selectinload(LetterRequest.subject))))


def _complaints_of(user: User) -> list[Complaint]:
    """Complaints the account filed (public complaints carry no account: they are not in anyone's export)."""
    return list(db.session.scalars(select(Complaint).where(Complaint.user_id == user.id)
                                   .options(selectinload(Complaint.events), selectinload(Complaint.request))
                                   .order_by(Complaint.id)))


def _resident_dict(r: Resident) -> dict:
    return {"nik": r.nik, "nomor_kk": r.kk_number, "nama_lengkap": r.full_name, "tempat_lahir": r.birth_place,
            "tanggal_lahir": _iso(r.birth_date), "jenis_kelamin": r.gender, "alamat": r.address, "rt": r.rt,
            "rw": r.rw, "agama": r.religion, "status_perkawinan": r.marital_status, "pekerjaan": r.occupation,
            "kewarganegaraan": r.citizenship, "sumber": r.source, "dibuat": _iso(r.created_at),
            "diubah": _iso(r.updated_at)}


def export(user: User) -> dict:
    """Everything held about ``user``'s account, as plain JSON-ready data.

    Rules: only this account and its own register entry; requests it made or that are about it (with
    their history, endorsements, attachment metadata and letters); its notifications, its data requests;
    audit entries where it is the actor, the one acted for, or the object. Family members appear by name
    and masked NIK only; other people in histories appear by role, never by name.
    """
    users: dict[int, User] = {}
    resident = user.resident
    reg = user.registration
    requests = _requests_of(user)
    request_ids = [r.id for r in requests]
    letters = list(db.session.scalars(select(Letter).where(Letter.request_id.in_(request_ids))
                                      .options(selectinload(Letter.request)).order_by(Letter.id))) \
        if request_ids else []

    audit_cond = [AuditEntry.actor_id == user.id, AuditEntry.on_behalf_of_id == user.id,
                  (AuditEntry.object_type == "users") & (AuditEntry.object_id == str(user.id))]
    if resident is not None:
        audit_cond.append((AuditEntry.object_type == "residents") & (AuditEntry.object_id == str(resident.id)))
    own_data_requests = list(db.session.scalars(select(DataRightsRequest).where(DataRightsRequest.user_id == user.id)
                                                .order_by(DataRightsRequest.id)))
    if own_data_requests:
        audit_cond.append((AuditEntry.object_type == "data_rights_requests")
                          & AuditEntry.object_id.in_([str(d.id) for d in own_data_requests]))
    entries = db.session.scalars(select(AuditEntry).where(or_(*audit_cond)).order_by(AuditEntry.id)).all()

    return {
        "format": EXPORT_FORMAT,
        "dibuat_pada": _iso(utcnow()),
        "akun": {
            "id": user.id, "nama": user.full_name, "nama_pengguna": user.username, "nomor_hp": user.phone,
            "email": user.email, "status": user.status, "peran": sorted(user.role_codes),
            "kata_sandi": str(_("disimpan hanya sebagai hash Argon2id; tidak dapat dibaca siapa pun"))
            if user.password_hash else None,
            "diverifikasi_pada": _iso(user.verified_at), "catatan_verifikasi": user.verification_note,
            "terakhir_masuk": _iso(user.last_login_at), "dibuat": _iso(user.created_at),
        },
        "persetujuan": {"waktu": _iso(user.consent_at), "versi_teks": user.consent_version},
        "pendaftaran": None if reg is None else {
            "nik": reg.nik, "nomor_kk": reg.kk_number, "nama_lengkap": reg.full_name,
            "tempat_lahir": reg.birth_place, "tanggal_lahir": _iso(reg.birth_date), "jenis_kelamin": reg.gender,
            "alamat": reg.address, "rt": reg.rt, "rw": reg.rw, "catatan_nik": list(reg.nik_warnings or []),
            "foto_ktp_tersimpan": bool(reg.ktp_photo), "dibuat": _iso(reg.created_at),
        },
        "data_penduduk": None if resident is None else _resident_dict(resident),
        "riwayat_kk": [] if resident is None else [
            {"kk_lama": h.old_kk_number, "kk_baru": h.new_kk_number, "waktu": _iso(h.changed_at), "sumber": h.source}
            for h in db.session.scalars(select(KKHistory).where(KKHistory.resident_id == resident.id)
                                        .order_by(KKHistory.id))],
        "keluarga_dalam_kk": [] if resident is None else [
            {"nama": m.full_name, "nik": mask_nik(m.nik)} for m in family_members(user) if m.id != resident.id],
        "permohonan": [{
            "nomor": r.tracking_number, "layanan": r.service_snapshot.get("name"), "status": r.status,
            "diajukan": _iso(r.submitted_at), "selesai": _iso(r.closed_at),
            "pemohon": _who(r.applicant_user_id, user, users),
            "tentang": str(_("Anda")) if r.subject_resident_id == user.resident_id else r.subject.full_name,
            "isian": r.answers, "alasan_penolakan": r.rejection_reason,
            "riwayat": [{"waktu": _iso(e.at), "aksi": e.action, "dari": e.from_status, "ke": e.to_status,
                         "oleh": _who(e.actor_id, user, users), "catatan": e.note} for e in r.events],
            "pengantar": [{"tingkat": e.level, "nomor": e.number, "waktu": _iso(e.at), "catatan": e.note}
                          for e in r.endorsements],
            "lampiran": [{"persyaratan": a.requirement_code, "jenis": a.mime, "ukuran_byte": a.size,
                          "diunggah": _iso(a.uploaded_at), "diganti": _iso(a.superseded_at),
                          "berkas_dihapus_retensi": _iso(a.purged_at)}
                         for a in r.attachments],
        } for r in requests],
        "surat": [{"nomor": lt.number, "judul": lt.title, "permohonan": lt.request.tracking_number,
                   "ditandatangani": _iso(lt.signed_at), "status": lt.status,
                   "alamat_verifikasi": issuing.verify_url(lt.verify_code)} for lt in letters],
        "pengaduan": [{
            "kode": c.code, "kategori": c.category, "perihal": c.subject, "isi": c.body, "status": c.status,
            "nama": c.name, "nomor_hp": c.phone, "email": c.email, "foto": bool(c.photo),
            "permohonan": c.request.tracking_number if c.request is not None else None,
            "diajukan": _iso(c.created_at), "selesai": _iso(c.closed_at),
            "riwayat": [{"waktu": _iso(e.at), "aksi": e.action, "oleh": _who(e.author_id, user, users),
                         "teks": e.text, "ke": e.to_status} for e in c.events],
        } for c in _complaints_of(user)],
        "notifikasi": [{"waktu": _iso(n.created_at), "pesan": n.message, "dibaca": _iso(n.read_at)}
                       for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                                   .order_by(Notification.id))],
        "sesi_masuk": [{
            "perangkat": r.user_agent, "alamat_ip": r.ip, "masuk": _iso(r.created_at),
            "terakhir_aktif": _iso(r.last_seen_at), "ingat_saya": r.remember, "berakhir": _iso(r.ended_at)}
            for r in db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                                        .order_by(UserSession.created_at))],
        "permintaan_data": [{
            "id": d.id, "jenis": d.kind, "status": d.status, "data": d.field, "nilai_lama": d.old_value,
            "nilai_diminta": d.requested_value, "keterangan": d.explanation, "foto_bukti": bool(d.evidence_photo),
            "diajukan": _iso(d.created_at), "diselesaikan": _iso(d.resolved_at), "nilai_baru": d.applied_value,
            "catatan_petugas": d.outcome_note} for d in own_data_requests],
        "log_audit": [{
            "waktu": _iso(e.created_at), "aksi": e.action, "oleh": _who(e.actor_id, user, users),
            "alamat_ip": e.ip if e.actor_id == user.id else None, "objek": e.object_type, "objek_id": e.object_id,
            "rincian": e.details} for e in entries],
    }


def record_export(user: User, fmt: str) -> None:
    """Downloading one's data is itself a view of personal data: audited."""
    audit.record("pdp.export", user, actor=user, format=fmt)


def export_pdf(user: User, data: dict) -> bytes:
    """The export as a readable PDF (kop of the kelurahan, one section per kind of data)."""
    from flask_babel import format_datetime

    from sempelmas.domain.dates import TIME_SEPARATOR
    from sempelmas.services.kelurahan.profile import current_profile
    from sempelmas.services.letters import pdf as letter_pdf
    from sempelmas.web.i18n import current_lang

    # the profile and the pattern once, not per line (a heavy export has thousands of timestamps)
    profile = current_profile()
    tz_label = profile.timezone if profile else "WIB"
    pattern = f"d MMMM yyyy HH{TIME_SEPARATOR.get(current_lang(), '.')}mm"

    def when(value: str | None) -> str:
        if not value:
            return "-"
        return f"{format_datetime(datetime.fromisoformat(value).replace(tzinfo=UTC), pattern)} {tz_label}"

    html = render_template("data_rights/export_pdf.html", data=data, user=user, when=when,
                           status_label=lifecycle.status_label,
                           labels={k: str(v[0]) for k, v in CORRECTABLE.items()})
    return letter_pdf.html_to_pdf(html)


# ----------------------------------------------------------------------------- corrections


def current_value(user: User, field_code: str) -> str:
    """The value held now for ``field_code``, as text."""
    where = CORRECTABLE.get(field_code, (None, None))[1]
    if where == "account":
        return getattr(user, field_code) or ""
    if where == "resident" and user.resident is not None:
        value = getattr(user.resident, field_code)
        return value.isoformat() if isinstance(value, date) else (value or "")
    return ""


def clean_value(field_code: str, raw: str | None):
    """The typed value as it is stored, or DataRightsError("...", "value") with the reason."""
    text = (raw or "").strip()
    if field_code == "lainnya":
        return text[:255]
    if not text and field_code not in ("email", "religion", "marital_status", "occupation"):
        raise DataRightsError(_("Tulis data yang benar."), "value")
    limit = _MAX_LEN.get(field_code)
    if limit and len(text) > limit:
        raise DataRightsError(_("Terlalu panjang: paling banyak %(n)d karakter.", n=limit), "value")
    if field_code in ("full_name", "birth_place"):
        return text.upper()
    if field_code == "birth_date":
        for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
            try:
                value = datetime.strptime(text, pattern).date()
            except ValueError:
                continue
            if not date(1900, 1, 1) <= value <= date.today():
                break
            return value
        raise DataRightsError(_("Tanggal lahir tidak valid; tulis seperti 17-05-1990."), "value")
    if field_code == "gender":
        g = {"l": "L", "laki-laki": "L", "laki laki": "L", "p": "P", "perempuan": "P"}.get(text.lower())
        if g is None:
            raise DataRightsError(_("Jenis kelamin: tulis Laki-laki atau Perempuan."), "value")
        return g
    if field_code in ("rt", "rw"):
        number = digit_rules.rt_rw(text)
        if number is None:
            raise DataRightsError(_("RT/RW berupa angka, paling banyak 3 digit (mis. 003)."), "value")
        return number
    if field_code == "phone":
        try:
            return phone_rules.normalise(text)
        except phone_rules.PhoneError as e:
            raise DataRightsError(str(e), "value") from e
    if field_code == "email":
        if text and not _EMAIL.match(text):
            raise DataRightsError(_("Alamat e-mail tidak valid."), "value")
        return text.lower() or None
    return text or None


def _check_phone_free(phone: str | None, user: User) -> None:
    """One phone signs in one account: a number another active account has is refused (accounts rule)."""
    try:
        check_phone_free(phone, user=user)
    except AccountError as e:
        raise DataRightsError(e.message, "value") from e


def _as_text(value) -> str:
    return value.isoformat() if isinstance(value, date) else (value or "")


def _open_of(user: User, kind: str) -> DataRightsRequest | None:
    return db.session.scalar(select(DataRightsRequest).where(
        DataRightsRequest.user_id == user.id, DataRightsRequest.kind == kind,
        DataRightsRequest.status == DataRequestStatus.OPEN).limit(1))


def request_correction(user: User, field_code: str, value: str | None, explanation: str | None,
                       evidence_photo: str | None = None) -> DataRightsRequest:
    """Open a correction task. Rules: a known item; for "lainnya" an explanation; the value must be valid
    for the item and differ from what is held; an open deletion request blocks new corrections."""
    if field_code not in CORRECTABLE:
        raise DataRightsError(_("Pilih data yang salah."), "field")
    if CORRECTABLE[field_code][1] == "resident" and user.resident is None:
        raise DataRightsError(_("Akun Anda belum terhubung dengan data penduduk."), "field")
    explanation = (explanation or "").strip()
    if field_code == "lainnya" and not explanation:
        raise DataRightsError(_("Jelaskan data mana yang salah dan apa yang benar."), "explanation")
    if len(explanation) > 2000:
        raise DataRightsError(_("Keterangan terlalu panjang: paling banyak 2000 karakter."), "explanation")
    clean = clean_value(field_code, value)
    old = current_value(user, field_code)
    if field_code != "lainnya" and _as_text(clean) == old:
        raise DataRightsError(_("Nilai itu sama dengan yang tercatat sekarang."), "value")
    if field_code == "phone":
        _check_phone_free(clean, user)
    if _open_of(user, DataRequestKind.DELETION) is not None:
        raise DataRightsError(_("Anda sudah meminta penghapusan akun; tunggu keputusannya dulu."))
    req = DataRightsRequest(user_id=user.id, kind=DataRequestKind.CORRECTION, field=field_code,
                            old_value=old[:255] or None, requested_value=_as_text(clean)[:255] or None,
                            explanation=explanation or None, evidence_photo=evidence_photo)
    db.session.add(req)
    db.session.flush()
    audit.record("pdp.request", req, actor=user, kind=req.kind, field=field_code, evidence=bool(evidence_photo))
    _tell_staff(req)
    return req


def deletion_blockers(user: User) -> list[str]:
    """Why a deletion cannot be granted now (empty: it can)."""
    out = []
    others = sorted(user.role_codes - {Role.RESIDENT})
    if others:
        out.append(_("Akun ini juga memegang peran %(roles)s: peran itu dicabut admin lebih dulu.",
                     roles=", ".join(str(ROLE_LABELS[r]) for r in others)))
    running = db.session.scalars(select(LetterRequest.tracking_number).where(
        LetterRequest.applicant_user_id == user.id,
        LetterRequest.status.notin_([str(s) for s in lifecycle.FINAL_STATUSES]))).all()
    if running:
        out.append(_("Masih ada permohonan surat yang berjalan (%(numbers)s): tunggu selesai atau batalkan dulu.",
                     numbers=", ".join(running)))
    return out


def request_deletion(user: User, reason: str | None) -> DataRightsRequest:
    """Open a deletion task. Rules: one open deletion request at a time."""
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise DataRightsError(_("Alasan terlalu panjang: paling banyak 2000 karakter."), "reason")
    if _open_of(user, DataRequestKind.DELETION) is not None:
        raise DataRightsError(_("Permintaan penghapusan akun Anda sudah diajukan dan sedang diproses."))
    req = DataRightsRequest(user_id=user.id, kind=DataRequestKind.DELETION, explanation=reason or None)
    db.session.add(req)
    db.session.flush()
    audit.record("pdp.request", req, actor=user, kind=req.kind)
    _tell_staff(req)
    return req


def _require_open(req: DataRightsRequest) -> None:
    if not req.is_open:
        raise DataRightsError(_("Permintaan ini sudah diselesaikan (%(status)s).", status=req.status_label))


def apply_correction(req: DataRightsRequest, actor: User, value: str | None, note: str | None = None) -> None:
    """Write the corrected value (staff may adjust what the resident typed) and close the task.

    Rules: an open correction; the value is checked like the resident's; a name also renames the account;
    "lainnya" is closed with staff's note saying what was changed (the register's own screens change it).
    """
    _require_open(req)
    if req.kind != DataRequestKind.CORRECTION:
        raise DataRightsError(_("Ini bukan permintaan koreksi."))
    note = (note or "").strip()[:2000] or None
    user = req.user
    where = CORRECTABLE[req.field][1]
    old = current_value(user, req.field)
    if where is None:
        if not note:
            raise DataRightsError(_("Tulis apa yang sudah diperbaiki."), "note")
        new_text = None
    else:
        clean = clean_value(req.field, value)
        if req.field == "phone":
            _check_phone_free(clean, user)
        if where == "account":
            setattr(user, req.field, clean)
        else:
            setattr(user.resident, req.field, clean)
            if req.field == "full_name":
                user.full_name = clean.title()
        new_text = _as_text(clean)
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.DONE, utcnow(), actor.id
    req.applied_value, req.outcome_note = new_text, note
    db.session.flush()
    audit.record("pdp.correct", req, actor=actor, field=req.field, old=old, new=new_text)
    _tell_resident(req, _("Koreksi data Anda (%(item)s) sudah dilakukan.", item=str(CORRECTABLE[req.field][0])))


def refuse(req: DataRightsRequest, actor: User, reason: str | None) -> None:
    """Close a correction or deletion task without doing it. Rules: open; a reason the resident reads."""
    _require_open(req)
    reason = (reason or "").strip()
    if not reason:
        raise DataRightsError(_("Tulis alasan penolakan: warga akan membacanya."), "reason")
    if len(reason) > 2000:
        raise DataRightsError(_("Alasan terlalu panjang: paling banyak 2000 karakter."), "reason")
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.REFUSED, utcnow(), actor.id
    req.outcome_note = reason
    db.session.flush()
    audit.record("pdp.refuse", req, actor=actor, kind=req.kind, reason=reason)
    _tell_resident(req, _("%(kind)s Anda ditolak. Alasan: %(reason)s", kind=req.kind_label, reason=reason))


# ----------------------------------------------------------------------------- deletion


@dataclass
class Erasure:
    """What ``grant_deletion`` did: counts for the record, files to remove once committed."""

    erased: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)


def _kept_attachment(a: RequestAttachment) -> bool:
    """The archive keeps the documents a signed letter rests on (the retention job removes them later)."""
    return (a.request is not None and lifecycle.is_done(a.request.status) and a.superseded_at is None)


def grant_deletion(req: DataRightsRequest, actor: User, note: str | None = None) -> Erasure:
    """Erase the account except what the archive must keep (``retained_items``), and close the task.

    Erased: password hash, phone, e-mail, login name, account name (→ "Akun dihapus"), the link to the
    register entry (the NIK may register again), roles, reset codes, the registration record and KTP
    photo, uploads not under archive (drafts, those of requests without a letter, replaced ones),
    correction evidence photos, notifications and undelivered messages. Login is disabled and every
    session ends. Kept: the register entry, letters, request records with their history and
    endorsements, current attachments of requests that ended in a letter, data requests, the audit log.
    Refused (DataRightsError) while ``deletion_blockers`` names a reason.
    """
    _require_open(req)
    if req.kind != DataRequestKind.DELETION:
        raise DataRightsError(_("Ini bukan permintaan penghapusan."))
    user = req.user
    blockers = deletion_blockers(user)
    if blockers:
        raise DataRightsError(" ".join(blockers))
    out = Erasure()

    # the last word reaches the resident outside the app (the bell goes with the account)
    contacts = {"email": user.email, "gateway": user.phone}

    owned = db.session.scalars(select(RequestAttachment).where(RequestAttachment.owner_user_id == user.id)).all()
    erased_files = 0
    for a in owned:
        if _kept_attachment(a):
            continue
        out.files.append((attachments.KIND, a.stored_name))
        db.session.delete(a)
        erased_files += 1
    kept_files = len(owned) - erased_files

    reg = user.registration
    if reg is not None:
        if reg.ktp_photo:
            out.files.append((KTP, reg.ktp_photo))
        user.registration = None  # delete-orphan

    evidence = 0
    for d in db.session.scalars(select(DataRightsRequest).where(DataRightsRequest.user_id == user.id)):
        if d.evidence_photo:
            out.files.append((EVIDENCE_KIND, d.evidence_photo))
            d.evidence_photo = None
            evidence += 1

    # complaints stay as a record of the service (their text and answers), without who filed them
    complaints_erased = 0
    for c in _complaints_of(user):
        if c.photo:
            out.files.append((complaints.UPLOAD_KIND, c.photo))
            c.photo = None
        c.name, c.phone, c.email = ERASED_NAME, None, None
        complaints_erased += 1

    # messages about this account's notices go with them (a family phone shared with others keeps theirs)
    note_ids = select(Notification.id).where(Notification.user_id == user.id)
    outbox = db.session.execute(delete(OutboxMessage).where(OutboxMessage.notification_id.in_(note_ids))
                                .execution_options(synchronize_session=False)).rowcount
    notes = db.session.execute(delete(Notification).where(Notification.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    codes = db.session.execute(delete(PasswordResetCode).where(PasswordResetCode.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    roles = sorted(user.role_codes)
    for grant in list(user.roles):
        user.roles.remove(grant)

    requests = db.session.scalars(select(LetterRequest.id).where(LetterRequest.applicant_user_id == user.id)).all()
    letters = db.session.scalar(select(db.func.count(Letter.id)).where(Letter.request_id.in_(requests))) \
        if requests else 0
    resident_id = user.resident_id

    user.password_hash = user.phone = user.email = user.username = None
    user.verification_note = None
    user.full_name = ERASED_NAME
    user.resident_id = None
    user.status = AccountStatus.DISABLED
    user.auth_version = (user.auth_version or 1) + 1
    user.last_login_at = None
    # every session ends with its row (the devices and addresses it was used from go too)
    sessions_erased = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id)
                                         .execution_options(synchronize_session=False)).rowcount
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id)
                       .execution_options(synchronize_session=False))

    out.erased = {"attachments": erased_files, "registration": reg is not None,
                  "ktp_photo": bool(reg and reg.ktp_photo), "evidence_photos": evidence,
                  "complaint_contacts": complaints_erased,
                  "notifications": notes, "outbox_messages": outbox, "reset_codes": codes, "roles": roles,
                  "sessions": sessions_erased}
    out.kept = {"register_entry": resident_id, "requests": len(requests), "letters": letters,
                "attachments": kept_files}
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.DONE, utcnow(), actor.id
    req.outcome_note = (note or "").strip()[:2000] or None
    req.summary = {"erased": out.erased, "kept": out.kept}
    db.session.flush()
    audit.record("pdp.erase", req, actor=actor, user_id=user.id, erased=out.erased, kept=out.kept)
    _farewell(contacts)
    return out


def remove_files(files: list[tuple[str, str]]) -> None:
    """After the commit: delete the stored files the erasure let go."""
    for kind, name in files:
        path = stored_path(kind, name)
        if path is not None:
            path.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- reading


def for_user(user: User) -> list[DataRightsRequest]:
    return list(db.session.scalars(select(DataRightsRequest).where(DataRightsRequest.user_id == user.id)
                                   .order_by(DataRightsRequest.id.desc())))


def staff_list(status: str | None) -> list[DataRightsRequest]:
    """Open tasks oldest first (first come, first served); "semua" lists everything, newest first."""
    stmt = select(DataRightsRequest)
    if status == "semua":
        stmt = stmt.order_by(DataRightsRequest.id.desc())
    else:
        stmt = stmt.where(DataRightsRequest.status == DataRequestStatus.OPEN).order_by(DataRightsRequest.id)
    return list(db.session.scalars(stmt.limit(500)))


def open_count() -> int:
    return db.session.scalar(select(db.func.count(DataRightsRequest.id))
                             .where(DataRightsRequest.status == DataRequestStatus.OPEN)) or 0


# ----------------------------------------------------------------------------- notices

RESIDENT_URL = "/warga/data-saya/permintaan/{}"
STAFF_URL = "/petugas/permintaan-data/{}"


def _tell_resident(req: DataRightsRequest, message) -> None:
    """The bell, and e-mail / WhatsApp when configured (stored in Indonesian, like request notices)."""
    user = req.user
    url = RESIDENT_URL.format(req.id)
    with force_locale("id"):
        text = str(message)
        subject = str(_("Permintaan data pribadi: %(status)s", status=req.status_label))
    outbox.tell(user, kind=f"pdp.{req.kind}", message=text, url=url, subject=subject)


def _farewell(contacts: dict) -> None:
    with force_locale("id"):
        subject = str(_("Akun SemPelMas Anda sudah dihapus"))
        body = str(_("Permintaan penghapusan akun Anda dikabulkan; Anda tidak bisa masuk lagi. Yang tetap "
                     "disimpan sebagai arsip: data register penduduk, surat yang sudah terbit, catatan "
                     "permohonan, dan log audit."))
    outbox.queue_external(None, email=contacts["email"], phone=contacts["gateway"], subject=subject, body=body)


def _tell_staff(req: DataRightsRequest) -> None:
    """Front-office staff see a new task in their bell."""
    with force_locale("id"):
        text = str(_("%(kind)s baru dari %(name)s.", kind=req.kind_label, name=req.user.full_name))
    for u in notify.users_with_role(Role.STAFF):
        db.session.add(Notification(user_id=u.id, kind=f"pdp.new_{req.kind}", message=text,
                                    url=STAFF_URL.format(req.id)))
    db.session.flush()


def evidence_path(req: DataRightsRequest):
    return stored_path(EVIDENCE_KIND, req.evidence_photo) if req.evidence_photo else None



def privacy_facts() -> dict:
    """The configured periods the privacy notice quotes (none invented: unset → the notice says so)."""
    days = current_app.config.get("ATTACHMENT_RETENTION_DAYS")
    return {"attachment_retention_days": int(days) if days else None,
            "draft_max_days": attachments.DRAFT_MAX_AGE.days,
            "reset_code_hours": current_app.config.get("PASSWORD_RESET_HOURS"),
            "consent_version": current_app.config["CONSENT_VERSION"]}
