"""``flask --app app backup create|restore|list`` and ``flask --app app retention run``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def register(app: Flask) -> None:
    backup_group = AppGroup("backup", help="Cadangkan dan pulihkan basis data, unggahan, surat dan PKI.")
    retention_group = AppGroup("retention", help="Hapus berkas lampiran yang melewati masa retensi.")

    @backup_group.command("create")
    def create() -> None:
        """Write one archive into BACKUP_DIR (then prune old archives and copy it to BACKUP_COPY_TARGET)."""
        from sempelmas.services.operations import backup, backup_create

        try:
            result = backup_create.create_backup()
        except backup.BackupError as e:
            raise click.ClickException(str(e)) from e
        click.echo(f"Cadangan dibuat: {result.path} ({_size(result.size)}, {len(result.manifest.files)} berkas, "
                   f"basis data {result.manifest.database}).")
        if result.manifest.audit_anchor:
            # the backup's log (journal, e-mail) is one place off the database to keep it
            click.echo(f"Jangkar log audit (simpan di luar server): --anchor {result.manifest.audit_anchor}")
        for name in result.pruned:
            click.echo(f"Arsip lama dihapus: {name}")
        if result.copied_to:
            click.echo(f"Disalin ke {result.copied_to}.")
            for name in result.copy_pruned:
                click.echo(f"Arsip lama dihapus di {result.copied_to}: {name}")

    @backup_group.command("list")
    @click.option("--check", is_flag=True, help="Also verify every checksum of each archive (reads it all).")
    def list_archives(check: bool) -> None:
        """List the archives in BACKUP_DIR, oldest first."""
        from sempelmas.services.operations import backup

        found = backup.archives(Path(current_app.config["BACKUP_DIR"]))
        if not found:
            click.echo(f"Belum ada arsip di {current_app.config['BACKUP_DIR']}.")
            return
        bad = 0
        for path in found:
            try:
                m = backup.verify(path) if check else backup.read_manifest(path)
                status = "  utuh" if check else ""
                click.echo(f"{path.name}  {_size(path.stat().st_size):>9}  {m.created_at}  {m.database}  "
                           f"revisi {m.alembic_revision or '-'}  {len(m.files)} berkas{status}")
            except backup.BackupError as e:
                bad += 1
                click.echo(f"{path.name}  RUSAK: {e}")
        if bad:
            raise SystemExit(1)

    @backup_group.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--dry-run", is_flag=True, help="Only check the archive and open its database copy aside; "
                  "change nothing (recorded for the 'Siap melayani' checklist).")
    def restore(file: Path, yes: bool, dry_run: bool) -> None:
        """Check an archive's manifest, then replace the database and the folders with its content."""
        from sempelmas.services.operations import backup, backup_restore

        if dry_run:
            _dry_run(file)
            return

        try:
            manifest = backup.read_manifest(file)
            click.echo(f"Arsip {file.name}: dibuat {manifest.created_at}, basis data {manifest.database}, "
                       f"revisi {manifest.alembic_revision or '-'}, versi aplikasi {manifest.app_version}, "
                       f"{len(manifest.files)} berkas.")
            click.echo("Memeriksa checksum semua berkas…")
            backup.verify(file)
            click.echo("Arsip utuh.")
            if not yes:
                click.confirm("Basis data dan folder unggahan, surat dan PKI saat ini akan DIGANTI isi arsip ini. "
                              "Lanjutkan?", abort=True)
            manifest = backup_restore.restore(file)
        except backup.BackupError as e:
            raise click.ClickException(str(e) + " Tidak ada yang diubah.") from e
        click.echo("Pemulihan selesai.")
        head = _head_revision()
        if head and manifest.alembic_revision != head:
            click.echo(f"Revisi basis data arsip ({manifest.alembic_revision or '-'}) berbeda dengan kode ({head}): "
                       "jalankan `flask --app app db upgrade` sebelum aplikasi dijalankan lagi.")

    @retention_group.command("run")
    @click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
    def run(dry_run: bool) -> None:
        """Delete the uploaded documents of requests finished more than ATTACHMENT_RETENTION_DAYS ago, and register
        files of import previews not applied within IMPORT_PREVIEW_DAYS, and the settled webhook log older than
        WEBHOOK_LOG_DAYS."""
        from sempelmas.services.operations import retention

        result = retention.run(dry_run=dry_run)
        verb = "akan dihapus" if dry_run else "dihapus"
        imports = result.imports
        click.echo(f"Berkas impor data penduduk yang pratinjaunya tidak diterapkan, diunggah sebelum "
                   f"{imports.cutoff:%Y-%m-%d} ({imports.days} hari): {imports.files} berkas "
                   f"({_size(imports.bytes)}) {verb}.")
        hooks = result.webhooks
        if hooks.days:
            click.echo(f"Log webhook sebelum {hooks.cutoff:%Y-%m-%d} ({hooks.days} hari): {hooks.deliveries} kiriman, "
                       f"{hooks.attempts} percobaan dan {hooks.events} peristiwa {verb}.")
        else:
            click.echo("WEBHOOK_LOG_DAYS = 0: log webhook disimpan seluruhnya.")
        if not result.days:
            click.echo("ATTACHMENT_RETENTION_DAYS = 0: retensi lampiran tidak aktif.")
            if dry_run:
                click.echo("Uji coba saja: tidak ada yang dihapus.")
            return
        click.echo(f"Permohonan selesai/ditolak/dibatalkan sebelum {result.cutoff:%Y-%m-%d} "
                   f"({result.days} hari): {result.files} berkas ({_size(result.bytes)}) dari "
                   f"{len(result.requests)} permohonan {verb}.")
        if result.missing:
            click.echo(f"{result.missing} berkas sudah tidak ada di disk; "
                       f"{'akan ' if dry_run else ''}dicatat sebagai dihapus.")
        click.echo(f"Foto pada pertanyaan (Tanya petugas) permohonan itu: {result.question_photos} {verb}.")
        if dry_run:
            click.echo("Uji coba saja: tidak ada yang dihapus.")

    app.cli.add_command(backup_group)
    app.cli.add_command(retention_group)


def _dry_run(file: Path) -> None:
    from sempelmas.extensions import db
    from sempelmas.services.kelurahan import readiness_actions
    from sempelmas.services.operations import backup

    try:
        manifest = readiness_actions.restore_dry_run(file)
    except backup.BackupError as e:
        raise click.ClickException(str(e) + " Tidak ada yang diubah.") from e
    db.session.commit()
    click.echo(f"Uji pemulihan berhasil: arsip {file.name} ({manifest.created_at}) utuh dan salinan basis datanya "
               "terbaca. Data yang berjalan tidak diubah.")


def _head_revision() -> str | None:
    try:
        from alembic.script import ScriptDirectory
        migrate = current_app.extensions["migrate"]
        config = migrate.migrate.get_config(migrate.directory)
        return ScriptDirectory.from_config(config).get_current_head()
    except Exception:
        return None
