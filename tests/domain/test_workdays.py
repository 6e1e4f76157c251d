"""Service-time due dates. Calendar used: 2026-11-23 is a Monday, 2026-11-27 a Friday,
2026-12-25 (Christmas) a Friday, 2026-08-17 (Independence Day) a Monday."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sempelmas.domain import workdays as wd

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")

HOLIDAYS = {date(2026, 8, 17), date(2026, 12, 25)}


def wib(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def due(start, value, unit, holidays=frozenset(), tz=WIB, office_hours=wd.DEFAULT_OFFICE_HOURS):
    return wd.due_at(start, value, unit, tz, office_hours, holidays)


# --- minutes and hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "value", "unit", "expected"),
    [
        # inside office hours
        (wib(2026, 11, 25, 9), 10, "menit", wib(2026, 11, 25, 9, 10)),
        (wib(2026, 11, 25, 9), 2, "jam", wib(2026, 11, 25, 11)),
        (wib(2026, 11, 25, 7, 30), 8, "jam", wib(2026, 11, 25, 15, 30)),  # the whole day, due at closing
        # near closing: the rest spills into the next day's opening
        (wib(2026, 11, 25, 15), 2, "jam", wib(2026, 11, 26, 9)),
        (wib(2026, 11, 25, 15, 25), 10, "menit", wib(2026, 11, 26, 7, 35)),
        (wib(2026, 11, 25, 15, 20), 10, "menit", wib(2026, 11, 25, 15, 30)),  # exactly at closing
        # before opening and after closing
        (wib(2026, 11, 25, 6), 10, "menit", wib(2026, 11, 25, 7, 40)),
        (wib(2026, 11, 25, 18), 10, "menit", wib(2026, 11, 26, 7, 40)),
        # Friday closes at 14:00; Friday afternoon runs into Monday
        (wib(2026, 11, 27, 13, 30), 2, "jam", wib(2026, 11, 30, 9)),
        (wib(2026, 11, 27, 13, 50), 10, "menit", wib(2026, 11, 27, 14)),
        (wib(2026, 11, 27, 15), 10, "menit", wib(2026, 11, 30, 7, 40)),
        # weekend submissions start at Monday's opening
        (wib(2026, 11, 28, 10), 10, "menit", wib(2026, 11, 30, 7, 40)),
        (wib(2026, 11, 29, 23, 59), 1, "jam", wib(2026, 11, 30, 8, 30)),
        # longer than a day: 20 office hours from Wednesday 09:00 = 6.5 + 8 (Thu) + 5.5 (Fri, 6.5 available)
        (wib(2026, 11, 25, 9), 20, "jam", wib(2026, 11, 27, 13)),
        # zero is "at once", or the next opening outside office hours
        (wib(2026, 11, 25, 9), 0, "menit", wib(2026, 11, 25, 9)),
        (wib(2026, 11, 28, 9), 0, "jam", wib(2026, 11, 30, 7, 30)),
    ],
)
def test_minutes_and_hours_count_only_office_time(start, value, unit, expected):
    assert due(start, value, unit) == expected


@pytest.mark.parametrize(
    ("start", "value", "unit", "holidays", "expected"),
    [
        # Christmas (Friday 2026-12-25) sits between Thursday afternoon and Monday
        (wib(2026, 12, 24, 15), 2, "jam", HOLIDAYS, wib(2026, 12, 28, 9)),
        (wib(2026, 12, 24, 15), 2, "jam", set(), wib(2026, 12, 25, 9)),
        # submitted on a holiday: counting starts on the next working day
        (wib(2026, 8, 17, 10), 10, "menit", HOLIDAYS, wib(2026, 8, 18, 7, 40)),
        (wib(2026, 8, 14, 13, 30), 1, "jam", HOLIDAYS, wib(2026, 8, 18, 8)),
        (wib(2026, 8, 14, 13, 30), 1, "jam", set(), wib(2026, 8, 17, 8)),
    ],
)
def test_holidays_are_skipped_for_minutes_and_hours(start, value, unit, holidays, expected):
    assert due(start, value, unit, holidays) == expected


# --- working days -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "value", "expected"),
    [
        # on a working day before closing, that day is day 0; due at the close of the Nth next one
        (wib(2026, 11, 25, 10), 1, wib(2026, 11, 26, 15, 30)),
        (wib(2026, 11, 26, 10), 1, wib(2026, 11, 27, 14)),  # Friday closes at 14:00
        (wib(2026, 11, 26, 15, 29), 1, wib(2026, 11, 27, 14)),
        (wib(2026, 11, 25, 6), 1, wib(2026, 11, 26, 15, 30)),  # before opening still counts that day
        (wib(2026, 11, 25, 10), 3, wib(2026, 11, 30, 15, 30)),
        # after closing: the next working day is day 0
        (wib(2026, 11, 26, 15, 30), 1, wib(2026, 11, 30, 15, 30)),
        (wib(2026, 11, 26, 16), 1, wib(2026, 11, 30, 15, 30)),
        (wib(2026, 11, 27, 14, 30), 1, wib(2026, 12, 1, 15, 30)),
        # from a Saturday or Sunday: Monday is day 0, due Tuesday at closing
        (wib(2026, 11, 28, 10), 1, wib(2026, 12, 1, 15, 30)),
        (wib(2026, 11, 29, 10), 1, wib(2026, 12, 1, 15, 30)),
        # zero working days: by closing on the day of receipt
        (wib(2026, 11, 25, 10), 0, wib(2026, 11, 25, 15, 30)),
        (wib(2026, 11, 28, 10), 0, wib(2026, 11, 30, 15, 30)),
    ],
)
def test_working_days_are_due_at_closing_of_the_nth_working_day(start, value, expected):
    assert due(start, value, "hari_kerja") == expected


@pytest.mark.parametrize(
    ("start", "value", "holidays", "expected"),
    [
        (wib(2026, 12, 24, 10), 1, HOLIDAYS, wib(2026, 12, 28, 15, 30)),
        (wib(2026, 12, 24, 10), 1, set(), wib(2026, 12, 25, 14)),
        (wib(2026, 8, 14, 10), 1, HOLIDAYS, wib(2026, 8, 18, 15, 30)),
        (wib(2026, 8, 17, 10), 1, HOLIDAYS, wib(2026, 8, 19, 15, 30)),  # submitted on the holiday
        (wib(2026, 8, 15, 10), 1, HOLIDAYS, wib(2026, 8, 19, 15, 30)),  # Saturday before it
    ],
)
def test_holidays_are_not_working_days(start, value, holidays, expected):
    assert due(start, value, "hari_kerja", holidays) == expected


def test_saturday_counts_when_the_office_opens_on_saturday():
    hours = wd.parse_office_hours("Senin-Sabtu 08:00-12:00")
    assert due(wib(2026, 11, 28, 11, 30), 1, "jam", office_hours=hours) == wib(2026, 11, 30, 8, 30)
    assert due(wib(2026, 11, 27, 10), 1, "hari_kerja", office_hours=hours) == wib(2026, 11, 28, 12)


# --- time zones -------------------------------------------------------------------------------


def test_a_utc_input_gives_the_local_expectation():
    start = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)  # Friday 13:30 WIB
    result = due(start, 2, "jam")
    assert result == wib(2026, 11, 30, 9)
    assert result.tzinfo is WIB
    assert (result.hour, result.minute) == (9, 0)
    assert result.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("tz", "expected_local"),
    [
        # 2026-11-25 07:00 UTC is 14:00 WIB, 15:00 WITA, 16:00 WIT
        (WIB, datetime(2026, 11, 25, 15)),
        (WITA, datetime(2026, 11, 26, 8)),  # 30 minutes on Wednesday, 30 on Thursday
        (WIT, datetime(2026, 11, 26, 8, 30)),  # already closed: starts Thursday 07:30
    ],
)
def test_the_same_instant_is_judged_in_the_office_time_zone(tz, expected_local):
    result = wd.due_at(datetime(2026, 11, 25, 7, tzinfo=UTC), 1, "jam", tz, wd.DEFAULT_OFFICE_HOURS, set())
    assert result.tzinfo is tz
    assert result.replace(tzinfo=None) == expected_local


def test_working_days_in_wita_from_a_utc_friday_evening():
    # Friday 2026-11-27 06:30 UTC is 14:30 WITA, after Friday's closing: Monday is day 0.
    result = wd.due_at(datetime(2026, 11, 27, 6, 30, tzinfo=UTC), 1, "hari_kerja", WITA)
    assert result == datetime(2026, 12, 1, 15, 30, tzinfo=WITA)
    # The same instant is 13:30 WIB, before closing: Friday is day 0.
    assert wd.due_at(datetime(2026, 11, 27, 6, 30, tzinfo=UTC), 1, "hari_kerja", WIB) == wib(2026, 11, 30, 15, 30)


def test_time_zone_may_be_given_by_name():
    assert wd.due_at(wib(2026, 11, 25, 9), 10, "menit", "Asia/Makassar") == datetime(
        2026, 11, 25, 10, 10, tzinfo=WITA
    )


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        wd.due_at(datetime(2026, 11, 25, 9), 10, "menit", WIB)


@pytest.mark.parametrize(("value", "unit"), [(10, "detik"), (-1, "menit"), (1.5, "jam"), (True, "jam")])
def test_bad_service_times_are_refused(value, unit):
    with pytest.raises(ValueError):
        wd.due_at(wib(2026, 11, 25, 9), value, unit, WIB)


# --- time left and overdue --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due_moment", "holidays", "expected"),
    [
        (wib(2026, 11, 27, 13), wib(2026, 11, 30, 9), set(), timedelta(hours=2, minutes=30)),
        (wib(2026, 11, 28, 10), wib(2026, 11, 30, 9), set(), timedelta(hours=1, minutes=30)),
        (wib(2026, 12, 24, 15), wib(2026, 12, 28, 9), HOLIDAYS, timedelta(hours=2)),
        (wib(2026, 11, 30, 9), wib(2026, 11, 30, 9), set(), timedelta(0)),
        # overdue: office time since the due moment, negative
        (wib(2026, 11, 30, 8), wib(2026, 11, 27, 14), set(), -timedelta(minutes=30)),
        (wib(2026, 11, 25, 12), wib(2026, 11, 25, 10), set(), -timedelta(hours=2)),
        # overdue but the office is closed since: zero
        (wib(2026, 11, 27, 16), wib(2026, 11, 27, 14), set(), timedelta(0)),
    ],
)
def test_working_time_left(now, due_moment, holidays, expected):
    assert wd.working_time_left(now, due_moment, WIB, wd.DEFAULT_OFFICE_HOURS, holidays) == expected


def test_working_time_left_across_zones():
    now = datetime(2026, 11, 27, 6, tzinfo=UTC)  # Friday 13:00 WIB
    assert wd.working_time_left(now, wib(2026, 11, 30, 9), WIB) == timedelta(hours=2, minutes=30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (wib(2026, 11, 27, 13, 59), False),
        (wib(2026, 11, 27, 14), False),  # finished exactly on time
        (wib(2026, 11, 27, 14, 1), True),
        (datetime(2026, 11, 27, 7, 1, tzinfo=UTC), True),  # 14:01 WIB
        (datetime(2026, 11, 27, 15, 0, tzinfo=WITA), False),  # 14:00 WIB
    ],
)
def test_is_overdue(now, expected):
    assert wd.is_overdue(now, wib(2026, 11, 27, 14)) is expected


@pytest.mark.parametrize(
    "start",
    [wib(2026, 11, 23, h, m) for h in (0, 7, 9, 15, 20) for m in (0, 29, 45)]
    + [wib(2026, 11, 27, 13, 45), wib(2026, 11, 28, 12), wib(2026, 12, 24, 15, 10)],
)
@pytest.mark.parametrize(("value", "unit"), [(10, "menit"), (45, "menit"), (2, "jam"), (8, "jam"), (30, "jam")])
def test_due_at_and_working_time_agree(start, value, unit):
    """From the moment of receipt to the due moment lies exactly the service time in office time."""
    result = due(start, value, unit, HOLIDAYS)
    received = wd.received_at(start, WIB, wd.DEFAULT_OFFICE_HOURS, HOLIDAYS)
    minutes = value * (60 if unit == "jam" else 1)
    assert wd.working_time_between(received, result, WIB, wd.DEFAULT_OFFICE_HOURS, HOLIDAYS) == timedelta(
        minutes=minutes
    )
    assert wd.working_time_left(received, result, WIB, wd.DEFAULT_OFFICE_HOURS, HOLIDAYS) == timedelta(
        minutes=minutes
    )


# --- office hours text ------------------------------------------------------------------------


def test_default_office_hours():
    hours = wd.DEFAULT_OFFICE_HOURS
    assert hours.window(0) == (time(7, 30), time(15, 30))
    assert hours.window(3) == (time(7, 30), time(15, 30))
    assert hours.window(4) == (time(7, 30), time(14, 0))
    assert hours.window(5) is None and hours.window(6) is None
    assert str(hours) == "Senin-Kamis 07:30-15:30; Jumat 07:30-14:00"


@pytest.mark.parametrize(
    "text",
    [
        "Senin-Kamis 07:30-15:30; Jumat 07:30-14:00",
        "senin – kamis 07.30 – 15.30; JUMAT 7:30-14:00",
        "Senin s.d. Kamis 07:30-15:30\nJum'at 07:30-14:00",
        "Senin sampai Kamis 07:30-15:30, Jumat 07:30-14:00",
        "Senin, Selasa, Rabu-Kamis 07:30-15:30; Jumat 07:30-14:00; Sabtu-Minggu tutup;",
    ],
)
def test_parse_office_hours_accepts_common_spellings(text):
    assert wd.parse_office_hours(text) == wd.DEFAULT_OFFICE_HOURS


def test_parse_and_format_round_trip_with_gaps():
    hours = wd.parse_office_hours("Rabu 08:00-12:00; Senin 08:00-12:00; Sabtu 08:00-11:00; Ahad 09:00-10:00")
    assert hours.window(1) is None
    assert hours.window(6) == (time(9), time(10))
    text = wd.format_office_hours(hours)
    assert text == "Senin 08:00-12:00; Rabu 08:00-12:00; Sabtu 08:00-11:00; Minggu 09:00-10:00"
    assert wd.parse_office_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "part", "fragment"),
    [
        ("Senen 07:30-15:30", "Senen", "hari 'senen' tidak dikenal"),
        ("Senin-Kamis 07:30-15:30; Jumaat 07:30-14:00", "Jumaat", "hari 'jumaat' tidak dikenal"),
        ("Senin 07:30-25:00", "25:00", "jam '25:00' tidak valid"),
        ("Senin 7:3-15:00", "7:3", "jam '7:3' tidak valid"),
        ("Senin 07:60-15:00", "07:60", "jam '07:60' tidak valid"),
        ("Senin 15:30-07:30", "Senin 15:30-07:30", "jam buka harus sebelum jam tutup"),
        ("Senin 07:30-07:30", "Senin 07:30-07:30", "jam buka harus sebelum jam tutup"),
        ("Jumat-Senin 07:30-15:30", "Jumat-Senin", "rentang hari 'jumat-senin' tidak valid"),
        ("Senin-Rabu-Kamis 07:30-15:30", "Senin-Rabu-Kamis", "rentang hari"),
        ("Senin 07:30-12:00-13:00", "07:30-12:00-13:00", "rentang jam '07:30-12:00-13:00' tidak valid"),
        ("Senin-Kamis", "Senin-Kamis", "tidak berisi jam buka-tutup"),
        ("07:30-15:30", "07:30-15:30", "nama hari tidak ada"),
        ("Senin-Kamis 07:30-15:30; Senin 08:00-12:00", "Senin 08:00-12:00", "hari senin disebut lebih dari sekali"),
        ("Sabtu-Minggu tutup", "", "paling sedikit satu hari buka"),
        ("", "", "wajib diisi"),
        ("  ;  ", "", "paling sedikit satu hari buka"),
    ],
)
def test_parse_office_hours_errors_name_the_bad_part(text, part, fragment):
    with pytest.raises(wd.OfficeHoursError) as excinfo:
        wd.parse_office_hours(text)
    assert excinfo.value.part == part
    assert fragment in str(excinfo.value).lower()
    assert isinstance(excinfo.value, ValueError)


def test_office_hours_constructor_checks_its_windows():
    with pytest.raises(ValueError):
        wd.OfficeHours(((time(8), time(12)),) * 6)
    with pytest.raises(wd.OfficeHoursError, match="Selasa"):
        wd.OfficeHours.from_mapping({1: (time(12), time(8))})


# --- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (10, "menit", "10 menit"),
        (2, "jam", "2 jam"),
        (1, "hari_kerja", "1 hari kerja"),
        (3, "hari_kerja", "3 hari kerja"),
    ],
)
def test_human_duration(value, unit, expected):
    assert wd.human_duration(value, unit) == expected


def test_human_duration_refuses_unknown_units():
    with pytest.raises(ValueError):
        wd.human_duration(1, "minggu")


def test_messages_go_through_babel_inside_the_app(app):
    assert wd.human_duration(2, "jam") == "2 jam"
    with pytest.raises(wd.OfficeHoursError, match="Senen"):
        wd.parse_office_hours("Senen 07:30-15:30")
