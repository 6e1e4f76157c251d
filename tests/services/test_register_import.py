import csv
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.operations import jobs
from sempelmas.services.people import register_apply
from sempelmas.services.people import register_import as ri

HEADER = ["NIK", "No KK", "Nama", "Tempat Lahir", "Tanggal Lahir", "Jenis Kelamin", "Alamat", "RT", "RW",
          "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan"]
ROWS = [
    ["3576031705900012", "3576031203150001", "Budi Santoso", "Mojokerto", "17-05-1990", "L", "Jl. Pemuda 1",
     "1", "1", "Islam", "Kawin", "Wiraswasta", "wni"],
    ["3576035708920013", "3576031203150001", "Sri Wahyuni", "Mojokerto", "17-08-1992", "P", "Jl. Pemuda 1",
     "1", "1", "Islam", "Kawin", "Mengurus Rumah Tangga", "WNI"],
    ["3576030203150014", "3576031203150001", "Anak Santoso", "Mojokerto", "02/03/2015", "Laki-laki",
     "Jl. Pemuda 1", "001", "001", "Islam", "Belum Kawin", "Pelajar", "WNI"],
]


def write_csv(path, rows, header=HEADER, delimiter=","):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path, rows, header=HEADER):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def csv_with_a_bad_byte(path, *, lines: int = 15_010, bad_line: int = 15_001):
    """A UTF-8 register of ``lines`` lines (header included) whose line ``bad_line`` holds a name saved in
    Windows-1252 ("JOSÉ" with é as the single byte 0xE9), far beyond the first 64 KB the upload checks."""
    from sempelmas.services.kelurahan.demo import make_nik

    out = [",".join(HEADER).encode()]
    for i in range(lines - 1):
        birth = date(1950 + i % 50, 1 + i % 12, 1 + (i // 12) % 28)
        name = "JOS\xc9 SANTOSO".encode("cp1252") if len(out) + 1 == bad_line else f"WARGA {i}".encode()
        nik = make_nik(birth, False, 1 + i % 9999).encode()
        kk = f"357603120315{1 + i % 9999:04d}".encode()
        out.append(b",".join([nik, kk, name, b"Mojokerto", birth.strftime("%d-%m-%Y").encode(), b"L",
                              b"Jl. Uji", b"1", b"1", b"Islam", b"Kawin", b"Wiraswasta", b"WNI"]))
    data = b"\r\n".join(out) + b"\r\n"
    assert data.index(b"\xc9") > 65536 and data.count(b"\r\n", 0, data.index(b"\xc9")) == bad_line - 1
    path.write_bytes(data)
    return path


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_dry_run_classifies_rows_and_saves_nothing(app, tmp_path):
    path = write_csv(tmp_path / "p.csv", ROWS)
    analysis = ri.analyse(path)
    s = analysis.summary()
    assert (s["total"], s["new"], s["changed"], s["unchanged"], s["errors"]) == (3, 3, 0, 0, 0)
    assert count(Resident) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "csv;"])
def test_import_then_reimport_changes_nothing(app, tmp_path, fmt):
    if fmt == "xlsx":
        rows = [[*r[:4], date(1990, 5, 17) if i == 0 else r[4], *r[5:]] for i, r in enumerate(ROWS)]
        path = write_xlsx(tmp_path / "p.xlsx", rows)
    else:
        path = write_csv(tmp_path / "p.csv", ROWS, delimiter=";" if fmt == "csv;" else ",")
    s = register_apply.apply(path, actor_id=None)
    db.session.commit()
    assert s["new"] == 3 and s["errors"] == 0
    budi = db.session.scalar(select(Resident).where(Resident.nik == "3576031705900012"))
    assert budi.full_name == "BUDI SANTOSO"
    assert budi.birth_date == date(1990, 5, 17)
    assert (budi.rt, budi.rw, budi.gender, budi.citizenship) == ("001", "001", "L", "WNI")
    anak = db.session.scalar(select(Resident).where(Resident.nik == "3576030203150014"))
    assert anak.birth_date == date(2015, 3, 2) and anak.gender == "L"
    again = register_apply.apply(path, actor_id=None)
    db.session.commit()
    assert (again["new"], again["changed"], again["unchanged"]) == (0, 0, 3)
    assert count(Resident) == 3
    assert count(KKHistory) == 0


