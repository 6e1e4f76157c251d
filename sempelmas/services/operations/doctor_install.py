"""``flask doctor``'s checks of the README's hand steps that leave a trace: translations compiled, the first admin
made, the catalogue seeded, the proxy counted; and the tools the backup needs (pg_dump of the server's version,
rsync and ssh for a copy to another host)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text

from sempelmas.extensions import db
from sempelmas.services.operations.findings import FAULT, OK, WARN, Context, Finding


def check_install(ctx: Context) -> list[Finding]:
    from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
    from sempelmas.models.catalogue import Service

    out = []
    folder = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    stale = [po for po in sorted(folder.glob("*/LC_MESSAGES/messages.po"))
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        out.append(Finding("install", WARN, f"Terjemahan belum dikompilasi ({stale[0].parts[-3]}): halaman berbahasa "
                           "Inggris tampil sebagian dalam bahasa Indonesia.",
                           ".venv/bin/pybabel compile -d translations"))
    admins = db.session.execute(
        select(func.count()).select_from(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.ADMIN, User.status != AccountStatus.DISABLED)).scalar()
    if not admins:
        out.append(Finding("install", FAULT, "Belum ada akun admin yang aktif: tidak ada yang dapat mengelola situs.",
                           "flask --app app create-admin"))
    if not db.session.execute(select(func.count()).select_from(Service)).scalar():
        out.append(Finding("install", WARN, "Katalog layanan kosong: warga belum dapat mengajukan surat.",
                           "flask --app app seed-catalogue"))
    db.session.rollback()
    if ctx.production and not current_app.config.get("PROXY_COUNT"):
        out.append(Finding("install", WARN, "SEMPELMAS_PROXY_COUNT=0: di belakang nginx setiap pengunjung tampak "
                           "beralamat 127.0.0.1 (batas laju dan log audit menyatukan mereka).",
                           "SEMPELMAS_PROXY_COUNT=1 (satu nginx di depan aplikasi)"))
    return out or [Finding("install", OK, "Terjemahan, akun admin, katalog layanan dan proxy sudah diatur.")]


def _major(version: str) -> int | None:
    found = re.search(r"(\d+)(?:\.\d+)?", version)
    return int(found.group(1)) if found else None


def check_backup_tools(ctx: Context) -> list[Finding]:
    """pg_dump at least the server's major version (PostgreSQL); rsync and ssh for a remote BACKUP_COPY_TARGET."""
    out = []
    if db.engine.url.get_backend_name() == "postgresql":
        server = int(db.session.execute(text("SHOW server_version_num")).scalar()) // 10000
        db.session.rollback()
        binary = shutil.which("pg_dump")
        ours = None
        if binary:
            done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)  # noqa: S603
            ours = _major(done.stdout)
        fix = f"apt-get install postgresql-client-{server}"
        if ours is None:
            out.append(Finding("backups", FAULT, "pg_dump tidak terpasang: cadangan basis data tidak dapat dibuat.",
                               fix))
        elif ours < server:
            out.append(Finding("backups", FAULT, f"pg_dump versi {ours} lebih tua dari server PostgreSQL {server}: "
                               "pencadangan akan gagal.", fix))
    from sempelmas.services.operations.backup_create import is_remote

    target = str(current_app.config.get("BACKUP_COPY_TARGET") or "")
    if target and is_remote(target):
        missing = [tool for tool in ("rsync", "ssh") if not shutil.which(tool)]
        if missing:
            out.append(Finding("backups", FAULT, f"{' dan '.join(missing)} tidak terpasang: salinan ke {target} gagal.",
                               "apt-get install rsync openssh-client"))
    return out
