"""``flask --app app doctor``: check (and repair what is safe to repair) the state a crash can leave behind."""

from __future__ import annotations

import sys

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.command("doctor")
    def doctor() -> None:
        """Check the stored letters and uploads against the database (publishing committed letters, deleting
        orphans of a crash) and the audit chain's head; exit 1 when something needs the admin."""
        from sempelmas.services.files import upload_store
        from sempelmas.services.letters import store as letter_store

        trouble = 0
        click.echo("Berkas surat (LETTER_DIR):")
        result = letter_store.sweep()
        for name in result.published:
            click.echo(f"  diterbitkan: {name} (proses terhenti setelah commit, sebelum berkasnya diberi nama akhir)")
        for name in result.removed:
            click.echo(f"  dihapus: {name} (tidak ada surat di basis data yang menyebutnya: sisa proses yang "
                       "terhenti sebelum commit saat menandatangani: surat itu tidak pernah terbit)")
        for name in result.left_pending:
            click.echo(f"  dibiarkan: {name} (penandatanganan sedang berjalan; diperiksa lagi pada doctor berikutnya)")
        for name in result.foreign:
            click.echo(f"  berkas asing: {name} (bukan surat; tidak disajikan dan tidak dicadangkan)")
        for name in result.missing:
            trouble += 1
            click.echo(f"  HILANG: {name} tercatat sebagai surat, tetapi berkasnya tidak ada. Pulihkan dari "
                       "cadangan.", err=True)
        if not (result.published or result.removed or result.left_pending or result.foreign or result.missing):
            click.echo("  baik: setiap berkas adalah surat yang diterbitkan, setiap surat punya berkasnya.")

        click.echo("Berkas unggahan (UPLOAD_DIR):")
        uploads = upload_store.sweep()
        trouble += _report_uploads(uploads)

        click.echo("Notifikasi push (Web Push):")
        _report_push()

        click.echo("Kepala rantai log audit:")
        problem = _audit_head_problem()
        if problem:
            trouble += 1
            click.echo(f"  {problem} Jalankan `flask --app app audit-verify`.", err=True)
        else:
            click.echo("  baik (periksa seluruh rantai dengan `flask --app app audit-verify --anchor …`).")
        if trouble:
            sys.exit(1)


def _report_uploads(result) -> int:
    """Print what the upload sweep found (counts per kind: the files are personal data); the trouble found."""
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
        click.echo(f"  dihapus: {n} {kind} tanpa catatan di basis data (sisa proses yang terhenti sebelum "
                   "commit, atau berkas yang sudah dilepas catatannya)")
    hours = current_app.config["UPLOAD_ORPHAN_GRACE_SECONDS"] / 3600
    for kind, n in each(result.young):
        click.echo(f"  dibiarkan: {n} {kind} tanpa catatan, lebih baru dari {hours:g} jam (mungkin unggahan "
                   "yang sedang disimpan; diperiksa lagi pada doctor berikutnya)")
    for folder, n in sorted(result.others.items()):
        click.echo(f"  lain: {folder} ({n}; bukan unggahan formulir, tidak diperiksa)")
    # a register file is the admin's own copy of the register: uploaded again, not restored (no record lost)
    missing = {kind: n for kind, n in result.missing.items() if kind != uploads.IMPORTS}
    if result.missing.get(uploads.IMPORTS):
        click.echo(f"  tidak ada: {result.missing[uploads.IMPORTS]} {names[uploads.IMPORTS]} dari impor yang "
                   "belum selesai; impor itu gagal dengan pesan untuk mengunggah berkasnya lagi.")
    for kind, n in each(missing):
        click.echo(f"  HILANG: {n} {kind} tercatat di basis data, tetapi berkasnya tidak ada. Pulihkan dari "
                   "cadangan.", err=True)
    if not (result.removed or result.young or result.missing):
        click.echo("  baik: setiap unggahan punya catatannya, setiap catatan punya berkasnya.")
    return 1 if missing else 0


def _report_push() -> None:
    """Whether Web Push can be sent (its VAPID key, created here when missing) and what to check; not counted as
    trouble: push is an extra, the bell and e-mail / WhatsApp work without it."""
    from sempelmas.services.operations import vapid

    ready, notes = vapid.readiness()
    click.echo("  siap." if ready else "  TIDAK SIAP: residen tidak ditawari notifikasi HP.")
    for note in notes:
        click.echo(f"  {note}")


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
