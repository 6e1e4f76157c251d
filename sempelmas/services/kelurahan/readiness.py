"""The "Siap melayani" checklist: is this install ready to serve the public?

One function per step, each returning a ``Step`` (done or not, a short Indonesian reason, the endpoint where the
step is done). Every check is computed from the app's own state: the database, the files under ``instance/``,
the address the app answers on. Where the fact lies outside the app (the CA backup kept somewhere safe, a restore
tried on a copy, the catalogue read by a person) the check looks for the confirmation the app recorded in the
audit log when it happened (``readiness_actions``); nobody ticks a box.

Steps that are expensive (fetching our own address) cache their answer briefly.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from sempelmas import links
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import Service
from sempelmas.models.jobs import Job
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.models.residents import Resident, ResidentSource
from sempelmas.services.letters import ca, test_letter
from sempelmas.services.letters.certificates import active_certificate
from sempelmas.services.operations import backup

#: audit actions the checklist's confirmations record (``readiness_actions``) and the checks look for
CA_BACKUP_DOWNLOADED = "readiness.ca_backup_downloaded"
CA_BACKUP_CONFIRMED = "readiness.ca_backup_confirmed"
CATALOGUE_REVIEWED = "readiness.catalogue_reviewed"
TEST_MESSAGE_QUEUED = "readiness.test_message"
RESTORE_DRY_RUN = "backup.restore_dry_run"
#: recorded once, by the checklist page, when it first finds every step done: the banner stops then
COMPLETED = "readiness.completed"

#: how long the answer of our own public address is believed
HEALTH_CACHE_SECONDS = 60
HEALTH_TIMEOUT_SECONDS = 3
#: a backup older than this does not count as "scheduled" (the timer runs daily)
BACKUP_MAX_AGE = timedelta(hours=36)
NIP_LENGTH = 18


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    reason: str
    #: the endpoint where the step is done (``url_for`` name)
    endpoint: str


# --------------------------------------------------------------------------- helpers


def _profile() -> KelurahanProfile | None:
    return db.session.scalar(select(KelurahanProfile).order_by(KelurahanProfile.id).limit(1))


def _last_audit(action: str) -> AuditEntry | None:
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action)
                             .order_by(AuditEntry.id.desc()).limit(1))


def health_token() -> str:
    """What ``/healthz`` of this install says: derived from SECRET_KEY, so an answer carrying it comes from
    this install (not from another site or a parked domain at the same address)."""
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, b"sempelmas-healthz", hashlib.sha256).hexdigest()[:24]


def local_address_problem(url: str) -> str | None:
    """Why ``url`` cannot be the public address (this machine, an unspecified host), or None."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if not host or host == "localhost" or host.endswith(".localhost") or (
            ip is not None and (ip.is_loopback or ip.is_unspecified or ip.is_link_local)):
        return _("PUBLIC_URL (%(url)s) adalah alamat mesin ini sendiri: warga tidak dapat membukanya.", url=url)
    return None


_health_cache: dict[str, tuple[float, str | None]] = {}


def probe_public_url(url: str, *, now: float | None = None, cached_only: bool = False) -> str | None:
    """Fetch ``<url>/healthz`` (short timeout) and check it is this install; None when it answers, else why not.
    The answer is cached HEALTH_CACHE_SECONDS per address; ``cached_only`` never fetches (a page's banner must
    not wait on the network): no fresh answer counts as not answering."""
    now = time.monotonic() if now is None else now
    cached = _health_cache.get(url)
    if cached and now - cached[0] < HEALTH_CACHE_SECONDS:
        return cached[1]
    if cached_only:
        return _("%(url)s belum diperiksa: buka daftar Siap melayani.", url=url)
    problem = None
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=HEALTH_TIMEOUT_SECONDS) as resp:  # noqa: S310
            body = resp.read(200).decode("ascii", "replace")
            if resp.status != 200 or health_token() not in body:
                problem = _("%(url)s menjawab, tetapi bukan aplikasi ini (periksa reverse proxy / DNS).", url=url)
    except OSError as e:  # URLError, timeouts, refused connections, TLS errors
        problem = _("%(url)s tidak menjawab dalam %(s)s detik (%(err)s).", url=url, s=HEALTH_TIMEOUT_SECONDS,
                    err=getattr(e, "reason", e))
    _health_cache[url] = (now, problem)
    return problem


def forget_probe() -> None:
    _health_cache.clear()


