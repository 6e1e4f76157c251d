from datetime import date

import pytest

from sempelmas.domain import nik as nik_rules

TODAY = date(2026, 11, 27)


def test_valid_nik_of_a_woman_gives_birth_date_and_gender():
    info = nik_rules.parse("3576034101900001", today=TODAY)
    assert info.gender == "P"
    assert info.birth_date == date(1990, 1, 1)
    assert info.region_code == "357603"
    assert info.province_name == "Jawa Timur"
    assert info.warnings == []


def test_valid_nik_of_a_man_with_separators_is_cleaned():
    info = nik_rules.parse("3576.03 170590-0012", today=TODAY)
    assert info.nik == "3576031705900012"
    assert info.gender == "L"
    assert info.birth_date == date(1990, 5, 17)


@pytest.mark.parametrize(
    ("year2", "expected"),
    [("26", 2026), ("25", 2025), ("27", 1927), ("99", 1999), ("00", 2000)],
)
def test_two_digit_year_takes_the_century_giving_age_0_to_110(year2, expected):
    info = nik_rules.parse(f"3576030101{year2}0001", today=TODAY)
    assert info.birth_date.year == expected


@pytest.mark.parametrize(
    ("value", "part", "fragment"),
    [
        ("", "length", "wajib"),
        ("357603410190001", "length", "16 digit (yang diisi 15 digit)"),
        ("35760341019000012", "length", "17 digit"),
        ("35760341019000a1", "length", "hanya boleh berisi angka"),
        ("9976034101900001", "province", "Kode provinsi 99"),
        ("3576034113900001", "month", "Bulan lahir"),
        ("3576034100900001", "month", "bukan 00"),
        ("3576030001900001", "day", "bukan 00"),
        ("3576033201900001", "day", "bukan 32"),
        ("3576037201900001", "day", "bukan 72"),
        ("3576034101900000", "serial", "0000"),
    ],
)
def test_wrong_nik_says_which_part_is_wrong(value, part, fragment):
    with pytest.raises(nik_rules.NikError) as err:
        nik_rules.parse(value, today=TODAY)
    assert err.value.part == part
    assert fragment in err.value.message


def test_impossible_calendar_date_is_a_warning_not_an_error():
    info = nik_rules.parse("3576033102900001", today=TODAY)  # 31 February 1990
    assert info.birth_date is None
    assert any("tidak ada di kalender" in w for w in info.warnings)


def test_region_need_not_match_the_kelurahan():
    info = nik_rules.parse("3173011507850003", today=TODAY)  # issued in Jakarta
    assert info.province_code == "31"


def test_declared_birth_date_and_gender_mismatch_are_warnings():
    info = nik_rules.parse("3576034101900001", today=TODAY)
    warnings = nik_rules.compare_with_declared(info, "L", date(1990, 1, 2))
    assert len(warnings) == 2
    assert any("Jenis kelamin" in w for w in warnings)
    assert any("01-01-1990" in w and "02-01-1990" in w for w in warnings)
    assert nik_rules.compare_with_declared(info, "P", date(1990, 1, 1)) == []


@pytest.mark.parametrize(
    ("value", "part"),
    [("357603120315", "length"), ("3576031203150000", "serial"), ("0076031203150001", "province"),
     ("35760312031500x1", "length"), ("", "length")],
)
def test_wrong_kk_number_is_refused_with_the_part(value, part):
    with pytest.raises(nik_rules.NikError) as err:
        nik_rules.check_kk(value)
    assert err.value.part == part


def test_kk_number_is_cleaned():
    assert nik_rules.check_kk("3576 0312 0315 0001") == "3576031203150001"
