import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import Service, ServiceVersion
from sempelmas.services.requests import catalogue
from sempelmas.services.requests.catalogue_standard import STANDARD, seed_standard

SEVEN_JAGALAN = {"keterangan", "pengantar_skck", "kelahiran", "usaha", "kematian", "pengantar_akta_kelahiran",
                 "pindah_keluar"}


def _seeded():
    assert seed_standard() == 10
    db.session.commit()


def _definition(**overrides):
    data = {"code": "ahli_waris", "name": "Surat Keterangan Ahli Waris", "description": "Untuk waris.",
            "who_may_request": "warga", "needs_rt_endorsement": True, "paper_pengantar_when_no_rt_account": True,
            "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "470",
            "letter_template": "ahli_waris", "validity_days": None, "enabled": True, "sort_order": 20}
    data.update(overrides)
    return data


def test_seed_gives_ten_services_with_requirements_fields_and_a_first_version(app):
    _seeded()
    services = {s.code: s for s in catalogue.enabled_services()}
    assert len(services) == 10
    assert SEVEN_JAGALAN | {"domisili", "belum_menikah", "pengantar_nikah"} == set(services)
    for s in services.values():
        codes = [r.code for r in s.requirements]
        assert codes[:2] == ["kk", "ktp"], s.code
        assert s.needs_rt_endorsement and s.version == 1
        assert s.fields, s.code
        v = catalogue.current_version(s)
        assert v.snapshot["code"] == s.code and v.snapshot["fields"][0]["name"] == s.fields[0].name
        assert s.service_time_unit in ("menit", "jam", "hari_kerja")
    assert services["domisili"].service_time_text == "10 menit"
    assert services["kematian"].classification_code == "474.3"
    assert services["pindah_keluar"].classification_code == "475"
    assert services["kelahiran"].classification_code == "474.1"
    assert services["pengantar_nikah"].classification_code == "474.2"
    assert {r.code for r in services["kematian"].requirements} >= {"ktp_pelapor", "surat_kematian"}
    assert {f.kind for f in services["kematian"].fields} >= {"date", "time", "nik"}
    assert "pas_foto_4x6" in {r.code for r in services["pengantar_skck"].requirements}
    assert seed_standard() == 0  # only into an empty catalogue
    assert db.session.scalar(select(func.count()).select_from(Service)) == len(STANDARD)


def test_an_update_bumps_the_version_and_leaves_the_old_snapshot_as_it_was(app):
    _seeded()
    svc = catalogue.get_service("domisili")
    old = catalogue.current_version(svc)
    old_snapshot = dict(old.snapshot)
    reqs, _e = catalogue.parse_requirement_lines("kk | Fotokopi KK | ya | tidak")
    fields, _e = catalogue.parse_field_lines(
        "keperluan | Keperluan | text | ya\nalamat_lama | Alamat lama | text | tidak")
    catalogue.save_service(svc, _definition(code="domisili", name="Keterangan Domisili", service_time_value=15,
                                            service_time_unit="menit"), reqs, fields)
    db.session.commit()
    db.session.expire_all()
    svc = catalogue.get_service("domisili")
    assert svc.version == 2 and svc.name == "Keterangan Domisili" and [r.code for r in svc.requirements] == ["kk"]
    new = catalogue.current_version(svc)
    assert new.id != old.id and [f["name"] for f in new.snapshot["fields"]] == ["keperluan", "alamat_lama"]
    first = db.session.scalar(select(ServiceVersion).where(ServiceVersion.service_id == svc.id,
                                                           ServiceVersion.version == 1))
    assert first.snapshot == old_snapshot
    assert first.snapshot["name"] == "Surat Keterangan Domisili" and len(first.snapshot["requirements"]) == 2
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.update")).one()
    assert entry.details["version"] == 2 and entry.details["changes"]["name"][1] == "Keterangan Domisili"
    assert entry.details["changes"]["requirements"] == "diubah"


def test_the_code_cannot_change_once_created(app):
    _seeded()
    svc = catalogue.get_service("domisili")
    catalogue.save_service(svc, _definition(code="lain"), [], [])
    assert svc.code == "domisili"


@pytest.mark.parametrize(("overrides", "reqs", "fields", "field", "message"), [
    ({"code": "domisili"}, [], [], "code", "sudah dipakai"),
    ({"code": "Bad Code"}, [], [], "code", "huruf kecil"),
    ({"service_time_unit": "minggu"}, [], [], "service_time_unit", "Pilihan tidak valid"),
    ({"classification_code": "abc"}, [], [], "classification_code", "474.1"),
    ({}, [{"code": "kk", "label": "KK"}, {"code": "kk", "label": "KK lagi"}], [], "requirements", "dua kali"),
    ({}, [], [{"name": "a1", "label": "A", "kind": "text"}, {"name": "a1", "label": "B", "kind": "text"}],
     "fields", "dua kali"),
    ({}, [], [{"name": "Nama Anak", "label": "A", "kind": "text"}], "fields", "huruf kecil"),
    ({}, [], [{"name": "jenis", "label": "Jenis", "kind": "choice", "choices": []}], "fields", "daftar pilihan"),
    ({}, [], [{"name": "x", "label": "X", "kind": "warna"}], "fields", "jenis harus"),
])
def test_bad_definitions_are_refused_and_nothing_is_saved(app, overrides, reqs, fields, field, message):
    _seeded()
    with pytest.raises(catalogue.CatalogueError) as exc:
        catalogue.save_service(None, _definition(**overrides), reqs, fields)
    assert message in " ".join(exc.value.errors[field])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Service)) == 10


