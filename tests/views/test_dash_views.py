"""The dashboard, the reports and their files (XLSX opened with openpyxl, CSV parsed, PDF through pdftotext),
and the public transparency page."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import LetterStatus
from sempelmas.models.requests import RequestStatus
from sempelmas.services.accountability import periods
from tests.letter_fixtures import make_letter
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus
MARCH = "periode=kustom&dari=2026-03-01&sampai=2026-03-31"


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return " ".join(out.split())


def put(person, service, submitted: datetime, status=S.SUBMITTED, hours=None, due_hours=24):
    r = submit(person, service=service, now=submitted.replace(tzinfo=UTC))
    r.submitted_at, r.status = submitted, status
    r.due_at = submitted + timedelta(hours=due_hours)
    r.closed_at = submitted + timedelta(hours=hours) if hours is not None else None
    db.session.flush()
    return r


@pytest.fixture
def march(app, factory):
    """March 2026 in Jagalan: four domisili letters (one revoked, one signed late at night WIB on 31 March
    = 1 April UTC-wise is still March locally), one rejected SKTM, one overdue open request."""
    make_profile()
    make_service("domisili", needs_rt=False)
    make_service("sktm", needs_rt=False, time_value=5)
    siti = factory.warga(name="SITI AMINAH", rt="001", rw="001")
    budi = factory.warga(name="BUDI SANTOSO", rt="003", rw="002")
    signer = factory.staff(Role.SIGNER, "lurahx")
    day = datetime(2026, 3, 10, 2, 0)
    done = [put(siti, "domisili", day, S.DONE, hours=h) for h in (2, 4, 30)]
    put(budi, "sktm", day, S.REJECTED, hours=1)
    late = put(budi, "domisili", datetime(2026, 3, 20, 2, 0))
    db.session.commit()
    letters = [make_letter(r, signer, pdf=b"%PDF-1.4 uji", number=f"470/{i:03d}/417.604.3/2026",
                           signed_at=r.closed_at) for i, r in enumerate(done, start=1)]
    letters[1].status, letters[1].revoked_at = LetterStatus.REVOKED, datetime(2026, 3, 12, 3, 0)
    extra = put(siti, "domisili", datetime(2026, 3, 31, 15, 0), S.DONE, hours=1)  # 31 March 23:00 WIB
    db.session.commit()
    letters.append(make_letter(extra, signer, pdf=b"%PDF-1.4 uji", number="470/004/417.604.3/2026",
                               signed_at=datetime(2026, 3, 31, 16, 30)))  # 23:30 WIB, still March
    db.session.commit()
    return {"letters": letters, "late": late, "signer": signer}


def test_dashboard_shows_the_periods_numbers_charts_and_tables(client, factory, login_as, march):
    login_as(factory.staff(Role.SIGNER, "lurah2"))
    html = client.get(f"/petugas/dasbor?{MARCH}").get_data(as_text=True)
    assert "Periode: Maret 2026" in html
    assert html.count("<svg class=\"chart\"") >= 4 and 'role="img"' in html
    # domisili: 5 received in March (3 done + 1 open + 1 done at the end), 4 done, on time 3 of 4
    row = re.search(r"<th scope=\"row\">Surat domisili</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td class=\"num\"[^>]*>([^<]*)</td>", row)
    assert cells[:5] == ["5", "4", "0", "75,0 %", "3,0 jam"]  # median of 1, 2, 4, 30 hours
    assert "RT 003 / RW 002" in html
    assert "Permohonan terlambat" in html and march["late"].tracking_number in html


def test_dashboard_htmx_answers_with_the_stats_fragment_and_explains_bad_dates(client, factory, login_as, march):
    login_as(factory.staff(Role.STAFF))
    resp = client.get("/petugas/dasbor?periode=kustom&dari=2026-03-31&sampai=2026-03-01",
                      headers={"HX-Request": "true"})
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="stats"') and "<html" not in body
    assert "tidak boleh sebelum" in body
    assert "HX-Request" in resp.headers["Vary"]


def test_staff_sees_the_dashboard_link_in_the_nav_and_residents_do_not(client, factory, login_as, march):
    login_as(factory.staff(Role.ADMIN))
    assert "/petugas/dasbor" in client.get("/notifikasi/").get_data(as_text=True)
    client.post("/logout")
    login_as(factory.warga())
    assert "/petugas/dasbor" not in client.get("/notifikasi/").get_data(as_text=True)
    assert client.get("/petugas/dasbor").status_code == 403


def test_recap_xlsx_has_typed_cells_widths_frozen_header_and_is_audited(client, factory, login_as, march):
    login_as(factory.staff(Role.STAFF, "loket9"))
    resp = client.get(f"/petugas/laporan/rekap.xlsx?{MARCH}")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="rekap-layanan-2026-03.xlsx"'
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value.startswith("Rekapitulasi Layanan") and "Maret 2026" in ws["A2"].value
    assert [c.value for c in ws[3]][:3] == ["Layanan", "Diterima", "Selesai"]
    assert ws.freeze_panes == "A4"
    assert ws.column_dimensions["A"].width == 36
    rows = {r[0].value: r for r in ws.iter_rows(min_row=4)}
    dom = rows["Surat domisili"]
    assert [c.value for c in dom[1:6]] == [5, 4, 0, 0, 3]
    assert dom[6].value == pytest.approx(0.75) and dom[6].number_format == "0.0%"
    assert dom[7].value == 3.0 and isinstance(dom[1].value, int)
    assert [c.value for c in rows["Surat sktm"][1:4]] == [1, 0, 1]
    assert rows["Jumlah"][1].value == 6
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).one()
    assert entry.details == {"kind": "rekap", "format": "xlsx", "period": "2026-03", "period_start": "2026-03-01",
                             "period_end": "2026-03-31", "rows": 2}
    assert entry.actor_id is not None


def test_register_xlsx_lists_letters_with_real_dates_and_revoked_status(client, factory, login_as, march):
    login_as(factory.staff(Role.STAFF))
    resp = client.get(f"/petugas/laporan/register.xlsx?{MARCH}")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    assert [r[1] for r in rows] == ["470/001/417.604.3/2026", "470/002/417.604.3/2026", "470/003/417.604.3/2026",
                                    "470/004/417.604.3/2026"]
    first = rows[0]
    assert first[2] == datetime(2026, 3, 10, 11, 0)  # 04:00 UTC → 11:00 WIB, a real date cell
    assert ws.cell(row=4, column=3).number_format == "dd/mm/yyyy hh:mm"
    assert first[4] == "SITI AMINAH" and first[6] == "Sah"
    assert rows[1][6] == "Dicabut" and rows[1][7] == datetime(2026, 3, 12, 10, 0)
    assert rows[3][2] == datetime(2026, 3, 31, 23, 30)  # late on the last day: still in March locally
    april = load_workbook(io.BytesIO(client.get("/petugas/laporan/register.xlsx?bulan=2026-04").data)).active
    assert april.max_row <= 3 or april.cell(row=4, column=2).value is None


def test_register_csv_is_utf8_with_bom_for_excel(client, factory, login_as, march):
    login_as(factory.staff(Role.ADMIN))
    resp = client.get(f"/petugas/laporan/register.csv?{MARCH}")
    assert resp.data.startswith(b"\xef\xbb\xbf") and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["No.", "Nomor surat", "Tanggal"]
    assert rows[1][1:3] == ["470/001/417.604.3/2026", "10/03/2026 11:00"] and len(rows) == 5
    assert rows[2][6] == "Dicabut"
    recap = client.get(f"/petugas/laporan/rekap.csv?{MARCH}").data.decode("utf-8-sig")
    dom = next(r for r in csv.reader(io.StringIO(recap), delimiter=";") if r[0] == "Surat domisili")
    assert dom[6] == "75,0" and dom[7] == "3,0"


def test_recap_pdf_carries_the_kop_surat_and_the_numbers(client, factory, login_as, march, tmp_path):
    login_as(factory.staff(Role.SIGNER))
    resp = client.get(f"/petugas/laporan/rekap.pdf?{MARCH}")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    text = pdf_text(resp.data, tmp_path)
    assert "PEMERINTAH KOTA MOJOKERTO" in text and "KELURAHAN JAGALAN" in text
    assert "REKAPITULASI LAYANAN" in text and "Periode: Maret 2026" in text
    assert "Surat domisili 5 4 0 0 3 75,0 %" in text
    register = pdf_text(client.get(f"/petugas/laporan/register.pdf?{MARCH}").data, tmp_path)
    assert "BUKU REGISTER SURAT KELUAR" in register and "470/002/417.604.3/2026" in register
    assert "Dicabut" in register
    kinds = db.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "report.export")
                               .order_by(AuditEntry.seq)).all()
    assert [(d["kind"], d["format"], d["rows"]) for d in kinds] == [("rekap", "pdf", 2), ("register", "pdf", 4)]


def test_a_too_long_register_pdf_is_refused_with_a_reason_and_not_audited(client, factory, login_as, march,
                                                                        monkeypatch):
    from sempelmas.services.accountability import report_export

    monkeypatch.setattr(report_export, "PDF_MAX_ROWS", 2)
    login_as(factory.staff(Role.STAFF))
    resp = client.get(f"/petugas/laporan/register.pdf?{MARCH}")
    assert resp.status_code == 303 and "/petugas/laporan" in resp.location
    assert "terlalu panjang untuk PDF" in client.get(resp.location).get_data(as_text=True)
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).all()


def test_unknown_report_or_format_is_refused(client, factory, login_as, march):
    login_as(factory.staff(Role.STAFF))
    assert client.get(f"/petugas/laporan/rahasia.xlsx?{MARCH}").status_code == 303
    assert client.get(f"/petugas/laporan/rekap.docx?{MARCH}").status_code == 303


def test_reports_page_previews_the_recap_with_download_links(client, factory, login_as, march):
    login_as(factory.staff(Role.STAFF))
    html = client.get("/petugas/laporan?bulan=2026-03").get_data(as_text=True)
    assert "Rekapitulasi layanan" in html and "Surat domisili" in html
    for fmt in ("xlsx", "csv", "pdf"):
        assert f"/petugas/laporan/register.{fmt}?periode=kustom&amp;dari=2026-03-01&amp;sampai=2026-03-31" in html


def test_transparency_page_is_public_with_standards_numbers_and_complaints(client, factory, march, app):
    app.config["TRANSPARENCY_CACHE_SECONDS"] = 0
    today = periods.local_date(datetime.now(UTC).replace(tzinfo=None), "Asia/Jakarta")
    s = submit(factory.warga(name="WARGA BARU"), service="domisili", now=datetime.now(UTC))
    s.status, s.closed_at = S.DONE, s.submitted_at + timedelta(hours=1)
    db.session.commit()
    resp = client.get("/transparansi")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "private" in resp.headers["Cache-Control"]
    assert "Surat domisili" in html and "Surat sktm" in html and "5 hari kerja" in html
    assert "Fotokopi KK" in html and "Gratis" in html
    assert 'href="/pengaduan"' in html
    row = re.search(r"<th scope=\"row\">" + periods.MONTHS[today.month - 1] + r" \d{4}</th>(.*?)</tr>",
                    html, re.S).group(1)
    assert re.findall(r"<td class=\"num\"[^>]*>([^<]*)</td>", row) == ["1", "1", "100,0 %"]
    assert "/transparansi" in client.get("/").get_data(as_text=True)  # linked in the footer