def ca_key_digest() -> str | None:
    """SHA-256 of the CA's (passphrase-protected) key file, None without a CA."""
    if not ca.has_ca():
        return None
    return hashlib.sha256((ca.pki_dir() / "ca-key.pem").read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the steps


def profile_step() -> Step:
    prof = _profile()
    missing = [] if prof else ["profil"]
    if prof:
        for name, label in (("village_name", _("nama kelurahan")), ("district_name", _("kecamatan")),
                            ("regency_name", _("kabupaten/kota")), ("province_name", _("provinsi")),
                            ("region_code", _("kode wilayah")), ("address", _("alamat kantor"))):
            if not (getattr(prof, name) or "").strip():
                missing.append(label)
        has_logo = db.session.scalar(select(KelurahanProfile.logo.is_not(None)).where(
            KelurahanProfile.id == prof.id))
        if not has_logo:
            missing.append(_("logo"))
    done = not missing
    reason = _("Profil dan logo lengkap; lihat pratinjau kop surat.") if done else \
        _("Belum diisi: %(what)s.", what=", ".join(missing))
    return Step("profil", _("Profil kelurahan dan logo"), done, reason, "admin.profile")


def public_url_step(*, probe: bool = True) -> Step:
    url = links.public_url()
    title = _("Alamat publik (PUBLIC_URL)")
    problem = local_address_problem(url) or probe_public_url(url, cached_only=not probe)
    if problem:
        return Step("alamat", title, False, problem, "admin.readiness_page")
    return Step("alamat", title, True, _("%(url)s menjawab sebagai aplikasi ini.", url=url), "admin.readiness_page")


def ca_step() -> Step:
    title = _("CA kelurahan dibuat dan dicadangkan")
    digest = ca_key_digest()
    if digest is None:
        return Step("ca", title, False, _("CA belum dibuat: jalankan flask --app app pki-init."),
                    "admin.readiness_page")
    confirmed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == CA_BACKUP_CONFIRMED)).all()
    if any((e.details or {}).get("sha256") == digest for e in confirmed):
        return Step("ca", title, True, _("Cadangan kunci CA (terlindung passphrase) sudah dikonfirmasi."),
                    "admin.readiness_page")
    return Step("ca", title, False, _("Unduh cadangan kunci CA, simpan di luar server, lalu konfirmasi dengan "
                                      "mengunggah berkas itu kembali."), "admin.readiness_page")


def officials_step() -> Step:
    title = _("Pejabat: jabatan, pangkat, NIP, dan kunci penandatangan")
    officials = db.session.scalars(select(Official).where(Official.active.is_(True))).all()
    if not officials:
        return Step("pejabat", title, False, _("Belum ada pejabat aktif."), "admin.officials")
    lacking = [o.name for o in officials
               if not (o.position_title or "").strip() or not (o.rank or "").strip()
               or not (o.nip or "").isdigit() or len(o.nip or "") != NIP_LENGTH]
    if lacking:
        return Step("pejabat", title, False, _("Jabatan, pangkat atau NIP (18 angka) belum lengkap: %(names)s.",
                                               names=", ".join(lacking)), "admin.officials")
    signers = [o for o in officials if o.user_id is not None]
    if not signers:
        return Step("pejabat", title, False, _("Belum ada pejabat yang terhubung ke akun penandatangan."),
                    "admin.officials")
    no_key = [o.name for o in signers if active_certificate(db.session.get(User, o.user_id)) is None]
    if no_key:
        return Step("pejabat", title, False, _("Kunci tanda tangan belum dibuat: %(names)s.",
                                               names=", ".join(no_key)), "admin.certificates")
    return Step("pejabat", title, True, _("%(n)s pejabat lengkap, setiap penandatangan punya kunci.",
                                          n=len(officials)), "admin.officials")


def _head_areas(role: str) -> set[tuple[str | None, str | None]]:
    rows = db.session.execute(
        select(RoleGrant.rt, RoleGrant.rw).join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == role, User.status == AccountStatus.VERIFIED)).all()
    return {(rt, rw) for rt, rw in rows}


def rt_rw_step() -> Step:
    title = _("Akun ketua RT/RW")
    prof = _profile()
    rts = set(db.session.execute(select(Resident.rt, Resident.rw).where(Resident.rt.is_not(None))
                                 .distinct()).all())
    rt_heads = _head_areas(Role.RT_HEAD)
    if not rts:
        done = bool(rt_heads)
        reason = _("Ada akun ketua RT; impor data penduduk untuk memeriksa setiap RT.") if done else \
            _("Belum ada akun ketua RT.")
        return Step("rtrw", title, done, reason, "admin.accounts_list")
    missing = sorted(f"RT {rt}/RW {rw}" for rt, rw in rts if (rt, rw) not in rt_heads)
    if prof is not None and prof.rw_endorses:
        rw_heads = {rw for _rt, rw in _head_areas(Role.RW_HEAD)}
        missing += sorted(f"RW {rw}" for rw in {rw for _rt, rw in rts} if rw not in rw_heads)
    if missing:
        shown = ", ".join(missing[:8]) + ("…" if len(missing) > 8 else "")
        return Step("rtrw", title, False, _("Belum punya akun ketua: %(areas)s.", areas=shown),
                    "admin.accounts_list")
    return Step("rtrw", title, True, _("Setiap RT/RW di data penduduk punya akun ketua."), "admin.accounts_list")


