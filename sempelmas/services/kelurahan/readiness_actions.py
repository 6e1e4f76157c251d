"""What the "Siap melayani" checklist records: the confirmations of facts outside the app, each an audit entry
that ``readiness`` looks for. Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from flask_babel import gettext as _

from sempelmas.extensions import db
from sempelmas.models.notifications import OutboxMessage
from sempelmas.services.accountability import audit
from sempelmas.services.kelurahan import readiness
from sempelmas.services.letters import ca
from sempelmas.services.operations import backup

KEY_BEGIN = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


class ReadinessError(Exception):
    """A confirmation refused, with the Indonesian reason."""


def ca_backup_file(actor) -> tuple[bytes, str]:
    """The CA backup to keep off the server: the passphrase-protected key then the certificate, as one PEM file.
    The download is audited (the passphrase is not in it)."""
    if not ca.has_ca():
        raise ReadinessError(_("CA belum dibuat."))
    key = (ca.pki_dir() / "ca-key.pem").read_bytes()
    audit.record(readiness.CA_BACKUP_DOWNLOADED, None, actor=actor, object_type="ca",
                 sha256=hashlib.sha256(key).hexdigest())
    db.session.flush()
    return key.rstrip(b"\n") + b"\n" + ca.ca_pem(), "cadangan-ca-kelurahan.pem"


def confirm_ca_backup(uploaded: bytes, actor) -> None:
    """Record that the admin holds the CA backup: the file they upload must contain this CA's key, still
    passphrase-protected (a key written out in clear is refused)."""
    digest = readiness.ca_key_digest()
    if digest is None:
        raise ReadinessError(_("CA belum dibuat."))
    if readiness._last_audit(readiness.CA_BACKUP_DOWNLOADED) is None:
        raise ReadinessError(_("Unduh cadangan CA dari halaman ini terlebih dahulu."))
    key = (ca.pki_dir() / "ca-key.pem").read_bytes().strip()
    if not key.startswith(KEY_BEGIN):
        raise ReadinessError(_("Kunci CA di server tidak terlindung passphrase."))
    if key not in uploaded.replace(b"\r\n", b"\n"):
        raise ReadinessError(_("Berkas ini bukan cadangan kunci CA kelurahan ini (atau kuncinya tidak lagi "
                               "terlindung passphrase). Unggah berkas yang diunduh dari halaman ini."))
    audit.record(readiness.CA_BACKUP_CONFIRMED, None, actor=actor, object_type="ca", sha256=digest)
    db.session.flush()


def record_completion(steps: list[readiness.Step], actor) -> bool:
    """Record, once, that every step was found done (the banner and the home card stop). True when recorded."""
    if not steps or not all(s.done for s in steps) or readiness.completed():
        return False
    audit.record(readiness.COMPLETED, None, actor=actor, object_type="readiness", steps=[s.key for s in steps])
    db.session.flush()
    return True


def mark_catalogue_reviewed(actor) -> None:
    """The admin says they reviewed the catalogue (numbering format, classification codes) after viewing it."""
    audit.record(readiness.CATALOGUE_REVIEWED, None, actor=actor, object_type="catalogue")
    db.session.flush()


def send_test_message(actor, *, email: str | None, phone: str | None) -> list[str]:
    """Queue a test message on every configured channel with a recipient; the notify-worker delivers it.
    Returns the messages' uids (recorded, the check looks them up)."""
    from flask import current_app

    cfg = current_app.config
    rows = []
    body = _("Pesan uji SemPelMas: notifikasi kelurahan berfungsi.")
    subject = _("Pesan uji SemPelMas")
    if cfg.get("MAIL_SERVER") and email:
        rows.append(OutboxMessage(channel="email", recipient=email.strip(), subject=subject, body=body))
    if cfg.get("NOTIFY_GATEWAY_URL") and phone:
        rows.append(OutboxMessage(channel="gateway", recipient=phone.strip(), subject=subject, body=body))
    if not rows:
        raise ReadinessError(_("Tidak ada saluran yang diatur untuk penerima ini: isi e-mail (MAIL_SERVER) "
                               "atau nomor WhatsApp (NOTIFY_GATEWAY_URL)."))
    db.session.add_all(rows)
    db.session.flush()
    uids = [r.uid for r in rows]
    audit.record(readiness.TEST_MESSAGE_QUEUED, None, actor=actor, object_type="outbox", uids=uids,
                 channels=[r.channel for r in rows])
    db.session.flush()
    return uids


def restore_dry_run(path: Path) -> backup.Manifest:
    """Try an archive without touching the live data: every checksum, then the database copy opened on its own
    (SQLite: integrity_check and the tables; PostgreSQL: pg_restore --list). Recorded for the checklist."""
    manifest = backup.verify(path)
    with tempfile.TemporaryDirectory(prefix=".dry-run-") as work:
        dump = Path(work) / "database"

        def extract(name, _info, chunks):
            if name.startswith("database/"):
                with open(dump, "wb") as out:
                    for c in chunks:
                        out.write(c)

        backup.walk(path, manifest, extract)
        tables = _check_dump(dump, manifest.database)
    audit.record(readiness.RESTORE_DRY_RUN, None, object_type="backup", object_id=path.name,
                 created_at=manifest.created_at, files=len(manifest.files), tables=tables)
    db.session.flush()
    return manifest


def _check_dump(dump: Path, kind: str) -> int:
    if kind == "postgresql":
        try:
            out = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True,  # noqa: S603, S607
                                 text=True, timeout=600)
        except FileNotFoundError as e:
            raise backup.BackupError("pg_restore tidak terpasang (paket Debian postgresql-client).") from e
        if out.returncode != 0:
            raise backup.BackupError("Salinan PostgreSQL di arsip tidak dapat dibaca: " + out.stderr.strip()[:300])
        return sum(1 for line in out.stdout.splitlines() if " TABLE DATA " in line)
    conn = sqlite3.connect(dump)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise backup.BackupError("Salinan basis data SQLite di arsip rusak (integrity_check gagal).")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "users" not in names:
            raise backup.BackupError("Salinan basis data di arsip tidak berisi tabel aplikasi.")
        conn.execute("SELECT count(*) FROM users").fetchone()
        return len(names)
    finally:
        conn.close()
