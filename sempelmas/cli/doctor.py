"""``flask --app app doctor``: what is wrong with this install, each finding with its fix (the checks:
services/operations/doctor.py), then the repair of what a crash left in the stored files; exit 1 on a fault."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask

from sempelmas.extensions import db

#: the sections of the stored-files repair (``--only`` names them like the checks)
REPAIRS = ("files", "push", "audit")


def register(app: Flask) -> None:
    from sempelmas.services.operations import doctor as checks

    @app.cli.command("doctor")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object (findings with level, message, fix).")
    @click.option("--quiet", is_flag=True, help="Print only warnings and faults (systemd, cron).")
    @click.option("--before-start", is_flag=True,
                  help="Only what must hold before the web starts (no workers, backups or file repairs).")
    @click.option("--only", default="", help=f"Comma-separated: {', '.join((*checks.NAMES, *REPAIRS))}.")
    def doctor(as_json: bool, quiet: bool, before_start: bool, only: str) -> None:
        """What is wrong with this install (settings, permissions, CA, database, migrations, clock, workers, disk,
        backups), each with its fix; then the stored letters and uploads against the database (publishing
        committed letters, deleting orphans of a crash) and the audit chain's head. Exit 1 on a fault."""
        names = tuple(n.strip() for n in only.split(",") if n.strip())
        unknown = set(names) - {*checks.NAMES, *REPAIRS}
        if unknown:
            raise click.BadParameter(f"tidak dikenal: {', '.join(sorted(unknown))}", param_hint="--only")
        wanted = (lambda n: n in names) if names else (lambda n: True)
        findings = []
        if not names or set(names) & set(checks.NAMES):
            findings = checks.run(only=names or None, before_start=before_start)
        lines: list[tuple[str, str, str]] = []  # (section, level, text) of the repairs, in the admin's words
        blocked = _repairs_blocked(findings)
        if blocked and not before_start and any(wanted(n) for n in REPAIRS):
            findings.append(checks.Finding("files", checks.WARN, f"Perbaikan berkas dilewati: {blocked}.",
                                           "perbaiki dulu masalah di atas, lalu jalankan doctor lagi"))
        elif not before_start:
            try:
                _repairs(wanted, lines)
            except Exception as e:  # noqa: BLE001 - reported, not a traceback
                db.session.rollback()
                lines.append(("files", checks.FAULT, f"Perbaikan berkas gagal: {type(e).__name__}: {e}"))
        findings += [checks.Finding(section, level, text) for section, level, text in lines]
        if as_json:
            click.echo(json.dumps({"ok": checks.worst(findings) != checks.FAULT, "worst": checks.worst(findings),
                                   "findings": [f.as_dict() for f in findings]}, ensure_ascii=False, indent=1))
        else:
            _print(findings, quiet)
        if checks.worst(findings) == checks.FAULT:
            sys.exit(1)


def _repairs_blocked(findings) -> str | None:
    """Why the repairs must not run: they read every letter and upload row of the current schema."""
    for f in findings:
        if f.level == "FAULT" and f.check == "database":
            return "basis data tidak dapat dihubungi"
        if f.level == "FAULT" and f.check == "migrations":
            return "basis data belum pada migrasi terbaru"
    return None


def _print(findings, quiet: bool) -> None:
    """One line per finding (level, check, message), its fix indented below; --quiet: the problems only."""
    shown = [f for f in findings if not quiet or f.level != "OK"]
    for f in shown:
        click.echo(f"[{f.level}] {f.check}: {f.message}", err=f.level == "FAULT")
        if f.fix:
            click.echo(f"    perbaikan: {f.fix}", err=f.level == "FAULT")
    if not quiet:
        faults = sum(f.level == "FAULT" for f in findings)
        warns = sum(f.level == "WARN" for f in findings)
        click.echo(f"{faults} masalah, {warns} peringatan." if faults or warns else "Semua baik.")


def _repairs(wanted, lines: list) -> None:
    """The stored letters and uploads swept (what a crash left behind), push readiness and the audit head."""
    from sempelmas.services.files import upload_store
    from sempelmas.services.letters import store as letter_store

    def say(section: str, text: str, level: str = "OK") -> None:
        lines.append((section, level, text))

    if wanted("files"):
        result = letter_store.sweep()
        for name in result.published:
            say("files", f"diterbitkan: {name} (proses terhenti setelah commit, sebelum berkasnya diberi nama akhir)")
        for name in result.removed:
            say("files", f"dihapus: {name} (tidak ada surat di basis data yang menyebutnya: sisa proses yang "
                "terhenti sebelum commit saat menandatangani: surat itu tidak pernah terbit)")
        for name in result.left_pending:
            say("files", f"dibiarkan: {name} (penandatanganan sedang berjalan; diperiksa lagi pada doctor berikutnya)")
        for name in result.foreign:
            say("files", f"berkas asing: {name} (bukan surat; tidak disajikan dan tidak dicadangkan)", "WARN")
        for name in result.missing:
            say("files", f"HILANG: {name} tercatat sebagai surat, tetapi berkasnya tidak ada. Pulihkan dari "
                "cadangan.", "FAULT")
        if not (result.published or result.removed or result.left_pending or result.foreign or result.missing):
            say("files", "Berkas surat (LETTER_DIR) baik: setiap berkas adalah surat yang diterbitkan, setiap surat "
                "punya berkasnya.")
        _report_uploads(upload_store.sweep(), say)
    if wanted("push"):
        _report_push(say)
    if wanted("audit"):
        problem = _audit_head_problem()
        if problem:
            say("audit", f"{problem} Jalankan `flask --app app audit-verify`.", "FAULT")
        else:
            say("audit", "Kepala rantai log audit baik (periksa seluruh rantai dengan `flask --app app audit-verify "
                "--anchor …`).")