def test_changed_kk_number_is_kept_in_history(app, tmp_path):
    register_apply.apply(write_csv(tmp_path / "a.csv", ROWS), actor_id=None)
    db.session.commit()
    moved = [list(r) for r in ROWS]
    moved[1][1] = "3576031203150002"  # Sri starts her own KK
    moved[0][10] = "Cerai Hidup"
    s = register_apply.apply(write_csv(tmp_path / "b.csv", moved), actor_id=None)
    db.session.commit()
    assert (s["changed"], s["kk_changes"], s["unchanged"]) == (2, 1, 1)
    sri = db.session.scalar(select(Resident).where(Resident.nik == "3576035708920013"))
    assert sri.kk_number == "3576031203150002"
    hist = db.session.scalars(select(KKHistory)).all()
    assert [(h.resident_id, h.old_kk_number, h.new_kk_number, h.source) for h in hist] == [
        (sri.id, "3576031203150001", "3576031203150002", "impor")]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.import")
                                .order_by(AuditEntry.id)).all()[-1]
    assert entry.details["kk_changes"] == 1


def test_wrong_rows_are_listed_with_the_reason_and_skipped(app, tmp_path):
    bad = [
        ["357603170590001", "3576031203150001", "Kurang Digit", "", "", "L", "", "1", "1", "", "", "", ""],
        ["3576031713900015", "3576031203150001", "Bulan Salah", "", "", "L", "", "1", "1", "", "", "", ""],
        ["3576031705900016", "3576031203150000", "KK Salah", "", "", "L", "", "1", "1", "", "", "", ""],
        ["3576031705900017", "3576031203150001", "", "", "", "L", "", "1", "1", "", "", "", ""],
        ["3576031705900018", "3576031203150001", "Tanggal Aneh", "", "31-31-1990", "X", "", "1a", "1", "", "", "",
         ""],
        ROWS[0],
        ROWS[0],
    ]
    s = register_apply.apply(write_csv(tmp_path / "bad.csv", bad), actor_id=None)
    db.session.commit()
    assert s["new"] == 1 and s["errors"] == 6
    by_line = {p["line"]: " ".join(p["messages"]) for p in s["error_rows"]}
    assert "16 digit" in by_line[2]
    assert "Bulan lahir" in by_line[3]
    assert "0000" in by_line[4]
    assert "Nama wajib" in by_line[5]
    assert "Tanggal lahir" in by_line[6] and "Jenis kelamin" in by_line[6] and "RT" in by_line[6]
    assert "sama dengan baris 7" in by_line[8]
    assert count(Resident) == 1


def test_nik_date_disagreeing_with_birth_date_is_a_warning(app, tmp_path):
    row = list(ROWS[0])
    row[4] = "18-05-1990"
    s = ri.analyse(write_csv(tmp_path / "w.csv", [row])).summary()
    assert s["new"] == 1 and s["warnings"] == 1
    assert "berbeda" in s["warning_rows"][0]["messages"][0]


def test_a_file_without_the_required_columns_is_refused(app, tmp_path):
    path = write_csv(tmp_path / "x.csv", [["a", "b"]], header=["Nama", "Alamat"])
    with pytest.raises(ri.ImportFileError) as err:
        ri.analyse(path)
    assert "nik" in str(err.value) and "kk_number" in str(err.value)
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ri.ImportFileError):
        ri.analyse(binary)
    with pytest.raises(ri.ImportFileError):
        ri.sniff_upload(b"\xff\xfe\x00\x81" * 10)
    empty = tmp_path / "e.csv"
    empty.write_text("\n\n")
    with pytest.raises(ri.ImportFileError):
        ri.analyse(empty)


def test_import_runs_as_jobs_in_the_worker_with_progress(app, tmp_path, factory):
    admin = factory.staff("admin")
    path = write_xlsx(tmp_path / "p.xlsx", ROWS)
    preview = jobs.enqueue("register_preview", {"path": str(path), "filename": "p.xlsx"}, created_by=admin)
    db.session.commit()
    assert jobs.run_pending() == 1
    db.session.refresh(preview)
    assert preview.status == JobStatus.DONE and preview.result["new"] == 3
    assert count(Resident) == 0
    apply_job = jobs.enqueue("register_apply", dict(preview.payload), created_by=admin)
    db.session.commit()
    jobs.run_pending()
    db.session.refresh(apply_job)
    assert apply_job.status == JobStatus.DONE and apply_job.percent == 100
    assert count(Resident) == 3
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.import")).one()
    assert entry.actor_id == admin.id


def test_a_failing_job_is_marked_failed_and_the_worker_goes_on(app, tmp_path):
    broken = jobs.enqueue("register_preview", {"path": str(tmp_path / "missing.csv")})
    unknown = jobs.enqueue("no_such_job", {})
    db.session.commit()
    assert jobs.run_pending() == 2
    assert db.session.get(Job, broken.id).status == JobStatus.FAILED
    assert "unknown job kind" in db.session.get(Job, unknown.id).error
    assert jobs.claim_next() is None


