"""``flask doctor``'s checks of files: the instance folder's permissions, the CA's files (services/letters/ca.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from flask import current_app

from sempelmas.services.operations.findings import FAULT, OK, WARN, Context, Finding


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _open_to_others(path: Path) -> bool:
    """Whether another user of the machine can read it: it is other-readable (a folder: or enterable) and
    every folder above it lets others through."""
    mode = _mode(path)
    if mode is None or not mode & (stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)):
        return False
    return all((_mode(parent) or 0) & stat.S_IXOTH for parent in path.resolve().parents)


def _secret_files() -> list[Path]:
    """Files that hold a key or a passphrase: only their owner may read them (0600)."""
    cfg = current_app.config
    pki = Path(cfg["PKI_DIR"])
    push = Path(cfg.get("PUSH_DIR") or pki)
    return [Path(current_app.instance_path) / "secret_key", pki / "ca-key.pem", pki / "ca-passphrase",
            push / "vapid-private.pem"]


def check_permissions(ctx: Context) -> list[Finding]:
    """instance/ and the folders of personal data are not world-readable; key files are 0600; instance/config.py
    and a SQLite database are not world-readable."""
    cfg = current_app.config
    out = []
    folders = [("instance", Path(current_app.instance_path))] + [
        (key, Path(cfg[key])) for key in ("UPLOAD_DIR", "LETTER_DIR", "PKI_DIR", "BACKUP_DIR")]
    for label, folder in folders:
        mode = _mode(folder)
        # instance/ itself: closed to others whatever its parents (the brief of the README); the data folders:
        # closed in effect (inside a closed instance/ they are)
        if mode is not None and (mode & stat.S_IRWXO if label == "instance" else _open_to_others(folder)):
            out.append(Finding("permissions", FAULT, f"Folder {label} ({folder}) dapat dibuka semua pengguna mesin "
                               f"(mode {mode:o}): berisi data pribadi warga dan kunci.", f"chmod o-rwx {folder}"))
        if mode is not None and not os.access(folder, os.W_OK | os.X_OK):
            out.append(Finding("permissions", FAULT, f"Folder {label} ({folder}) tidak dapat ditulisi oleh pengguna "
                               "yang menjalankan aplikasi.", f"chown -R sempelmas: {folder}"))
    database = str(cfg.get("SQLALCHEMY_DATABASE_URI") or "")
    readable = [Path(current_app.instance_path) / "config.py"]
    if database.startswith("sqlite:///"):
        readable.append(Path(database.removeprefix("sqlite:///")))
    for file in readable:
        mode = _mode(file)
        if mode is not None and _open_to_others(file):
            out.append(Finding("permissions", FAULT, f"{file} dapat dibaca semua pengguna mesin (mode {mode:o}).",
                               f"chmod o-rwx {file}"))
    for file in _secret_files():
        mode = _mode(file)
        if mode is not None and mode & (stat.S_IRWXG | stat.S_IRWXO):
            out.append(Finding("permissions", FAULT, f"Berkas kunci {file} tidak hanya untuk pemiliknya "
                               f"(mode {mode:o}).",
                               f"chmod 600 {file}"))
    if not out:
        out.append(Finding("permissions", OK, "Izin instance/, folder data dan berkas kunci sudah tertutup."))
    return out


def check_pki(ctx: Context) -> list[Finding]:
    """The CA: both files or neither (then WARN: no letter can be signed yet), readable, and its key opens with the
    configured passphrase; in production the passphrase is a setting, not a file beside the key."""
    from sempelmas.services.letters import ca

    pki = Path(current_app.config["PKI_DIR"])
    cert, key = pki / "ca.pem", pki / "ca-key.pem"
    present = [p.exists() for p in (cert, key)]
    if not any(present):
        return [Finding("pki", WARN if ctx.production else OK, f"CA kelurahan belum dibuat di {pki}: surat belum "
                        "dapat ditandatangani.", "isi profil kelurahan, lalu flask --app app pki-init")]
    if not all(present):
        missing = cert if not present[0] else key
        return [Finding("pki", FAULT, f"CA tidak lengkap: {missing.name} hilang dari {pki}. Tanpa keduanya tidak "
                        "ada surat yang dapat ditandatangani.",
                        f"pulihkan {pki} dari cadangan (flask --app app backup restore …); jangan jalankan pki-init "
                        "ulang: sertifikat setiap pejabat harus diterbitkan lagi")]
    try:
        ca.ca_certificate()
        ca.ca_private_key()
    except PermissionError:
        return [Finding("pki", FAULT, f"Berkas CA di {pki} tidak dapat dibaca oleh pengguna ini.",
                        f"chown -R sempelmas: {pki}; chmod 600 {key}")]
    except ca.PkiError as e:
        return [Finding("pki", FAULT, f"Kunci CA tidak dapat dibuka: {e.message}",
                        "PKI_CA_PASSPHRASE=<passphrase CA yang tersimpan terpisah>")]
    except (OSError, ValueError) as e:
        return [Finding("pki", FAULT, f"Berkas CA di {pki} rusak atau tidak terbaca ({type(e).__name__}).",
                        f"pulihkan {pki} dari cadangan")]
    out = [Finding("pki", OK, f"CA kelurahan lengkap dan kuncinya terbuka dengan passphrase-nya ({pki}).")]
    if ctx.production and (pki / "ca-passphrase").exists() and not current_app.config.get("PKI_CA_PASSPHRASE"):
        out.append(Finding("pki", WARN, "Passphrase CA tersimpan di samping kuncinya (ca-passphrase): siapa pun yang "
                           "memegang cadangan dapat memakai kunci CA.",
                           "pindahkan isinya ke PKI_CA_PASSPHRASE di berkas lingkungan, lalu hapus berkas itu"))
    return out


def check_ltv(ctx: Context) -> list[Finding]:
    """Long-term validation (services/letters/ltv.py): the CRL current (re-made here when stale: every letter
    embeds it), the TSA reachable when configured, and the last ``ltv run`` refreshed every letter due."""
    from datetime import datetime, timedelta

    from sempelmas.services.letters import ca, ca_public, ltv, ltv_refresh

    if not ca.has_ca():
        return [Finding("ltv", OK, "Belum ada CA: validasi jangka panjang belum berlaku.")]
    out = []
    now = ctx.now()
    published = ca_public.load_crl()
    try:
        fresh = ca_public.current_crl(now)
    except (ca.PkiError, OSError) as e:
        return [Finding("ltv", FAULT, f"CRL CA kelurahan tidak dapat dibuat: {getattr(e, 'message', e)}",
                        "periksa PKI_CA_PASSPHRASE dan izin tulis PKI_DIR")]
    if published is not None and published.next_update_utc <= now:
        out.append(Finding("ltv", WARN, f"CRL sudah kedaluwarsa sejak {published.next_update_utc:%Y-%m-%d %H:%M} "
                           "UTC (baru dibuat ulang oleh pemeriksaan ini): timer ltv tidak berjalan.",
                           "systemctl enable --now sempelmas-ltv.timer"))
    else:
        out.append(Finding("ltv", OK, f"CRL berlaku sampai {fresh.next_update_utc:%Y-%m-%d %H:%M} UTC "
                           f"({len(fresh)} sertifikat dicabut)."))
    if not ltv.tsa_configured():
        out.append(Finding("ltv", OK, "Tanpa TSA (PKI_TSA_URL kosong): surat PAdES B-LT, tanpa cap waktu."))
    elif not ltv.tsa_reachable():
        out.append(Finding("ltv", WARN, f"TSA {current_app.config['PKI_TSA_URL']} tidak dapat dihubungi: surat tidak "
                           "dapat ditandatangani dan cap waktunya tidak dapat diperbarui.",
                           "periksa jaringan ke TSA atau PKI_TSA_URL"))
    else:
        out.append(Finding("ltv", OK, f"TSA {current_app.config['PKI_TSA_URL']} dapat dihubungi (B-LTA)."))
    run = ltv_refresh.last_run()
    if run and run.get("failed"):
        numbers = ", ".join(f["number"] for f in run["failed"][:10])
        more = f" dan {len(run['failed']) - 10} lainnya" if len(run["failed"]) > 10 else ""
        out.append(Finding("ltv", WARN, f"{len(run['failed'])} surat belum diperbarui cap waktunya pada "
                           f"{run['at'][:16]}: {numbers}{more}.", "flask --app app ltv run"))
    elif ltv.tsa_configured() and (run is None or now - datetime.fromisoformat(run["at"]) > timedelta(days=2)):
        out.append(Finding("ltv", WARN, "Pembaruan cap waktu surat (ltv run) tidak berjalan dua hari terakhir.",
                           "systemctl enable --now sempelmas-ltv.timer"))
    return out