def catalogue_step() -> Step:
    title = _("Katalog layanan ditinjau (format nomor, kode klasifikasi)")
    prof = _profile()
    services = db.session.scalars(select(Service).where(Service.enabled.is_(True))).all()
    if not services:
        return Step("katalog", title, False, _("Belum ada layanan aktif."), "admin.services")
    if prof is None or not (prof.number_format or "").strip():
        return Step("katalog", title, False, _("Format nomor surat belum diatur di profil."), "admin.profile")
    no_code = [s.name for s in services if not (s.classification_code or "").strip()]
    if no_code:
        return Step("katalog", title, False, _("Kode klasifikasi kosong: %(names)s.", names=", ".join(no_code)),
                    "admin.services")
    reviewed = _last_audit(CATALOGUE_REVIEWED)
    changed = max(s.updated_at for s in services)
    if reviewed is None or reviewed.created_at < changed:
        return Step("katalog", title, False, _("Tinjau katalog, lalu tekan \"Katalog sudah saya tinjau\"."),
                    "admin.readiness_page")
    return Step("katalog", title, True, _("Ditinjau setelah perubahan terakhir."), "admin.services")


def register_step() -> Step:
    title = _("Data penduduk diimpor")
    imported = db.session.scalar(select(func.count(Resident.id)).where(Resident.source == ResidentSource.IMPORT))
    applied = db.session.scalar(select(func.count(Job.id)).where(
        Job.kind == "register_apply", Job.finished_at.is_not(None), Job.error.is_(None)))
    if imported and applied:
        return Step("penduduk", title, True, _("%(n)s penduduk dari impor.", n=imported), "admin.import_register")
    return Step("penduduk", title, False, _("Data penduduk belum diimpor dari berkas."), "admin.import_register")


def notifications_step() -> Step:
    title = _("Notifikasi diatur dan pesan uji terkirim")
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER") and not cfg.get("NOTIFY_GATEWAY_URL"):
        return Step("notifikasi", title, False, _("Atur MAIL_SERVER dan/atau NOTIFY_GATEWAY_URL."),
                    "admin.readiness_page")
    uids = {uid for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == TEST_MESSAGE_QUEUED))
            for uid in (e.details or {}).get("uids", [])}
    if not uids:
        return Step("notifikasi", title, False, _("Kirim pesan uji dari halaman ini."), "admin.readiness_page")
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.uid.in_(uids), OutboxMessage.status == OutboxStatus.SENT))
    if sent:
        return Step("notifikasi", title, True, _("Pesan uji terkirim oleh notify-worker."), "admin.outbox")
    return Step("notifikasi", title, False, _("Pesan uji belum terkirim: periksa notify-worker dan kotak keluar."),
                "admin.outbox")


def latest_backup() -> Path | None:
    found = backup.archives(Path(current_app.config["BACKUP_DIR"]))
    return found[-1] if found else None


def backups_step() -> Step:
    title = _("Cadangan terjadwal dan satu uji pemulihan")
    last = latest_backup()
    if last is None:
        return Step("cadangan", title, False, _("Belum ada arsip cadangan: aktifkan timer sempelmas-backup."),
                    "admin.readiness_page")
    age = time.time() - last.stat().st_mtime
    if age > BACKUP_MAX_AGE.total_seconds():
        return Step("cadangan", title, False, _("Cadangan terakhir (%(name)s) lebih dari 36 jam lalu: timer "
                                                "cadangan tidak berjalan?", name=last.name), "admin.readiness_page")
    if _last_audit(RESTORE_DRY_RUN) is None:
        return Step("cadangan", title, False, _("Belum ada uji pemulihan: jalankan flask --app app backup restore "
                                                "ARSIP --dry-run."), "admin.readiness_page")
    return Step("cadangan", title, True, _("Cadangan terbaru %(name)s; uji pemulihan tercatat.", name=last.name),
                "admin.readiness_page")


def test_letter_done() -> bool:
    """A "Surat uji" (services/letters/test_letter.py) was signed and its verification page opened from a phone:
    the key, the QR code and the public address all work from a resident's side."""
    return test_letter.any_test_letter_verified()


def test_letter_step() -> Step:
    title = _("Surat uji ditandatangani dan QR-nya dibuka dari ponsel")
    if test_letter_done():
        return Step("surat_uji", title, True, _("Halaman verifikasi surat uji sudah dibuka."), "admin.test_letter")
    return Step("surat_uji", title, False, _("Tandatangani surat uji, lalu pindai QR-nya dengan ponsel."),
                "admin.test_letter")


STEPS = (profile_step, public_url_step, ca_step, officials_step, rt_rw_step, catalogue_step, register_step,
         notifications_step, backups_step, test_letter_step)


def all_steps(*, probe: bool = True) -> list[Step]:
    """Every step, in order; ``probe=False``: the public address from the cached answer only."""
    return [step(probe=probe) if step is public_url_step else step() for step in STEPS]


def completed() -> bool:
    """The checklist was once found all done (``COMPLETED`` recorded by the page)."""
    return _last_audit(COMPLETED) is not None


def shows_checklist() -> bool:
    """Whether the checklist is pushed at admins (home card, banner): in production, until the checklist page
    has once found every step done. In development (the demo, set up by ``seed-demo``) never: there it is a
    tile on the admin home. Never fetches the public address (a cached answer or "not checked")."""
    if current_app.config.get("ENV") != "production" or completed():
        return False
    return not all(s.done for s in all_steps(probe=False))
