from datetime import UTC, datetime
from types import SimpleNamespace

from sempelmas.domain import dates
from sempelmas.domain.letter_format import rt_rw_label


def test_the_kelurahans_zone_comes_from_the_profile_and_is_wib_without_one():
    assert dates.tz_name_of(None) == "Asia/Jakarta"
    assert dates.tz_name_of(SimpleNamespace(tz_name="Asia/Makassar")) == "Asia/Makassar"
    assert dates.tz_name_of(SimpleNamespace()) == "Asia/Jakarta"  # a demo profile without a zone


def test_a_stored_naive_time_is_utc_when_made_local():
    local = dates.to_local(datetime(2026, 12, 31, 18, 0), "Asia/Jakarta")
    assert (local.year, local.month, local.day, local.hour) == (2027, 1, 1, 1)
    aware = dates.to_local(datetime(2026, 12, 31, 18, 0, tzinfo=UTC), "Asia/Jayapura")
    assert (aware.day, aware.hour) == (1, 3)


def test_rt_rw_label():
    assert rt_rw_label("003", "002") == "RT 003 / RW 002"
    assert rt_rw_label(None, "") == "RT - / RW -"
