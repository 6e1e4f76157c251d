"""The right to see one's data (UU 27/2022 PDP): ``export`` gathers everything held about one account (never
another's) for a JSON download or a readable PDF; a download is itself audited (``record_export``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from sempelmas.domain.dates import TIME_SEPARATOR
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.masking import mask_nik
from sempelmas.extensions import db
from sempelmas.models.accounts import ROLE_LABELS, Role, User, UserSession
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.complaints import Complaint
from sempelmas.models.data_rights import DataRightsRequest
from sempelmas.models.declared import DeclaredValue
from sempelmas.models.letters import Letter
from sempelmas.models.notifications import Notification
from sempelmas.models.push import PushSubscription
from sempelmas.models.questions import RequestMessage
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.access import family_members
from sempelmas.services.accountability import audit
from sempelmas.services.accountability.data_rights import CORRECTABLE
from sempelmas.services.letters import issuing
from sempelmas.services.requests import lifecycle

EXPORT_FORMAT = "sempelmas-data-saya/1"


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


def complaints_of(user: User) -> list[Complaint]:
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
            "data_dari_pemohon": [{"data": d.field, "nilai": d.value, "diisi": d.declared_value, "status": d.status,
                                   "diperiksa": _iso(d.checked_at), "data_penduduk_diperbarui": d.register_updated}
                                  for d in db.session.scalars(select(DeclaredValue)
                                                              .where(DeclaredValue.request_id == r.id)
                                                              .order_by(DeclaredValue.id))],
            # the "Tanya petugas" thread: staff appear by role, the resident's side by name only when it is them
            "pertanyaan": [{"waktu": _iso(m.created_at), "dari": _who(m.author_id, user, users), "teks": m.text,
                            "foto": bool(m.photo), "dibaca": _iso(m.read_at)}
                           for m in db.session.scalars(select(RequestMessage)
                                                       .where(RequestMessage.request_id == r.id)
                                                       .order_by(RequestMessage.id))],
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
        } for c in complaints_of(user)],
        "notifikasi": [{"waktu": _iso(n.created_at), "pesan": n.message, "dibaca": _iso(n.read_at)}
                       for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                                   .order_by(Notification.id))],
        # the phones told by Web Push: what they are and when; the push service's address and keys are not the
        # person's data to read (they identify the browser's subscription, not the person)
        "hp_notifikasi": [{"perangkat": p.label, "sejak": _iso(p.created_at),
                           "terakhir_terkirim": _iso(p.last_success_at)}
                          for p in db.session.scalars(select(PushSubscription)
                                                      .where(PushSubscription.user_id == user.id)
                                                      .order_by(PushSubscription.id))],
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


def export_pdf(user: User, data: dict, *, lang: str = "id") -> bytes:
    """The export as a readable PDF (kop of the kelurahan, one section per kind of data); ``lang``: the reader's
    language (how times are written)."""
    from flask_babel import format_datetime

    from sempelmas.services.kelurahan.profile import current_profile
    from sempelmas.services.letters import pdf as letter_pdf

    # the profile and the pattern once, not per line (a heavy export has thousands of timestamps)
    profile = current_profile()
    tz_label = profile.timezone if profile else "WIB"
    pattern = f"d MMMM yyyy HH{TIME_SEPARATOR.get(lang, '.')}mm"

    def when(value: str | None) -> str:
        if not value:
            return "-"
        return f"{format_datetime(datetime.fromisoformat(value).replace(tzinfo=UTC), pattern)} {tz_label}"

    html = render_template("data_rights/export_pdf.html", data=data, user=user, when=when,
                           status_label=lifecycle.status_label,
                           labels={k: str(v[0]) for k, v in CORRECTABLE.items()})
    return letter_pdf.html_to_pdf(html)
