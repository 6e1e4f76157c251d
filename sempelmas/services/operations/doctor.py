"""What is wrong with this install: ``run() -> list[Finding]``, one function per check, each finding a level
(OK / WARN / FAULT), an Indonesian message and the fix (a command or a setting).

``flask --app app doctor`` prints them (sempelmas/cli/doctor.py, ``--json`` for machines); the go-live checklist
can call a single check. Settings production refuses outright (a placeholder SECRET_KEY, no PUBLIC_URL) never get
here: the app does not start and says so (sempelmas/config.py ``check_production``); the checks below are what a
started app can still be wrong about. Thresholds are settings (``DOCTOR_*`` in sempelmas/config.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from limits.storage import storage_from_string
from sqlalchemy import text

from sempelmas import config as settings
from sempelmas.extensions import db
from sempelmas.services.operations import heartbeat
from sempelmas.services.operations.doctor_bsre import check_bsre
from sempelmas.services.operations.doctor_files import check_ltv, check_permissions, check_pki
from sempelmas.services.operations.doctor_install import check_backup_tools, check_install
from sempelmas.services.operations.findings import FAULT, LEVELS, OK, WARN, Context, Finding

__all__ = ["CHECKS", "FAULT", "NAMES", "OK", "WARN", "Context", "Finding", "run", "worst"]

def _cfg(name: str, default):
    value = current_app.config.get(name)
    return default if value is None else value


# ---------------------------------------------------------------------------------------------------- settings

def check_settings(ctx: Context) -> list[Finding]:
    """SEMPELMAS_ENV, SECRET_KEY (random, not a key published in this repository), PUBLIC_URL."""
    cfg = current_app.config
    out = []
    if cfg.get("ENV") not in settings.ENVIRONMENTS:
        out.append(Finding("settings", FAULT, f"SEMPELMAS_ENV={cfg.get('ENV')!r} tidak dikenal.",
                           "SEMPELMAS_ENV=production (atau development)"))
    elif not ctx.production:
        out.append(Finding("settings", WARN, "Mode pengembangan: data demo diizinkan, alamat situs diturunkan dari "
                           "HOST/PORT. Bukan untuk situs yang melayani warga.", "SEMPELMAS_ENV=production"))
    else:
        out.append(Finding("settings", OK, "Mode produksi (SEMPELMAS_ENV=production)."))
    key = str(cfg.get("SECRET_KEY") or "")
    hint = "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') di berkas lingkungan"
    if ctx.production:
        problems = settings._secret_key_problems(key)  # noqa: SLF001 - the one rule, shared with the start check
        if problems:
            out.append(Finding("settings", FAULT, "SECRET_KEY lemah: " + problems[0], hint))
        elif _published(key):
            out.append(Finding("settings", FAULT, "SECRET_KEY sama dengan kunci yang tertulis di kode sumber "
                               "(contoh atau uji): siapa pun dapat memalsukan sesi.", hint))
        else:
            out.append(Finding("settings", OK, "SECRET_KEY acak dan cukup panjang."))
        url = str(cfg.get("PUBLIC_URL") or "")
        problems = settings._public_url_problems(url, bool(cfg.get("PUBLIC_URL_ALLOW_HTTP")))  # noqa: SLF001
        if problems:
            out.append(Finding("settings", FAULT, problems[0], "PUBLIC_URL=https://<alamat situs kelurahan>"))
        else:
            out.append(Finding("settings", OK, f"PUBLIC_URL={url} (dicetak di QR setiap surat)."))
    return out + _notification_settings(ctx) + _ratelimit(ctx)


def _published(key: str) -> bool:
    """Whether the key is written in a file shipped with the code (an example or a test's key, copied)."""
    root = Path(current_app.root_path).parent
    places = [root / "README.md", root / "tests" / "conftest.py", *sorted((root / "deploy").glob("*")),
              *sorted((root / "docs").glob("*.md"))]
    for place in places:
        try:
            if place.is_file() and key in place.read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


def _notification_settings(ctx: Context) -> list[Finding]:
    """E-mail and the WhatsApp/SMS gateway: set coherently, or neither (then the bell only)."""
    from sempelmas.services.operations import channels

    cfg = current_app.config
    out = []
    if cfg.get("MAIL_SERVER"):
        sender = str(cfg.get("MAIL_FROM") or "")
        if "@" not in sender:
            out.append(Finding("notifications", FAULT if ctx.production else WARN,
                               "MAIL_SERVER diatur tetapi MAIL_FROM kosong atau bukan alamat e-mail: pesan dikirim "
                               "dari sempelmas@localhost dan ditolak server tujuan.",
                               'MAIL_FROM="Kelurahan … <layanan@…go.id>"'))
        if cfg.get("MAIL_USE_TLS") and cfg.get("MAIL_USE_SSL"):
            out.append(Finding("notifications", FAULT, "MAIL_USE_TLS dan MAIL_USE_SSL keduanya aktif: pilih satu.",
                               "port 587: MAIL_USE_TLS=1 MAIL_USE_SSL=0; port 465: MAIL_USE_SSL=1 MAIL_USE_TLS=0"))
        if bool(cfg.get("MAIL_USERNAME")) != bool(cfg.get("MAIL_PASSWORD")):
            out.append(Finding("notifications", FAULT, "Hanya satu dari MAIL_USERNAME dan MAIL_PASSWORD yang diatur.",
                               "isi keduanya (atau kosongkan keduanya untuk server tanpa login)"))
    gateway = str(cfg.get("NOTIFY_GATEWAY_URL") or "")
    if gateway:
        if not gateway.startswith(("https://", "http://")):
            out.append(Finding("notifications", FAULT, f"NOTIFY_GATEWAY_URL={gateway} bukan alamat http(s).",
                               "NOTIFY_GATEWAY_URL=https://<gateway WhatsApp/SMS>"))
        elif ctx.production and gateway.startswith("http://"):
            out.append(Finding("notifications", WARN, "NOTIFY_GATEWAY_URL memakai http://: nomor HP dan pesan "
                               "warga terkirim tanpa enkripsi.", "NOTIFY_GATEWAY_URL=https://…"))
        template = str(cfg.get("NOTIFY_GATEWAY_TEMPLATE") or channels.DEFAULT_GATEWAY_TEMPLATE)
        try:
            channels.gateway_body(template, "0812", "uji", "id")
            if "{phone}" not in template or "{message}" not in template:
                raise channels.DeliveryError("the template needs {phone} and {message}")
        except channels.DeliveryError:
            out.append(Finding("notifications", FAULT, "NOTIFY_GATEWAY_TEMPLATE tidak menghasilkan JSON yang memuat "
                               "{phone} dan {message}.", "NOTIFY_GATEWAY_TEMPLATE='{\"to\": \"{phone}\", "
                               "\"message\": \"{message}\"}'"))
        header = cfg.get("NOTIFY_GATEWAY_AUTH_HEADER")
        if header and ":" not in str(header):
            out.append(Finding("notifications", FAULT, "NOTIFY_GATEWAY_AUTH_HEADER bukan 'Nama: nilai'.",
                               'NOTIFY_GATEWAY_AUTH_HEADER="Authorization: Bearer …"'))
    if not cfg.get("MAIL_SERVER") and not gateway:
        out.append(Finding("notifications", WARN if ctx.production else OK,
                           "E-mail dan WhatsApp/SMS belum diatur: warga hanya melihat pemberitahuan di lonceng "
                           "aplikasi.",
                           "MAIL_SERVER=… MAIL_FROM=… dan/atau NOTIFY_GATEWAY_URL=…" if ctx.production else ""))
    elif not out:
        out.append(Finding("notifications", OK, "Pengaturan e-mail dan gateway WhatsApp/SMS lengkap."))
    return out


def _ratelimit(ctx: Context) -> list[Finding]:
    """Rate limits in production live in a store every worker shares (redis://): memory:// counts per process."""
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    fix = "RATELIMIT_STORAGE_URI=redis://localhost:6379/0 (apt-get install redis-server)"
    if uri.startswith("memory://"):
        if ctx.production:
            return [Finding("ratelimit", FAULT, "RATELIMIT_STORAGE_URI=memory://: setiap proses web menghitung "
                            "sendiri, batas percobaan login dan verifikasi dikalikan jumlah worker dan hilang "
                            "saat restart.",
                            fix)]
        return [Finding("ratelimit", OK, "Batas laju di memori (cukup untuk pengembangan).")]
    try:  # a storage of its own: the app's limiter keeps the one it started with
        reachable = bool(storage_from_string(uri).check())
    except Exception:  # noqa: BLE001 - any failure of the store is the finding
        reachable = False
    if not reachable:
        return [Finding("ratelimit", FAULT, f"Penyimpanan batas laju {uri.split('@')[-1]} tidak menjawab.",
                        "jalankan servernya (systemctl start redis-server) atau perbaiki RATELIMIT_STORAGE_URI")]
    return [Finding("ratelimit", OK, "Batas laju di penyimpanan bersama yang menjawab.")]


# ---------------------------------------------------------------------------------------------------- database

def check_database(ctx: Context) -> list[Finding]:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as e:  # noqa: BLE001 - unreachable for whatever reason is the finding
        db.session.rollback()
        ctx.database_ok = False
        return [Finding("database", FAULT, f"Basis data tidak dapat dihubungi ({type(e).__name__}).",
                        "periksa DATABASE_URL dan server basis data (systemctl status postgresql)")]
    return [Finding("database", OK, f"Basis data ({db.engine.url.get_backend_name()}) dapat dihubungi.")]


def check_migrations(ctx: Context) -> list[Finding]:
    """The database's alembic revision is the code's head."""
    from alembic.script import ScriptDirectory
    from flask_migrate import Migrate  # noqa: F401 - the extension that knows the migrations folder

    fix = "flask --app app db upgrade"
    directory = current_app.extensions["migrate"].directory
    heads = ScriptDirectory(str(Path(current_app.root_path).parent / directory)
                            if not os.path.isabs(directory) else directory).get_heads()
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        db.session.rollback()
    except Exception:  # noqa: BLE001 - no alembic table: never migrated
        db.session.rollback()
        return [Finding("migrations", FAULT, "Basis data belum pernah dimigrasikan (tidak ada tabel alembic_version).",
                        fix)]
    if sorted(current) != sorted(heads):
        return [Finding("migrations", FAULT, f"Basis data pada revisi {', '.join(current) or '(kosong)'}, kode "
                        f"membutuhkan {', '.join(heads)}.", fix + ", lalu mulai ulang layanan")]
    return [Finding("migrations", OK, f"Migrasi terbaru ({heads[0]}).")]


def check_clock(ctx: Context) -> list[Finding]:
    """This machine's clock against the database server's: letters carry the signing time, leases and
    backoffs compare times written by different machines."""
    if db.engine.url.get_backend_name() == "postgresql":
        theirs = db.session.execute(text("SELECT clock_timestamp()")).scalar()
    else:  # the same machine's clock, read through the database as a server's would be
        raw = db.session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar()
        theirs = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    db.session.rollback()
    skew = abs((ctx.now() - theirs).total_seconds())
    fault, warn = float(_cfg("DOCTOR_CLOCK_MAX_SKEW_SECONDS", 30)), float(_cfg("DOCTOR_CLOCK_WARN_SKEW_SECONDS", 2))
    fix = "sinkronkan jam kedua mesin: timedatectl set-ntp true (systemd-timesyncd atau chrony)"
    if skew > fault:
        return [Finding("clock", FAULT, f"Jam mesin ini dan jam server basis data berselisih {skew:.0f} detik.", fix)]
    if skew > warn:
        return [Finding("clock", WARN, f"Jam mesin ini dan jam server basis data berselisih {skew:.1f} detik.", fix)]
    return [Finding("clock", OK, f"Jam sesuai dengan server basis data (selisih {skew:.1f} detik).")]


# ---------------------------------------------------------------------------------------------------- processes

def check_workers(ctx: Context) -> list[Finding]:
    """The job worker and the notifier mark themselves alive each round (services/operations/heartbeat.py)."""
    limit = float(_cfg("DOCTOR_HEARTBEAT_MAX_SECONDS", 300))
    out = []
    # both loops run in one process, `flask background` (sempelmas-worker.service, sempelmas-worker@<nama>)
    for name, what in ((heartbeat.WORKER, "Worker latar (impor, tugas)"),
                       (heartbeat.NOTIFIER, "Pengirim notifikasi (e-mail, WhatsApp, push)")):
        fix = ("systemctl restart sempelmas-worker (banyak kelurahan: sempelmas-worker@<nama>); "
               "journalctl -u sempelmas-worker")
        last = heartbeat.last_beat(name)
        if last is None:
            out.append(Finding("workers", FAULT if ctx.production else WARN,
                               f"{what} belum pernah berjalan di instalasi ini.", fix))
            continue
        age = (ctx.now() - last).total_seconds()
        if age > limit:
            out.append(Finding("workers", FAULT, f"{what} tidak memberi tanda hidup selama {age / 60:.0f} menit "
                               f"(batas {limit / 60:.0f} menit): berhenti, macet, atau basis data tidak terjangkau.",
                               fix))
        else:
            out.append(Finding("workers", OK, f"{what} hidup (tanda terakhir {age:.0f} detik lalu)."))
    return out


# ---------------------------------------------------------------------------------------------------- storage

def check_disk(ctx: Context) -> list[Finding]:
    """Free space where the instance, letters, uploads and backups are written (each file system once)."""
    cfg = current_app.config
    fault_mb = float(_cfg("DOCTOR_DISK_FAULT_FREE_MB", 1024))
    warn_mb = float(_cfg("DOCTOR_DISK_WARN_FREE_MB", 5120))
    seen: dict[int, list[str]] = {}
    for label, folder in (("instance", current_app.instance_path), ("LETTER_DIR", cfg["LETTER_DIR"]),
                          ("UPLOAD_DIR", cfg["UPLOAD_DIR"]), ("BACKUP_DIR", cfg["BACKUP_DIR"])):
        probe = Path(folder)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        seen.setdefault(probe.stat().st_dev, [label, str(probe)]).append(label)
    out = []
    for label, where, *others in seen.values():
        free_mb = shutil.disk_usage(where).free / 2**20
        names = ", ".join(dict.fromkeys([label, *others]))
        fix = f"kosongkan disk atau pindahkan {names} ke disk lain (ambang DOCTOR_DISK_FAULT_FREE_MB / _WARN_)"
        if free_mb < fault_mb:
            out.append(Finding("disk", FAULT, f"Sisa ruang disk untuk {names}: {free_mb:,.0f} MB (batas "
                               f"{fault_mb:,.0f} MB): surat dan unggahan bisa gagal disimpan.", fix))
        elif free_mb < warn_mb:
            out.append(Finding("disk", WARN, f"Sisa ruang disk untuk {names}: {free_mb:,.0f} MB.", fix))
        else:
            out.append(Finding("disk", OK, f"Sisa ruang disk untuk {names}: {free_mb:,.0f} MB."))
    return out


def check_backups(ctx: Context) -> list[Finding]:
    """The newest archive in BACKUP_DIR: present, its manifest readable, younger than DOCTOR_BACKUP_MAX_AGE_HOURS."""
    from sempelmas.services.operations import backup

    fix = "flask --app app backup create; systemctl enable --now sempelmas-backup.timer"
    out = check_backup_tools(ctx) if ctx.database_ok else []
    found = backup.archives(Path(current_app.config["BACKUP_DIR"]))
    if not found:
        return [*out, Finding("backups", FAULT if ctx.production else WARN, "Belum ada cadangan di BACKUP_DIR.", fix)]
    newest = found[-1]
    try:
        made = datetime.fromisoformat(backup.read_manifest(newest).created_at)
    except (backup.BackupError, ValueError):
        return [*out, Finding("backups", FAULT, f"Cadangan terbaru {newest.name} rusak (manifest tidak terbaca).", fix)]
    made = made if made.tzinfo else made.replace(tzinfo=UTC)
    hours = (ctx.now() - made).total_seconds() / 3600
    limit = float(_cfg("DOCTOR_BACKUP_MAX_AGE_HOURS", 26))
    if hours > limit:
        out.append(Finding("backups", FAULT, f"Cadangan terbaru ({newest.name}) berumur {hours:.0f} jam (batas "
                           f"{limit:.0f} jam): pencadangan terjadwal tidak berjalan.", fix))
    else:
        out.append(Finding("backups", OK, f"Cadangan terbaru {newest.name} ({hours:.1f} jam lalu)."))
    if ctx.production and not current_app.config.get("BACKUP_COPY_TARGET"):
        out.append(Finding("backups", WARN, "Cadangan hanya ada di mesin ini (BACKUP_COPY_TARGET kosong): disk "
                           "yang rusak menghilangkan data dan cadangannya sekaligus.",
                           "BACKUP_COPY_TARGET=user@host:/srv/cadangan/<kelurahan> atau /mnt/cadangan"))
    return out


#: every check, in the order they are printed; (name, function, needs the database, before start)
CHECKS: list[tuple[str, Callable[[Context], list[Finding]], bool, bool]] = [
    ("settings", check_settings, False, True),
    ("permissions", check_permissions, False, True),
    ("pki", check_pki, False, True),
    ("ltv", check_ltv, True, False),
    ("database", check_database, False, True),
    ("migrations", check_migrations, True, True),
    ("clock", check_clock, True, True),
    ("install", check_install, True, False),
    ("workers", check_workers, False, False),
    ("disk", check_disk, False, True),
    ("backups", check_backups, False, False),
    ("bsre", check_bsre, True, False),
]
NAMES = tuple(name for name, *_ in CHECKS)


def run(*, only: tuple[str, ...] | None = None, before_start: bool = False,
        now: Callable[[], datetime] | None = None) -> list[Finding]:
    """Every check (or those named in ``only``; with ``before_start`` those that must hold before the web
    starts: not the workers, which start beside it, nor the backups); a check that raises is a FAULT itself."""
    ctx = Context(now=now) if now else Context()
    found: list[Finding] = []
    for name, check, needs_db, at_start in CHECKS:
        if (only and name not in only) or (before_start and not at_start):
            continue
        if needs_db and not ctx.database_ok:
            found.append(Finding(name, WARN, "Dilewati: basis data tidak dapat dihubungi.", ""))
            continue
        try:
            found += check(ctx)
        except Exception as e:  # noqa: BLE001 - a check that cannot run is a finding, not the end of the report
            db.session.rollback()
            found.append(Finding(name, FAULT, f"Pemeriksaan gagal: {type(e).__name__}: {e}", ""))
    return found


def worst(findings: list[Finding]) -> str:
    return max((f.level for f in findings), key=LEVELS.index, default=OK)
