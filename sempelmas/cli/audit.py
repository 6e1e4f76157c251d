"""``flask --app app audit-verify``: check the audit log's hash chain (against anchors kept elsewhere)."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask


def _anchors(ctx, param, values) -> tuple[tuple[int, str], ...]:
    from sempelmas.services.accountability.audit import parse_anchor

    out = []
    for value in values:
        try:
            out.append(parse_anchor(value))
        except ValueError:
            raise click.BadParameter(
                f"{value!r} bukan jangkar: tulis <urutan>:<hash>, persis seperti baris 'Jangkar' yang dicetak "
                "audit-verify sebelumnya (hash 64 karakter heksadesimal).") from None
    return tuple(out)


def register(app: Flask) -> None:
    @app.cli.command("audit-verify")
    @click.option("--batch", default=20_000, show_default=True, help="Entries read per query.")
    @click.option("--quiet", is_flag=True, help="No progress on stderr.")
    @click.option("--anchor", "anchors", multiple=True, callback=_anchors, metavar="SEQ:HASH",
                  help="An anchor printed by an earlier run and kept elsewhere: the entry SEQ must still have "
                       "HASH (a rewritten or deleted tail shows). May be given more than once.")
    def audit_verify(batch: int, quiet: bool, anchors) -> None:
        """Check the hash-chained audit log; exit 1 at the first entry altered, inserted or deleted, at a break
        the chain records (its head was deleted), or at an anchor it no longer matches."""
        from sempelmas.services.accountability.audit import chain_views, verify_chain

        started = time.perf_counter()

        def progress(n: int) -> None:
            if not quiet:
                click.echo(f"  … {n} entri diperiksa", err=True)

        chain_views()  # the page views not chained yet are checked too
        report = verify_chain(batch=batch, progress=progress, anchors=anchors)
        seconds = time.perf_counter() - started
        if report.intact:
            span = ""
            if report.checked:
                span = f", {_utc(report.first_at)} s.d. {_utc(report.last_at)}"
            click.echo(f"Log audit utuh: {report.checked} entri diperiksa dalam {seconds:.1f} detik{span}.")
            if anchors:
                click.echo(f"Cocok dengan {len(anchors)} jangkar yang disimpan.")
        else:
            click.echo("LOG AUDIT RUSAK.", err=True)
            for p in report.breaks:
                click.echo(f"Putus tercatat ({_where(p)}): {p.message}", err=True)
            if report.problem is not None:
                click.echo(f"Masalah pertama ({_where(p := report.problem)}): {p.message}", err=True)
                click.echo(f"{report.checked} entri sebelumnya utuh.", err=True)
            else:
                click.echo(f"{report.checked} entri diperiksa dalam {seconds:.1f} detik; selain yang di atas, "
                           "rantai tersambung.", err=True)
        if report.anchor:
            click.echo(f"Urutan terakhir {report.last_seq}, hash terakhir {report.last_hash}")
            # kept off this server (the backup's log, an e-mail, paper), it catches a rewrite of the whole chain
            click.echo(f"Jangkar (simpan di luar server, periksa nanti dengan --anchor): {report.anchor}")
        if not report.intact:
            sys.exit(1)


def _where(p) -> str:
    where = []
    if p.entry_id is not None:
        where.append(f"id {p.entry_id}")
    if p.seq is not None:
        where.append(f"urutan {p.seq}")
    if p.created_at is not None:
        where.append(f"waktu {_utc(p.created_at)}")
    return ", ".join(where) or "-"


def _utc(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"
