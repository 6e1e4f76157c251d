"""Reports for the city: the monthly service recap (rekap layanan) and the register of outgoing letters
(buku register surat keluar), as XLSX, CSV or a printable PDF with the kop surat.

A report is a list of typed columns and an iterator of rows; each writer takes both:

- XLSX: openpyxl's write-only mode (rows are streamed to disk, memory stays flat for 30,000 letters);
  dates and numbers are real typed cells with number formats, a bold header row, set column widths
  and the header frozen;
- CSV: UTF-8 with a BOM so Excel reads the accents; ``;`` between fields and a decimal comma, as
  Excel expects under Indonesian regional settings;
- PDF: an HTML table under the kelurahan's kop surat, through the letters' xhtml2pdf setup. Long
  registers do not belong on paper: above ``PDF_MAX_ROWS`` rows the PDF is refused (use XLSX).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import func, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.letters import Letter
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import audit, service_stats
from sempelmas.services.accountability.periods import Period
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import kop as kop_surat
from sempelmas.services.letters import pdf as letter_pdf

FORMATS = ("xlsx", "csv", "pdf")
KINDS = ("rekap", "register")
PDF_MAX_ROWS = 2000
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class ReportError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    title: str
    #: "text", "int", "count" (an integer left in Excel's General format: a row number), "date", "datetime",
    #: "percent" (a fraction) or "hours"
    kind: str = "text"
    width: float = 14


XLSX_FORMATS = {"int": "#,##0", "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm", "percent": "0.0%",
                "hours": "#,##0.0"}


@dataclass
class Report:
    kind: str
    title: str
    period: Period
    columns: list[Column]
    rows: Callable[[], Iterator[tuple]]
    #: shown under the table in the PDF
    note: str = ""

    @property
    def filename_stem(self) -> str:
        return f"{'rekap-layanan' if self.kind == 'rekap' else 'register-surat-keluar'}-{self.period.slug}"


# ----------------------------------------------------------------------------------- the two reports

def recap(period: Period) -> Report:
    """Per service: received, completed, rejected, cancelled, on time, on-time share, median and p90 hours."""
    rows = service_stats.recap_rows(period)
    hours = 3600.0

    def generate():
        total = service_stats.Completion()
        received = rejected = cancelled = 0
        for r in rows:
            d = r.done
            received, rejected, cancelled = received + r.received, rejected + r.rejected, cancelled + r.cancelled
            total.merge(d)
            yield (r.name, r.received, d.completed, r.rejected, r.cancelled, d.on_time, d.on_time_share,
                   _h(d.median, hours), _h(d.p90, hours))
        total.finish()
        yield (str(_("Jumlah")), received, total.completed, rejected, cancelled, total.on_time, total.on_time_share,
               _h(total.median, hours), _h(total.p90, hours))

    columns = [Column(str(_("Layanan")), width=36), Column(str(_("Diterima")), "int", 11),
               Column(str(_("Selesai")), "int", 11), Column(str(_("Ditolak")), "int", 11),
               Column(str(_("Dibatalkan")), "int", 12), Column(str(_("Tepat waktu")), "int", 12),
               Column(str(_("% tepat waktu")), "percent", 13), Column(str(_("Median (jam)")), "hours", 13),
               Column(str(_("Persentil 90 (jam)")), "hours", 17)]
    note = str(_("Diterima: permohonan yang masuk dalam periode. Selesai/ditolak/dibatalkan: yang mencapai status "
                 "itu dalam periode. Tepat waktu: selesai paling lambat pada batas waktu layanan yang dijanjikan. "
                 "Waktu penyelesaian dihitung dari pengajuan sampai surat terbit."))
    return Report("rekap", str(_("Rekapitulasi Layanan")), period, columns, generate, note)


def _h(seconds: float | None, unit: float) -> float | None:
    return round(seconds / unit, 1) if seconds is not None else None


def register(period: Period) -> Report:
    """Letters signed in the period, oldest first: number, date, service, subject, signer, status."""
    zone = ZoneInfo(period.tz)
    labels = _letter_status_labels()

    def generate():
        stmt = (select(Letter.number, Letter.signed_at, Letter.title,
                       func.coalesce(func.nullif(Letter.subject_name, ""), Resident.full_name),
                       Letter.signer_name, Letter.status, Letter.revoked_at)
                .select_from(Letter)
                .join(LetterRequest, LetterRequest.id == Letter.request_id)
                .join(Resident, Resident.id == LetterRequest.subject_resident_id)
                .where(Letter.signed_at >= period.utc_start, Letter.signed_at < period.utc_end)
                .order_by(Letter.signed_at, Letter.id)
                .execution_options(yield_per=2000))
        # Core rows (no ORM row processing), streamed in batches
        result = db.session.connection().execute(stmt)
        try:  # a reader that stops early (the PDF's row limit) closes the generator: close the cursor too
            for n, (number, signed_at, title, subject, signer, status, revoked_at) in enumerate(result, start=1):
                yield (n, number, _local(signed_at, zone), title, subject, signer, labels.get(status, status),
                       _local(revoked_at, zone) if revoked_at is not None else None)
        finally:
            result.close()

    columns = [Column(str(_("No.")), "count", 7), Column(str(_("Nomor surat")), width=28),
               Column(str(_("Tanggal")), "datetime", 19), Column(str(_("Layanan")), width=32),
               Column(str(_("Nama yang diterangkan")), width=30), Column(str(_("Penandatangan")), width=28),
               Column(str(_("Status")), width=12), Column(str(_("Dicabut pada")), "datetime", 17)]
    return Report("register", str(_("Buku Register Surat Keluar")), period, columns, generate)


def _letter_status_labels() -> dict[str, str]:
    from sempelmas.services.letters.issued import LETTER_STATUS_LABELS

    return {str(k): str(v) for k, v in LETTER_STATUS_LABELS.items()}


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored UTC timestamp as local wall time, without zone (Excel has none), to the minute."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def build(kind: str, period: Period) -> Report:
    if kind not in KINDS:
        raise ReportError(str(_("Jenis laporan tidak dikenal.")))
    return recap(period) if kind == "rekap" else register(period)


# ----------------------------------------------------------------------------------- writers

def to_xlsx(report: Report) -> tuple[bytes, int]:
    """The report as an XLSX workbook (write-only: streamed, flat memory); returns (bytes, data rows)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(report.title[:31])
    for i, col in enumerate(report.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A4"
    bold = Font(bold=True)
    profile = profile_service.current_profile()
    heading = report.title + (f" — {profile.village_title}" if profile else "")
    title = WriteOnlyCell(ws, value=heading)
    title.font = Font(bold=True, size=13)
    ws.append([title])
    ws.append([str(_("Periode: %(p)s", p=report.period.label))])
    fill = PatternFill("solid", fgColor="DDEBE3")
    header = []
    for col in report.columns:
        cell = WriteOnlyCell(ws, value=col.title)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    ws.append(header)
    # one styled template cell per column: openpyxl shares the style ids, rows stay cheap
    formats = [XLSX_FORMATS.get(col.kind) for col in report.columns]
    count = 0
    for row in report.rows():
        out = []
        for value, fmt in zip(row, formats, strict=True):
            if fmt is None or value is None:
                out.append(value)
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt
                out.append(cell)
        ws.append(out)
        count += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), _data_rows(report, count)


