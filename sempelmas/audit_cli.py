"""``flask --app app audit-verify``: check the audit log's hash chain."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.command("audit-verify")
    @click.option("--batch", default=20_000, show_default=True, help="Entries read per query.")
    @click.option("--quiet", is_flag=True, help="No progress on stderr.")
    def audit_verify(batch: int, quiet: bool) -> None:
        """Check the hash-chained audit log; exit 1 at the first entry altered, inserted or deleted."""
        from sempelmas.services.audit import verify_chain

        started = time.perf_counter()

        def progress(n: int) -> None:
            if not quiet:
                click.echo(f"  … {n} entri diperiksa", err=True)

        report = verify_chain(batch=batch, progress=progress)
        seconds = time.perf_counter() - started
        if report.intact:
            span = ""
            if report.checked:
                span = f", {_utc(report.first_at)} s.d. {_utc(report.last_at)}"
            click.echo(f"Log audit utuh: {report.checked} entri diperiksa dalam {seconds:.1f} detik{span}.")
            click.echo(f"Urutan terakhir {report.last_seq}, hash terakhir {report.last_hash}")
            return
        p = report.problem
        click.echo("LOG AUDIT RUSAK.", err=True)
        where = []
        if p.entry_id is not None:
            where.append(f"id {p.entry_id}")
        if p.seq is not None:
            where.append(f"urutan {p.seq}")
        if p.created_at is not None:
            where.append(f"waktu {_utc(p.created_at)}")
        click.echo(f"Masalah pertama ({', '.join(where) or '-'}): {p.message}", err=True)
        click.echo(f"{report.checked} entri sebelumnya utuh.", err=True)
        sys.exit(1)


def _utc(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"
