"""Command-line tasks: ``flask --app app <command>``."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from sempelmas.cli import audit as audit_cli
from sempelmas.cli import doctor as doctor_cli
from sempelmas.cli import ltv as ltv_cli
from sempelmas.extensions import db


def register(app: Flask) -> None:
    from sempelmas.cli import backup as backup_cli

    backup_cli.register(app)
    audit_cli.register(app)
    doctor_cli.register(app)
    ltv_cli.register(app)

    @app.cli.command("create-admin")
    @click.option("--username", prompt="Nama pengguna")
    @click.option("--name", "full_name", prompt="Nama lengkap")
    @click.option("--password", default=None, help="Omit to be asked without echo.")
    def create_admin(username: str, full_name: str, password: str | None) -> None:
        """Create the first admin account (production has no demo accounts)."""
        from sempelmas.models.accounts import Role
        from sempelmas.services.people.accounts import AccountError
        from sempelmas.services.people.staff_accounts import create_staff_account

        if password is None:
            password = getpass.getpass("Kata sandi: ")
            if getpass.getpass("Ulangi kata sandi: ") != password:
                raise click.ClickException("Kata sandi tidak sama.")
        try:
            user = create_staff_account(username, full_name, password, [Role.ADMIN], actor=None)
        except AccountError as e:
            raise click.ClickException(e.message) from e
        db.session.commit()
        click.echo(f"Admin '{user.username}' dibuat.")

    @app.cli.command("public-url")
    def public_url() -> None:
        """Print the site address that letters' QR codes and messages carry (PUBLIC_URL, or the derived one)."""
        from sempelmas import links

        click.echo(links.public_url())

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Seed Kelurahan Jagalan's demo data when the database is empty (never in production)."""
        from sempelmas.services.kelurahan.demo import DemoRefused, seed

        try:
            created = seed()
        except DemoRefused as e:
            raise click.ClickException(str(e)) from e
        db.session.commit()
        click.echo("Data demo dibuat." if created else "Basis data sudah berisi data; demo tidak diisi ulang.")

    @app.cli.command("seed-catalogue")
    def seed_catalogue() -> None:
        """Add the standard service catalogue when it is empty (production included: it is not demo data); give
        standard services seeded before the English texts existed their English texts."""
        from sempelmas.services.requests.catalogue_standard import add_english, seed_standard

        added = seed_standard()
        translated = 0 if added else add_english()
        db.session.commit()
        if added:
            click.echo(f"{added} layanan ditambahkan.")
        elif translated:
            click.echo(f"Katalog layanan sudah berisi; {translated} layanan standar mendapat teks bahasa Inggris.")
        else:
            click.echo("Katalog layanan sudah berisi; tidak diubah.")

    @app.cli.command("import-residents")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Only check the file and show what would change.")
    def import_residents(path: Path, dry_run: bool) -> None:
        """Import the population register from CSV or XLSX (idempotent upsert by NIK)."""
        from tqdm import tqdm

        from sempelmas.services.people import register_apply
        from sempelmas.services.people import register_import as ri

        # no monitor thread left running in the process (it only tunes refresh rates); a process with a
        # stray thread cannot fork safely (services/operations/detached.py), and the tests run this command in-process
        tqdm.monitor_interval = 0

        try:
            with tqdm(desc="Memeriksa", unit=" baris", file=sys.stderr) as bar:
                def step(n: int) -> None:
                    bar.update(n - bar.n)

                analysis = ri.analyse(path, report=step)
                step(analysis.total)
            s = analysis.summary()
            _print_summary(s)
            if dry_run:
                click.echo("Uji coba saja: tidak ada yang disimpan.")
                db.session.rollback()
                return
            with tqdm(total=s["new"] + s["changed"], desc="Menyimpan", unit=" baris", file=sys.stderr) as bar:
                def save_step(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                # saves what was just checked and shown: the file is not read a second time
                register_apply.apply(path, actor_id=None, report=save_step, analysis=analysis,
                         chunk=current_app.config["IMPORT_CHUNK_SIZE"])
            db.session.commit()
            click.echo("Impor selesai.")
        except ri.ImportFileError as e:
            db.session.rollback()
            raise click.ClickException(str(e)) from e

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run the queued jobs, then exit.")
    def worker(once: bool) -> None:
        """Run background jobs (register imports…) from the database queue."""
        import logging

        from sempelmas.services.files import upload_store
        from sempelmas.services.letters import store as letter_store
        from sempelmas.services.operations import job_kinds, jobs

        logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
        letter_store.sweep_at_start()  # letters of a signing process killed mid-way: published, or orphans deleted
        upload_store.sweep_at_start()  # uploads a process killed before its commit left without a record: deleted
        job_kinds.load()  # every kind of job registered before the queue runs
        if once:
            click.echo(f"{jobs.run_pending()} job(s) selesai.")
            return
        jobs.work_forever(current_app.config["WORKER_POLL_SECONDS"])

    @app.cli.command("background")
    def background() -> None:
        """Run the job worker and the notifier in one process (one deployment's memory, issue 17)."""
        import logging

        from sempelmas.services.files import upload_store
        from sempelmas.services.letters import store as letter_store
        from sempelmas.services.operations import delivery, heartbeat, job_kinds, jobs, worker_loop

        logging.basicConfig(level=logging.INFO, format="%(asctime)s background %(message)s")
        letter_store.sweep_at_start()  # as `flask worker` does at start (see there)
        upload_store.sweep_at_start()
        job_kinds.load()
        cfg = current_app.config
        logging.getLogger(__name__).info("started: jobs and the outbox, one process")
        # the names doctor reads their heartbeats by
        worker_loop.run_together({heartbeat.WORKER: jobs.worker_round(cfg["WORKER_POLL_SECONDS"]),
                                  heartbeat.NOTIFIER: delivery.notify_round(cfg["NOTIFY_POLL_SECONDS"])})

    @app.cli.command("notify-worker")
    @click.option("--once", is_flag=True, help="Send the messages that are due, then exit.")
    def notify_worker(once: bool) -> None:
        """Deliver queued e-mail and WhatsApp/SMS messages from the outbox, retrying with backoff."""
        import logging

        from sempelmas.services.operations import delivery

        logging.basicConfig(level=logging.INFO, format="%(asctime)s notify-worker %(message)s")
        if once:
            c = delivery.deliver_due()
            click.echo(f"Terkirim: {c['sent']}  dicoba lagi nanti: {c['retry']}  gagal: {c['failed']}")
            return
        delivery.work_forever(current_app.config["NOTIFY_POLL_SECONDS"])


    @app.cli.command("pki-init")
    def pki_init() -> None:
        """Create the kelurahan certificate authority under PKI_DIR if absent (never replaces one)."""
        from sempelmas.services.letters import ca as letter_ca

        try:
            created, message = letter_ca.init_ca()
        except letter_ca.PkiError as e:
            raise click.ClickException(e.message) from e
        if created:
            db.session.commit()
        click.echo(message)


def _print_summary(s: dict) -> None:
    click.echo(
        f"Baris: {s['total']}  baru: {s['new']}  berubah: {s['changed']}  tetap: {s['unchanged']}  "
        f"salah: {s['errors']}  peringatan: {s['warnings']}  ganti KK: {s['kk_changes']}"
    )
    for p in s["error_rows"][:20]:
        click.echo(f"  baris {p['line']} ({p['nik'] or '-'}): {'; '.join(p['messages'])}")
    if s["errors"] > 20:
        click.echo(f"  … dan {s['errors'] - 20} baris salah lainnya")