def _data_rows(report: Report, count: int) -> int:
    return count - 1 if report.kind == "rekap" else count  # the recap ends with its total row


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return value.strftime("%d/%m/%Y %H:%M")
    if kind == "date":
        return value.strftime("%d/%m/%Y")
    if kind == "percent":
        return f"{value * 100:.1f}".replace(".", ",")
    if kind == "hours":
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def to_csv(report: Report) -> tuple[bytes, int]:
    """The report as CSV for Excel: UTF-8 with BOM, ``;`` separated, decimal comma, dd/mm/yyyy dates."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.title if c.kind != "percent" else f"{c.title}" for c in report.columns])
    kinds = [c.kind for c in report.columns]
    count = 0
    for row in report.rows():
        writer.writerow([_csv_value(v, k) for v, k in zip(row, kinds, strict=True)])
        count += 1
    return ("\ufeff" + buf.getvalue()).encode("utf-8"), _data_rows(report, count)


def _display(value, kind: str) -> str:
    if value is None:
        return "–" if kind in ("percent", "hours") else ""
    if kind == "datetime":
        return value.strftime("%d-%m-%Y %H.%M")
    if kind == "date":
        return value.strftime("%d-%m-%Y")
    if kind == "percent":
        return service_stats.percent_text(value)
    if kind == "hours":
        return f"{value:.1f}".replace(".", ",")
    if kind == "int":
        return f"{value:,}".replace(",", ".")
    return str(value)


def to_pdf(report: Report) -> tuple[bytes, int]:
    """The report as a landscape PDF under the kop surat; refuses more than PDF_MAX_ROWS rows."""
    rows = []
    with closing(report.rows()) as source:
        for row in source:
            rows.append([_display(v, c.kind) for v, c in zip(row, report.columns, strict=True)])
            if len(rows) > PDF_MAX_ROWS:
                raise ReportError(str(_("Laporan ini lebih dari %(n)d baris: terlalu panjang untuk PDF. Unduh "
                                        "XLSX atau CSV, atau pilih periode yang lebih pendek.", n=PDF_MAX_ROWS)))
    context = kop_surat.kop_context(profile_service.current_profile())
    width, height = letter_pdf.PAPER_MM[context.pop("paper_name")]
    html = render_template("dash/report_print.html", report=report, rows=rows,
                           numeric=[c.kind != "text" for c in report.columns], total_row=report.kind == "rekap",
                           widths=[round(c.width * 100 / sum(x.width for x in report.columns), 1)
                                   for c in report.columns],
                           page_size=f"{height}mm {width}mm", **context,
                           printed=_local(datetime.now(UTC).replace(tzinfo=None), ZoneInfo(report.period.tz)))
    return letter_pdf.html_to_pdf(html), _data_rows(report, len(rows))


WRITERS = {"xlsx": to_xlsx, "csv": to_csv, "pdf": to_pdf}


def export(kind: str, fmt: str, period: Period, *, actor=None) -> tuple[bytes, str, str, int]:
    """Build and write a report; audit it as ``actor``'s. Returns (data, mime, file name, data rows). Flushes,
    never commits."""
    if fmt not in FORMATS:
        raise ReportError(str(_("Format unduhan tidak dikenal.")))
    report = build(kind, period)
    data, count = WRITERS[fmt](report)
    audit.record("report.export", actor=actor, object_type="report", kind=kind, format=fmt, period=period.slug,
                 period_start=period.start.isoformat(), period_end=period.end.isoformat(), rows=count)
    db.session.flush()
    return data, MIME[fmt], f"{report.filename_stem}.{fmt}", count


def preview_rows(report: Report, limit: int | None = None) -> Iterable[list[str]]:
    """The report's rows as display strings (the reports page shows the recap before download)."""
    for i, row in enumerate(report.rows()):
        if limit is not None and i >= limit:
            return
        yield [_display(v, c.kind) for v, c in zip(row, report.columns, strict=True)]