def _report_uploads(result, say) -> None:
    """What the upload sweep found (counts per kind: the files are personal data)."""
    from flask import current_app

    from sempelmas.services.files import uploads

    # the kinds of upload as the admin knows them
    names = {uploads.KTP: "foto KTP", uploads.DOCUMENTS: "berkas permohonan",
             uploads.COMPLAINT_PHOTOS: "foto pengaduan", uploads.QUESTION_PHOTOS: "foto pertanyaan",
             uploads.CORRECTION_EVIDENCE: "foto bukti koreksi data",
             uploads.IMPORTS: "berkas impor data penduduk"}

    def each(counts: dict[str, int]):
        return sorted((names.get(kind, kind), n) for kind, n in counts.items())

    for kind, n in each(result.removed):
        say("files", f"dihapus: {n} {kind} tanpa catatan di basis data (sisa proses yang terhenti sebelum "
                   "commit, atau berkas yang sudah dilepas catatannya)")
    hours = current_app.config["UPLOAD_ORPHAN_GRACE_SECONDS"] / 3600
    for kind, n in each(result.young):
        say("files", f"dibiarkan: {n} {kind} tanpa catatan, lebih baru dari {hours:g} jam (mungkin unggahan "
                   "yang sedang disimpan; diperiksa lagi pada doctor berikutnya)")
    for folder, n in sorted(result.others.items()):
        say("files", f"lain: {folder} ({n}; bukan unggahan formulir, tidak diperiksa)")
    # a register file is the admin's own copy of the register: uploaded again, not restored (no record lost)
    missing = {kind: n for kind, n in result.missing.items() if kind != uploads.IMPORTS}
    if result.missing.get(uploads.IMPORTS):
        say("files", f"tidak ada: {result.missing[uploads.IMPORTS]} {names[uploads.IMPORTS]} dari impor yang "
                   "belum selesai; impor itu gagal dengan pesan untuk mengunggah berkasnya lagi.")
    for kind, n in each(missing):
        say("files", f"HILANG: {n} {kind} tercatat di basis data, tetapi berkasnya tidak ada. Pulihkan dari "
            "cadangan.", "FAULT")
    if not (result.removed or result.young or result.missing):
        say("files", "Berkas unggahan (UPLOAD_DIR) baik: setiap unggahan punya catatannya, setiap catatan punya "
            "berkasnya.")


def _report_push(say) -> None:
    """Whether Web Push can be sent (its VAPID key, created here when missing) and what to check; not counted as
    trouble: push is an extra, the bell and e-mail / WhatsApp work without it."""
    from sempelmas.services.operations import vapid

    ready, notes = vapid.readiness()
    say("push", "Notifikasi push (Web Push) siap." if ready
        else "Notifikasi push (Web Push) TIDAK SIAP: residen tidak ditawari notifikasi HP.", "OK" if ready else "WARN")
    for note in notes:
        say("push", note)


def _audit_head_problem() -> str | None:
    """Whether the chain head names the last entry (a quick look; audit-verify checks every entry)."""
    from sqlalchemy import select

    from sempelmas.extensions import db
    from sempelmas.models.audit import HEAD_ID, AuditChainHead, AuditEntry

    head = db.session.get(AuditChainHead, HEAD_ID)
    last = db.session.execute(select(AuditEntry.seq, AuditEntry.entry_hash)
                              .order_by(AuditEntry.seq.desc()).limit(1)).first()
    db.session.rollback()
    if head is None:
        return "Kepala rantai hilang (baris audit_chain_head dihapus)." if last else None
    if last is None and head.seq == 0:
        return None
    last_seq = last.seq if last else 0
    if head.seq != last_seq:
        return (f"Kepala rantai mencatat urutan {head.seq}, tetapi entri terakhir berurutan {last_seq}: "
                "entri terakhir dihapus atau disisipkan.")
    if head.last_hash != last.entry_hash:
        return f"Entri terakhir (urutan {last_seq}) tidak sama dengan yang dicatat kepala rantai: entri itu diganti."
    return None