def test_apply_saves_a_given_analysis_without_reading_the_file_again(app, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "p.csv", ROWS)
    analysis = ri.analyse(path)
    reads = []
    original = ri.read_rows
    monkeypatch.setattr(ri, "read_rows", lambda p: reads.append(p) or original(p))
    s = register_apply.apply(path, actor_id=None, analysis=analysis)
    db.session.commit()
    assert reads == []
    assert (s["new"], s["changed"], s["unchanged"], s["errors"]) == (3, 0, 0, 0)
    assert count(Resident) == 3
    with pytest.raises(ValueError):
        register_apply.apply(path, actor_id=None, analysis=analysis)  # an analysis is saved once
    again = register_apply.apply(path, actor_id=None)  # without one, apply() analyses the file itself
    assert reads == [path] and (again["new"], again["unchanged"]) == (0, 3)


def _strptime_only(text: str) -> date:
    """The date parsing before the fast path, as the reference."""
    for fmt in ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


DATE_SHAPES = ["17-05-1990", "17/05/1990", "17.05.1990", "1990-05-17", "7-5-1990", "07/5/1990", "1990-5-7",
               " 17-05-1990 ", "29-02-2000", "29-02-1900", "31-04-1990", "00-05-1990", "17-00-1990",
               "17-13-1990", "17-05/1990", "1990/05/17", "17 05 1990", "17-05-90", "17-05-19900", "117-05-1990",
               "+1-05-1990", "1 -05-1990", "17-05-0000", "17-05-0099", "١٧-٠٥-١٩٩٠", "17.5.1990", "1990-05-17x",
               "", "-", "31-12-9999", "1990-13-01", "1990-02-30"]


@pytest.mark.parametrize("text", DATE_SHAPES)
def test_fast_date_parsing_agrees_with_strptime(text):
    try:
        expected = _strptime_only(text.strip())
    except ValueError:
        with pytest.raises(ValueError):
            ri._parse_date(text)
    else:
        assert ri._parse_date(text) == expected


def test_a_wrong_birth_date_is_named_in_the_error(app, tmp_path):
    row = list(ROWS[0])
    row[4] = "31-02-1990"
    s = ri.analyse(write_csv(tmp_path / "d.csv", [row])).summary()
    assert s["errors"] == 1
    assert s["error_rows"][0]["messages"] == ['Tanggal lahir "31-02-1990" tidak dikenali (pakai DD-MM-YYYY).']


PAPUA = ["9171011705900001", "9171011203150001", "Yohanes Wenda", "Jayapura", "17-05-1990", "L", "Jl. Pemuda 2",
         "2", "1", "Kristen", "Kawin", "Guru", "WNI"]


def test_xlsx_cells_are_read_as_typed(app, tmp_path):
    """Numbers, dates, empty cells and a table that does not start in A1 (calamine reads the XLSX)."""
    wb = Workbook()
    ws = wb.active
    ws["B3"] = HEADER[0]  # the table starts in B3: line numbers are still the sheet's
    for i, name in enumerate(HEADER[1:], start=3):
        ws.cell(row=3, column=i, value=name)
    budi = [None, 3576031705900012, 3576031203150001.0, "Budi  Santoso", "Mojokerto", datetime(1990, 5, 17),
            "L", "Jl. Pemuda 1", 1, 1, "Islam", "Kawin", "Wiraswasta", None]
    sri = [None, *ROWS[1][:4], date(1992, 8, 17), *ROWS[1][5:]]
    sri[-1] = ""
    ws.append(budi)
    ws.append([])  # an empty row in between is skipped
    ws.append(sri)
    ws.append([None, int(PAPUA[0]), *PAPUA[1:]])  # a Papua NIK in a number cell: past 2**53
    ws.append([None, PAPUA[0], int(PAPUA[1]), *PAPUA[2:]])  # the same person, KK in a number cell
    ws.append([None, *PAPUA])  # typed as text: fine
    ws.append([None, "3576031705900020", *ROWS[0][1:4], 19900517, *ROWS[0][5:]])  # a date typed as a number
    path = tmp_path / "table.xlsx"
    wb.save(path)
    s = register_apply.apply(path, actor_id=None)
    db.session.commit()
    assert (s["total"], s["new"], s["errors"]) == (6, 3, 3)
    errors = {p["line"]: (p["nik"], p["messages"]) for p in s["error_rows"]}
    assert errors[7] == ("", ["NIK tersimpan sebagai angka dan terlalu panjang untuk dibaca tepat: format kolom NIK "
                              "sebagai Teks di Excel, lalu isi ulang."])
    assert errors[8] == (PAPUA[0], ["Nomor KK tersimpan sebagai angka dan terlalu panjang untuk dibaca tepat: "
                                    "format kolom Nomor KK sebagai Teks di Excel, lalu isi ulang."])
    assert errors[10] == ("3576031705900020",
                          ['Tanggal lahir "19900517" tidak dikenali (pakai DD-MM-YYYY).'])
    # Budi's NIK and KK came from number cells: staff are told to check the last digit against the KK
    warned = {p["line"]: p["messages"] for p in s["warning_rows"]}
    assert any("NIK dibaca dari sel angka" in m for m in warned[4])
    assert any("Nomor KK dibaca dari sel angka" in m for m in warned[4])
    assert 6 not in warned  # Sri's were typed as text
    budi_db = db.session.scalar(select(Resident).where(Resident.nik == "3576031705900012"))
    assert (budi_db.kk_number, budi_db.full_name, budi_db.birth_date) == (
        "3576031203150001", "BUDI SANTOSO", date(1990, 5, 17))
    assert (budi_db.rt, budi_db.rw, budi_db.citizenship) == ("001", "001", None)
    sri_db = db.session.scalar(select(Resident).where(Resident.nik == ROWS[1][0]))
    assert sri_db.birth_date == date(1992, 8, 17) and sri_db.citizenship is None
    assert db.session.scalar(select(Resident.kk_number).where(Resident.nik == PAPUA[0])) == PAPUA[1]
    again = register_apply.apply(path, actor_id=None)
    assert (again["new"], again["changed"], again["unchanged"]) == (0, 0, 3)


