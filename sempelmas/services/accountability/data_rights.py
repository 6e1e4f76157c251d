"""Residents' rights over their personal data (UU 27/2022 PDP): see it all, have it corrected, have it erased.

This module holds what the three share: the items a resident may correct, what an erasure keeps and erases,
the open request of a kind, refusing a request, the lists staff and residents read, and the notices. The
work itself lives by right: ``data_export`` (everything held about one account, never another's, as JSON or
PDF), ``data_corrections`` (``request_correction`` opens a staff task, ``apply_correction`` closes it) and
``data_erasure`` (``request_deletion``, ``grant_deletion``). Every step is audited. Services flush, never
commit; files are removed only after the caller commits (``data_erasure.remove_files``), so a failed
transaction never loses a file whose row survives.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.i18n import ngettext
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.data_rights import (
    DATA_REQUEST_KIND_LABELS,
    DATA_REQUEST_STATUS_LABELS,
    DataRequestKind,
    DataRequestStatus,
    DataRightsRequest,
)
from sempelmas.models.notifications import Notification
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import CORRECTION_EVIDENCE, stored_path
from sempelmas.services.operations import notice_text, notify, outbox
from sempelmas.services.operations.notice_text import Msg, msg, word
from sempelmas.services.requests import attachments

#: uploads/<EVIDENCE_KIND>/ holds correction evidence photos
EVIDENCE_KIND = CORRECTION_EVIDENCE

#: the name a deleted account keeps (its requests stay in the archive and still point at it)
ERASED_NAME = "Akun dihapus"

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


def retained_items() -> list[str]:
    """What a granted deletion keeps, and why (shown to the resident before and after)."""
    days = current_app.config.get("ATTACHMENT_RETENTION_DAYS")
    kept_files = (ngettext("Berkas lampiran yang menjadi dasar surat yang sudah terbit, sampai masa simpan "
                           "lampiran (%(num)d hari setelah permohonan selesai) berakhir.",
                           "Berkas lampiran yang menjadi dasar surat yang sudah terbit, sampai masa simpan "
                           "lampiran (%(num)d hari setelah permohonan selesai) berakhir.", int(days)) if days
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


def open_of(user: User, kind: str) -> DataRightsRequest | None:
    return db.session.scalar(select(DataRightsRequest).where(
        DataRightsRequest.user_id == user.id, DataRightsRequest.kind == kind,
        DataRightsRequest.status == DataRequestStatus.OPEN).limit(1))


def require_open(req: DataRightsRequest) -> None:
    if not req.is_open:
        raise DataRightsError(_("Permintaan ini sudah diselesaikan (%(status)s).", status=req.status_label))


def refuse(req: DataRightsRequest, actor: User, reason: str | None) -> None:
    """Close a correction or deletion task without doing it. Rules: open; a reason the resident reads."""
    require_open(req)
    reason = (reason or "").strip()
    if not reason:
        raise DataRightsError(_("Tulis alasan penolakan: warga akan membacanya."), "reason")
    if len(reason) > 2000:
        raise DataRightsError(_("Alasan terlalu panjang: paling banyak 2000 karakter."), "reason")
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.REFUSED, utcnow(), actor.id
    req.outcome_note = reason
    db.session.flush()
    audit.record("pdp.refuse", req, actor=actor, kind=req.kind, reason=reason)
    tell_resident(req, _refused_notice(req, reason))


def _refused_notice(req: DataRightsRequest, reason: str) -> Msg:
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    return _("%(kind)s Anda ditolak. Alasan: %(reason)s",
             kind=word(DATA_REQUEST_KIND_LABELS[DataRequestKind(req.kind)]), reason=reason)


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


RESIDENT_URL = "/warga/data-saya/permintaan/{}"

STAFF_URL = "/petugas/permintaan-data/{}"


def tell_resident(req: DataRightsRequest, message: Msg) -> None:
    """The bell, and e-mail / WhatsApp when configured (a key plus values, like request notices: each shown in
    the resident's language)."""
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    subject = _("Permintaan data pribadi: %(status)s",
                status=word(DATA_REQUEST_STATUS_LABELS[DataRequestStatus(req.status)]))
    outbox.tell(req.user, kind=f"pdp.{req.kind}", message=message, url=RESIDENT_URL.format(req.id), subject=subject)


def farewell(contacts: dict) -> None:
    """The last message to an erased account's e-mail / phone, in the language it had chosen."""
    with force_locale(contacts.get("lang") or "id"):
        subject = str(_("Akun SemPelMas Anda sudah dihapus"))
        body = str(_("Permintaan penghapusan akun Anda dikabulkan; Anda tidak bisa masuk lagi. Yang tetap "
                     "disimpan sebagai arsip: data register penduduk, surat yang sudah terbit, catatan "
                     "permohonan, dan log audit."))
    outbox.queue_external(None, email=contacts["email"], phone=contacts["gateway"], subject=subject, body=body)


def tell_staff(req: DataRightsRequest) -> None:
    """Front-office staff see a new task in their bell."""
    text = _new_task_notice(req)
    for u in notify.users_with_role(Role.STAFF):
        db.session.add(notice_text.fill(Notification(user_id=u.id, kind=f"pdp.new_{req.kind}",
                                                     url=STAFF_URL.format(req.id)), text))
    db.session.flush()


def _new_task_notice(req: DataRightsRequest) -> Msg:
    _ = msg  # a key plus values, rendered in each reader's language (services/operations/notice_text.py)
    return _("%(kind)s baru dari %(name)s.", kind=word(DATA_REQUEST_KIND_LABELS[DataRequestKind(req.kind)]),
             name=req.user.full_name)


def evidence_path(req: DataRightsRequest):
    return stored_path(EVIDENCE_KIND, req.evidence_photo) if req.evidence_photo else None


def privacy_facts() -> dict:
    """The configured periods the privacy notice quotes (none invented: unset → the notice says so)."""
    days = current_app.config.get("ATTACHMENT_RETENTION_DAYS")
    return {"attachment_retention_days": int(days) if days else None,
            "draft_max_days": attachments.DRAFT_MAX_AGE.days,
            "reset_code_hours": current_app.config.get("PASSWORD_RESET_HOURS"),
            "consent_version": current_app.config["CONSENT_VERSION"]}