def test_requirement_lines_give_per_line_errors():
    items, errors = catalogue.parse_requirement_lines(
        "kk | Fotokopi KK | ya | ya\n# komentar\n\nKTP | Fotokopi KTP\nfoto | Pas foto | mungkin\nkk | lagi\nsatu")
    assert items == [{"code": "kk", "label": "Fotokopi KK", "required": True, "paper_original_allowed": True}]
    assert errors == [
        'Baris 4: kode "KTP" harus huruf kecil, angka atau garis bawah.',
        'Baris 5: kolom wajib harus "ya" atau "tidak".',
        "Baris 6: kode kk sudah dipakai di baris lain.",
        "Baris 7: tulis kode | nama dokumen | wajib | boleh asli.",
    ]


def test_field_lines_round_trip_and_give_per_line_errors(app):
    text = ("jenis | Jenis | choice | ya | A;B\n"
            "catatan | Catatan | long_text | tidak | | 500 | Tulis singkat")
    items, errors = catalogue.parse_field_lines(text)
    assert not errors
    assert items[0]["choices"] == ["A", "B"] and items[1]["max_length"] == 500 and items[1]["required"] is False
    svc = catalogue.save_service(None, _definition(), [], items)
    assert catalogue.parse_field_lines(catalogue.field_lines(svc.fields)) == (items, [])
    _items, errors = catalogue.parse_field_lines(
        "jenis | Jenis | choice | ya\numur | Umur | number | ya | 1;2\nwarna | X | warna\nyy | Y | text | ya | | nol")
    assert errors[0] == "Baris 1: jenis choice memerlukan pilihan, dipisah titik koma."
    assert errors[1] == "Baris 2: pilihan hanya untuk jenis choice."
    assert errors[2].startswith('Baris 3: jenis "warna" tidak dikenal')
    assert errors[3] == "Baris 4: panjang maks harus bilangan bulat positif."


SNAPSHOT = {"fields": [
    {"name": "keperluan", "label": "Keperluan", "kind": "text", "required": True, "max_length": 20},
    {"name": "cerita", "label": "Cerita", "kind": "long_text", "required": False},
    {"name": "tanggal", "label": "Tanggal", "kind": "date", "required": True},
    {"name": "jam", "label": "Jam", "kind": "time", "required": False},
    {"name": "anak_ke", "label": "Anak ke", "kind": "number", "required": False},
    {"name": "jenis", "label": "Jenis", "kind": "choice", "required": True, "choices": ["Laki-laki", "Perempuan"]},
    {"name": "nik_ibu", "label": "NIK ibu", "kind": "nik", "required": False},
]}
GOOD = {"keperluan": " Melamar kerja ", "tanggal": "17/08/2026", "jam": "7.05", "anak_ke": "2",
        "jenis": "Perempuan", "nik_ibu": "3576 0341 0190 0001", "lain": "diabaikan"}


def test_good_answers_are_cleaned():
    clean, errors = catalogue.validate_answers(SNAPSHOT, GOOD)
    assert errors == {}
    assert clean == {"keperluan": "Melamar kerja", "cerita": None, "tanggal": "2026-08-17", "jam": "07:05",
                     "anak_ke": 2, "jenis": "Perempuan", "nik_ibu": "3576034101900001"}
    assert catalogue.validate_answers(SNAPSHOT, {**GOOD, "tanggal": "2026-08-17"})[0]["tanggal"] == "2026-08-17"
    assert catalogue.validate_answers(SNAPSHOT, {**GOOD, "tanggal": "1-2-2026"})[0]["tanggal"] == "2026-02-01"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("keperluan", "", "Wajib diisi."),
    ("keperluan", "x" * 21, "Paling banyak 20 karakter (yang diisi 21)."),
    ("keperluan", "baris\nkedua", "Isian ini hanya satu baris."),
    ("cerita", "y" * 2001, "Paling banyak 2000 karakter (yang diisi 2001)."),
    ("tanggal", "31/02/2026", "Tanggal tidak valid; tulis HH/BB/TTTT, contoh 17/08/2026."),
    ("tanggal", "besok", "Tanggal tidak valid; tulis HH/BB/TTTT, contoh 17/08/2026."),
    ("jam", "24:00", "Jam tidak valid; tulis JJ:MM, contoh 08:30."),
    ("jam", "8", "Jam tidak valid; tulis JJ:MM, contoh 08:30."),
    ("anak_ke", "dua", "Harus berupa bilangan bulat."),
    ("anak_ke", "-1", "Harus berupa bilangan bulat."),
    ("jenis", "laki", "Pilih salah satu: Laki-laki, Perempuan."),
    ("nik_ibu", "12345", "NIK harus 16 digit (yang diisi 5 digit)."),
    ("nik_ibu", "357603410190000A", "NIK hanya boleh berisi angka 0–9."),
])
def test_wrong_answers_get_an_indonesian_message_on_their_field(name, value, message):
    clean, errors = catalogue.validate_answers(SNAPSHOT, {**GOOD, name: value})
    assert errors == {name: message}
    assert name not in clean


def test_nik_answers_name_the_wrong_part():
    from sempelmas.domain import nik

    _clean, errors = catalogue.validate_answers(SNAPSHOT, {**GOOD, "nik_ibu": "9976034101900001"})
    with pytest.raises(nik.NikError) as exc:
        nik.check_format("9976034101900001")
    assert errors["nik_ibu"] == exc.value.message and "provinsi" in errors["nik_ibu"].lower()


def test_answers_are_checked_against_a_snapshot_from_the_database(app):
    _seeded()
    snap = catalogue.current_version(catalogue.get_service("kematian")).snapshot
    _clean, errors = catalogue.validate_answers(snap, {})
    assert errors["nama_almarhum"] == "Wajib diisi." and "jam_meninggal" not in errors