def test_an_empty_or_broken_xlsx_is_refused_as_a_file(app, tmp_path):
    empty = tmp_path / "empty.xlsx"
    Workbook().save(empty)
    with pytest.raises(ri.ImportFileError, match="kosong"):
        ri.analyse(empty)
    good = write_xlsx(tmp_path / "good.xlsx", ROWS)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:400])
    with pytest.raises(ri.ImportFileError, match="CSV \\(UTF-8\\) atau XLSX"):
        ri.analyse(broken)


def test_an_xlsx_that_inflates_past_the_limit_is_refused_before_calamine_reads_it(app, tmp_path, monkeypatch):
    import python_calamine

    from tests.hostile_files import xlsx_bomb

    def refuse(*_a, **_k):
        raise AssertionError("calamine opened the file")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)
    bomb = tmp_path / "bom.xlsx"
    bomb.write_bytes(xlsx_bomb(600))
    with pytest.raises(ri.ImportFileError, match="terlalu besar setelah dibuka \\(lebih dari 128 MB\\)"):
        ri.analyse(bomb)
    with pytest.raises(ri.ImportFileError, match="terlalu besar setelah dibuka"):
        ri.sniff_upload(bomb.read_bytes())


def test_an_xlsx_lying_about_its_sizes_is_refused_as_broken(app, tmp_path):
    from tests.hostile_files import xlsx_lying_about_its_size

    with pytest.raises(ri.ImportFileError, match="CSV \\(UTF-8\\) atau XLSX"):
        ri.sniff_upload(xlsx_lying_about_its_size(64))


def test_a_genuine_xlsx_passes_the_archive_check(app, tmp_path):
    path = write_xlsx(tmp_path / "warga.xlsx", ROWS)
    assert ri.sniff_upload(path.read_bytes()) == ".xlsx"
    assert ri.analyse(path).total == 3


def test_a_file_with_more_rows_than_the_limit_is_refused_as_a_file(app, tmp_path):
    app.config["IMPORT_MAX_ROWS"] = 2
    with pytest.raises(ri.ImportFileError, match="lebih dari 2 baris data"):
        ri.analyse(write_csv(tmp_path / "warga.csv", ROWS))
    app.config["IMPORT_MAX_ROWS"] = 3
    assert ri.analyse(write_csv(tmp_path / "warga.csv", ROWS)).total == 3


def test_a_bad_byte_far_into_a_csv_is_a_row_error_that_names_its_line(app, tmp_path):
    path = csv_with_a_bad_byte(tmp_path / "warga.csv")
    analysis = ri.analyse(path)
    assert analysis.total == 15_009 and len(analysis.new) == 15_008
    (problem,) = analysis.errors
    assert problem.line == 15_001 and "simpan berkas sebagai \"CSV UTF-8\"" in problem.messages[0]
    assert problem.nik  # the row's NIK is still shown, to find it in the sheet


def test_text_longer_than_the_register_column_refuses_its_row_not_the_whole_import(app, tmp_path):
    # PostgreSQL would refuse the whole INSERT for one 121-letter name
    long_name = [ROWS[0][0], ROWS[0][1], "A" * 121, *ROWS[0][3:]]
    s = register_apply.apply(write_csv(tmp_path / "long.csv", [long_name, ROWS[1]]), actor_id=None)
    db.session.commit()
    assert (s["new"], s["errors"]) == (1, 1)
    assert s["error_rows"][0]["messages"] == ["Nama terlalu panjang: paling banyak 120 huruf."]
    assert s["error_rows"][0]["codes"] == ["full_name_too_long"]
