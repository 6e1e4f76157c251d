"""Reading the audit log for the admin: filters, keyset pages newest first, readable labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.dates import DEFAULT_TIMEZONE
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.audit import AuditEntry
from sempelmas.services.people import account_login

PAGE_SIZE = 50

#: a readable Indonesian label per action code (codes not listed are shown as they are)
ACTION_LABELS = {
    "auth.login": _l("Masuk"),
    "auth.logout": _l("Keluar"),
    "auth.login_failed": _l("Gagal masuk"),
    "auth.login_locked": _l("Mencoba masuk saat akun terkunci"),
    "auth.lockout": _l("Akun terkunci sementara"),
    "account.register": _l("Pendaftaran akun warga"),
    "account.verify": _l("Akun diverifikasi"),
    "account.reject": _l("Pendaftaran ditolak"),
    "account.view": _l("Data pendaftaran dilihat"),
    "account.create": _l("Akun petugas dibuat"),
    "account.role_grant": _l("Peran diberikan"),
    "account.role_revoke": _l("Peran dicabut"),
    "account.enable": _l("Akun diaktifkan"),
    "account.disable": _l("Akun dinonaktifkan"),
    "account.password_change": _l("Kata sandi diganti"),
    "account.reset_code_issued": _l("Kode pemulihan diberikan"),
    "account.password_reset": _l("Kata sandi dipulihkan"),
    "document.view": _l("Foto KTP dilihat"),
    "attachment.view": _l("Berkas lampiran dilihat"),
    "assist.start": _l("Pendamping mulai bertindak untuk warga"),
    "assist.stop": _l("Pendamping selesai bertindak"),
    "register.search": _l("Pencarian data penduduk"),
    "register.view": _l("Data penduduk dilihat"),
    "register.import": _l("Impor data penduduk"),
    "register.import_upload": _l("Berkas impor diunggah"),
    "register.import_files_deleted": _l("Berkas impor data penduduk dihapus"),
    "resident.kk_change": _l("Nomor KK diganti"),
    "request.submit": _l("Permohonan diajukan"),
    "request.view": _l("Permohonan dilihat"),
    "request.note": _l("Catatan internal"),
    "letter.preview": _l("Pratinjau surat dilihat"),
    "letter.issue": _l("Surat ditandatangani"),
    "letter.batch_start": _l("Tanda tangan massal dimulai"),
    "letter.batch_sign": _l("Tanda tangan massal"),
    "letter.revoke": _l("Surat dicabut"),
    "letter.ltv_refresh": _l("Cap waktu surat diperbarui"),
    "letter.ltv_refresh_failed": _l("Cap waktu surat gagal diperbarui"),
    "letter.replace": _l("Surat diganti"),
    "letter.view": _l("Surat dilihat"),
    "letter.download": _l("Surat diunduh petugas"),
    "letter.resident_download": _l("Surat diunduh warga"),
    "letter.public_download": _l("Surat diunduh dari halaman verifikasi"),
    "letter.register_search": _l("Pencarian buku register"),
    "letter.test_issue": _l("Surat uji ditandatangani"),
    "letter.files_swept": _l("Berkas surat dirapikan setelah proses terhenti"),
    "upload.files_swept": _l("Berkas unggahan tanpa catatan dihapus"),
    "upload.drafts_purged": _l("Berkas formulir yang tidak pernah dikirim dihapus"),
    "upload.registration_photos_expired": _l("Foto KTP pendaftaran yang tidak dipakai dihapus"),
    "letter_template.save": _l("Templat surat diubah"),
    "letter_template.reset": _l("Templat surat dikembalikan ke bawaan"),
    "catalogue.create": _l("Layanan ditambahkan"),
    "catalogue.update": _l("Layanan diubah"),
    "profile.update": _l("Profil kelurahan diubah"),
    "official.create": _l("Pejabat ditambahkan"),
    "official.update": _l("Data pejabat diubah"),
    "official.bsre_status": _l("Status sertifikat BSrE pejabat diperiksa"),
    "holiday.add": _l("Hari libur ditambahkan"),
    "holiday.remove": _l("Hari libur dihapus"),
    "outbox.resend": _l("Pesan dikirim ulang"),
    "opendk.settings": _l("Pengaturan OpenDK diubah"),
    "pki.ca_created": _l("CA kelurahan dibuat"),
    "pki.certificate_issued": _l("Sertifikat tanda tangan diterbitkan"),
    "pki.certificate_revoked": _l("Sertifikat tanda tangan dicabut"),
    "pki.passphrase_changed": _l("Passphrase tanda tangan diganti"),
    "pki.passphrase_wrong": _l("Passphrase salah"),
    "audit.verify": _l("Rantai log audit diperiksa"),
    "audit.head_missing": _l("Kepala rantai audit hilang (dicatat di rantai)"),
    "report.export": _l("Laporan diekspor"),
    "survey.answer": _l("Survei kepuasan diisi"),
    "complaint.file": _l("Pengaduan diajukan"),
    "complaint.answer": _l("Pengaduan dijawab"),
    "complaint.status": _l("Status pengaduan diubah"),
    "complaint.photo_view": _l("Foto pengaduan dilihat"),
    "pdp.export": _l("Data pribadi diunduh warga"),
    "pdp.request": _l("Permintaan data pribadi diajukan"),
    "pdp.view": _l("Permintaan data pribadi dilihat"),
    "pdp.correct": _l("Data pribadi dikoreksi"),
    "pdp.refuse": _l("Permintaan data pribadi ditolak"),
    "pdp.erase": _l("Akun dihapus atas permintaan warga"),
    "backup.create": _l("Cadangan dibuat"),
    "backup.restore": _l("Cadangan dipulihkan"),
    "backup.restore_dry_run": _l("Uji pemulihan cadangan (tanpa mengubah data)"),
    "readiness.ca_backup_downloaded": _l("Cadangan CA diunduh"),
    "readiness.ca_backup_confirmed": _l("Cadangan CA dikonfirmasi"),
    "readiness.catalogue_reviewed": _l("Katalog layanan ditinjau (Siap melayani)"),
    "readiness.test_message": _l("Pesan uji notifikasi dikirim"),
    "readiness.completed": _l("Daftar Siap melayani selesai"),
    "retention.run": _l("Lampiran dihapus sesuai masa retensi"),
    "api_client.create": _l("Klien API dibuat"),
    "api_client.update": _l("Pengaturan klien API diubah"),
    "api_client.rotate": _l("Kunci klien API diganti"),
    "api_client.revoke": _l("Klien API dicabut"),
    "auth.login_shared_phone": _l("Masuk lewat akun bersama satu nomor HP"),
    "auth.logout_all": _l("Keluar dari semua perangkat"),
    "auth.session_end": _l("Sesi di perangkat lain diakhiri"),
    "push.subscribe": _l("Notifikasi push dinyalakan"),
    "push.unsubscribe": _l("Notifikasi push dimatikan"),
    "push.drop": _l("Langganan push dihapus (ditolak layanan push)"),
    "question.post": _l("Pesan tentang permohonan dikirim"),
    "question.photo_view": _l("Foto pada pesan dilihat"),
    "question.to_fix": _l("Pesan dijadikan permintaan perbaikan"),
    "resident.update_from_request": _l("Data penduduk dilengkapi dari permohonan"),
    "api.letters_pii_read": _l("API: NIK di register surat dibaca"),
    "api.complaints_pii_read": _l("API: kontak pelapor pengaduan dibaca"),
    "register.api_upsert": _l("API: data penduduk dikirim (batch)"),
    "webhook.create": _l("Webhook didaftarkan"),
    "webhook.update": _l("Webhook diubah"),
    "webhook.delete": _l("Webhook dihapus"),
    "webhook.pause": _l("Webhook dijeda"),
    "webhook.resume": _l("Webhook dilanjutkan"),
    "webhook.rotate_secret": _l("Rahasia webhook diganti"),
    "webhook.redeliver": _l("Peristiwa webhook dikirim ulang"),
}

#: request transitions are recorded as "request.<lifecycle action>"
_REQUEST_PREFIX_LABEL = _l("Permohonan: %(step)s")

#: the prefixes offered in the filter (any prefix can be typed)
ACTION_PREFIXES = ("auth.", "account.", "request.", "letter.", "attachment.", "document.", "register.",
                   "catalogue.", "letter_template.", "profile.", "official.", "holiday.", "pki.", "outbox.",
                   "audit.", "api_client.", "api.", "webhook.", "opendk.")


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    if action.startswith("request."):
        return str(_REQUEST_PREFIX_LABEL) % {"step": action.removeprefix("request.").replace("_", " ")}
    return action


class FilterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class AuditFilters:
    action: str = ""
    actor: str = ""  #: username or NIK, as typed
    actor_id: int | None = None  #: once resolved (links carry the id, not the NIK)
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    ip: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict:
        """Query arguments for links (the actor by account id, so no NIK travels in URLs)."""
        return {k: v for k, v in {
            "aksi": self.action, "pelaku_id": self.actor_id, "jenis": self.object_type, "objek": self.object_id,
            "dari": self.date_from.isoformat() if self.date_from else "",
            "sampai": self.date_to.isoformat() if self.date_to else "", "ip": self.ip}.items() if v}


def parse_filters(args) -> AuditFilters:
    """Read the filter form; a wrong value gets a message and is left out of the search."""
    f = AuditFilters(action=args.get("aksi", "").strip()[:60], object_type=args.get("jenis", "").strip()[:40],
                     object_id=args.get("objek", "").strip()[:40], ip=args.get("ip", "").strip()[:45])
    for name, attr in (("dari", "date_from"), ("sampai", "date_to")):
        raw = args.get(name, "").strip()
        if raw:
            try:
                setattr(f, attr, date.fromisoformat(raw))
            except ValueError:
                f.errors[name] = str(_l("Tanggal tidak valid; gunakan format tahun-bulan-tanggal."))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.errors["sampai"] = str(_l("Tanggal akhir sebelum tanggal awal."))
        f.date_to = None
    actor_id = digit_rules.query_int(args, "pelaku_id")
    actor = args.get("pelaku", "").strip()
    if actor_id:
        user = db.session.get(User, actor_id)
        f.actor_id, f.actor = actor_id, (user.display_login if user else "")
    elif actor:
        f.actor = actor
        user = find_actor(actor)
        if user is None:
            f.errors["pelaku"] = str(_l("Tidak ada akun dengan nama pengguna atau NIK itu."))
        else:
            f.actor_id = user.id
    return f


def find_actor(text: str) -> User | None:
    """An account by username (any case) or by NIK (``account_login.account_by_nik``: also a registration still
    waiting, whose NIK is not linked to the register yet)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == text.lower()))
    nik = nik_rules.clean_digits(text)
    if user is None and digit_rules.is_ascii_digits(nik):
        user = account_login.account_by_nik(nik)
    return user


