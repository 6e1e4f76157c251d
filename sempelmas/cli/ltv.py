"""``flask --app app ltv run``: the daily long-term validation upkeep (services/letters/ltv_refresh.py): the
CA's CRL made again, and a fresh document timestamp on the letters whose last timestamp's TSA certificate expires soon.
Started by deploy/sempelmas-ltv.timer; exits 1 when a letter could not be refreshed (the timer's unit then
shows failed, and ``flask doctor`` lists the letters)."""

from __future__ import annotations

import logging

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("ltv", help="Validasi jangka panjang surat: CRL dan pembaruan cap waktu dokumen.")

    @group.command("run")
    @click.option("--days", type=int, default=None,
                  help="Perbarui surat yang sertifikat TSA cap waktu terakhirnya habis dalam sekian hari "
                       "(bawaan: LTV_REFRESH_DAYS).")
    def run(days: int | None) -> None:
        """Make the CRL again and re-timestamp the letters that are due."""
        from sempelmas.services.letters import ca, ca_public, ltv_refresh

        logging.basicConfig(level=logging.INFO, format="%(asctime)s ltv %(message)s")
        if not ca.has_ca():
            click.echo("Belum ada CA kelurahan: tidak ada yang dikerjakan.")
            return
        try:
            crl = ca_public.publish_crl()
        except ca.PkiError as e:
            raise click.ClickException(e.message) from e
        click.echo(f"CRL dibuat: {len(crl)} sertifikat dicabut, berlaku sampai "
                   f"{crl.next_update_utc:%Y-%m-%d %H:%M} UTC.")
        report = ltv_refresh.refresh_letters(days=days)
        click.echo(f"Surat diperiksa: {report.checked}  diperbarui: {len(report.refreshed)}  "
                   f"gagal: {len(report.failed)}")
        for number in report.refreshed:
            click.echo(f"  diperbarui: {number}")
        for number, why in report.failed:
            click.echo(f"  gagal: {number}: {why}")
        if report.failed:
            raise SystemExit(1)

    app.cli.add_command(group)