def _utc_bound(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(tz_name)).astimezone(UTC).replace(tzinfo=None)


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    users: dict[int, User]
    older: int | None  #: the ``sebelum`` value of the next (older) page, None on the last


def search(f: AuditFilters, before: int | None = None, tz_name: str = DEFAULT_TIMEZONE,
           limit: int | None = None) -> AuditPage:
    """Entries newest first, ``limit`` at a time below id ``before`` (keyset: no OFFSET however deep)."""
    limit = limit or PAGE_SIZE
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before:
        stmt = stmt.where(AuditEntry.id < before)
    if f.action:
        escaped = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEntry.action.like(escaped + "%", escape="\\"))
    if f.actor_id:
        stmt = stmt.where(or_(AuditEntry.actor_id == f.actor_id, AuditEntry.on_behalf_of_id == f.actor_id))
    elif f.actor:
        stmt = stmt.where(False)  # an unknown actor matches nothing rather than everything
    if f.object_type:
        stmt = stmt.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEntry.object_id == f.object_id)
    if f.date_from:
        stmt = stmt.where(AuditEntry.created_at >= _utc_bound(f.date_from, tz_name))
    if f.date_to:
        stmt = stmt.where(AuditEntry.created_at < _utc_bound(f.date_to + timedelta(days=1), tz_name))
    if f.ip:
        stmt = stmt.where(AuditEntry.ip == f.ip)
    rows = db.session.scalars(stmt).all()
    older = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    ids = {e.actor_id for e in rows if e.actor_id} | {e.on_behalf_of_id for e in rows if e.on_behalf_of_id}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return AuditPage(rows, users, older)


def object_types() -> list[str]:
    return [t for t in db.session.scalars(select(AuditEntry.object_type).distinct()
                                          .order_by(AuditEntry.object_type)) if t]


def entry_count() -> int:
    """Cheap size of the log: the chain head's seq (a COUNT over millions of rows is not)."""
    from sempelmas.models.audit import HEAD_ID, AuditChainHead

    head = db.session.get(AuditChainHead, HEAD_ID)
    return head.seq if head else 0
