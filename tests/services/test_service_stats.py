"""The dashboard's numbers on known data: periods in the profile's time zone, percentiles, on-time shares."""

from datetime import UTC, date, datetime, timedelta

import flask_babel
import pytest
from werkzeug.datastructures import MultiDict

from sempelmas.extensions import db
from sempelmas.models.requests import RequestStatus
from sempelmas.services.accountability import service_stats
from sempelmas.services.accountability.periods import Period, parse_period
from sempelmas.services.accountability.service_stats import percentile, period_stats
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus
WIB = "Asia/Jakarta"


def utc(*args) -> datetime:
    return datetime(*args)  # naive UTC, as stored


def test_percentile_interpolates_between_ranks_like_excel():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)  # PERCENTILE.INC({1,2,3,4}; 0,9)
    assert percentile([5.0], 90) == 5.0
    assert percentile([], 50) is None
    assert percentile(list(map(float, range(1, 11))), 90) == pytest.approx(9.1)


def test_period_bounds_are_local_midnights_in_utc():
    march = Period(date(2026, 3, 1), date(2026, 3, 31), WIB)
    assert march.utc_start == utc(2026, 2, 28, 17, 0)  # 1 March 00:00 WIB
    assert march.utc_end == utc(2026, 3, 31, 17, 0)  # 1 April 00:00 WIB, exclusive
    assert march.label == "Maret 2026"
    wit = Period(date(2026, 3, 1), date(2026, 3, 1), "Asia/Jayapura")
    assert wit.utc_start == utc(2026, 2, 28, 15, 0)


def test_parse_period_presets_custom_and_errors():
    today = date(2026, 3, 17)
    p, err = parse_period(MultiDict(), today=today, tz=WIB)
    assert (p.start, p.end, p.preset, err) == (date(2026, 3, 1), date(2026, 3, 31), "bulan-ini", None)
    p, _ = parse_period(MultiDict({"periode": "bulan-lalu"}), today=today, tz=WIB)
    assert (p.start, p.end) == (date(2026, 2, 1), date(2026, 2, 28))
    p, _ = parse_period(MultiDict({"periode": "30-hari"}), today=today, tz=WIB)
    assert (p.start, p.end, p.days) == (date(2026, 2, 16), date(2026, 3, 17), 30)
    p, _ = parse_period(MultiDict({"periode": "tahun-ini"}), today=today, tz=WIB)
    assert (p.start, p.end, p.label) == (date(2026, 1, 1), date(2026, 12, 31), "Tahun 2026")
    p, err = parse_period(MultiDict({"periode": "kustom", "dari": "2026-01-05", "sampai": "2026-02-10"}),
                          today=today, tz=WIB)
    assert (p.start, p.end, err) == (date(2026, 1, 5), date(2026, 2, 10), None)
    assert [m.month for m in p.months()] == [1, 2]
    p, err = parse_period(MultiDict({"periode": "kustom", "dari": "2026-02-10", "sampai": "2026-01-05"}),
                          today=today, tz=WIB)
    assert p.preset == "bulan-ini" and "sebelum" in err
    p, err = parse_period(MultiDict({"periode": "kustom", "dari": "kemarin", "sampai": ""}), today=today, tz=WIB)
    assert p.preset == "bulan-ini" and "tanggal" in err
    p, err = parse_period(MultiDict({"bulan": "2025-12"}), today=today, tz=WIB)
    assert (p.start, p.end, err) == (date(2025, 12, 1), date(2025, 12, 31), None)


@pytest.fixture
def world(app, factory):
    make_profile()
    make_service("domisili", needs_rt=False)
    make_service("sktm", needs_rt=False, time_value=5)
    return {"siti": factory.warga(name="SITI", rt="001", rw="001"),
            "budi": factory.warga(name="BUDI", rt="003", rw="002")}


def put(person, service, submitted: datetime, status=S.SUBMITTED, hours: float | None = None,
        due_hours: float | None = 24):
    """A request submitted at ``submitted`` (naive UTC), closed ``hours`` later with ``status``."""
    r = submit(person, service=service, now=submitted.replace(tzinfo=UTC))
    r.submitted_at = submitted
    r.due_at = submitted + timedelta(hours=due_hours) if due_hours is not None else None
    r.status = status
    r.closed_at = submitted + timedelta(hours=hours) if hours is not None else None
    db.session.flush()
    return r


def test_period_stats_counts_percentiles_and_on_time_shares(world):
    siti, budi = world["siti"], world["budi"]
    day = utc(2026, 3, 10, 2, 0)  # 09:00 WIB
    # domisili, completed after 2, 4, 6, 30 hours with a 24-hour promise: three on time of four
    for h in (2, 4, 6, 30):
        put(siti, "domisili", day, S.DONE, hours=h)
    put(budi, "sktm", day, S.DONE, hours=10, due_hours=None)  # no due date: counted, not in the share
    put(budi, "sktm", day, S.REJECTED, hours=1)
    put(budi, "sktm", day)  # still open
    put(siti, "domisili", utc(2026, 2, 27, 2, 0), S.DONE, hours=48)  # submitted in Feb, completed in March
    db.session.commit()

    stats = period_stats(Period(date(2026, 3, 1), date(2026, 3, 31), WIB))
    assert stats.received == 7
    counts = {code: n for code, _label, n in stats.by_status}
    assert counts[S.DONE] == 5 and counts[S.REJECTED] == 1 and counts[S.SUBMITTED] == 1
    rows = {r.name: r for r in stats.services}
    dom = rows["Surat domisili"]
    assert (dom.received, dom.done.completed, dom.done.with_due, dom.done.on_time) == (4, 5, 5, 3)
    assert dom.done.on_time_share == pytest.approx(0.6)
    assert dom.done.median == pytest.approx(6 * 3600, rel=1e-4)  # 2, 4, 6, 30, 48 hours
    assert dom.done.p90 == pytest.approx((30 + 0.6 * 18) * 3600, rel=1e-4)
    sktm = rows["Surat sktm"]
    assert (sktm.received, sktm.done.completed, sktm.done.with_due, sktm.rejected) == (3, 1, 0, 1)
    assert sktm.done.on_time_share is None
    assert stats.total.completed == 6 and stats.total.on_time == 3 and stats.total.with_due == 5
    assert stats.total.median == pytest.approx(8 * 3600, rel=1e-4)  # 2, 4, 6, 10, 30, 48
    assert stats.rejected == 1
    assert dict(((rt, rw), n) for rt, rw, n in stats.areas) == {("001", "001"): 4, ("003", "002"): 3}


def test_a_request_counts_in_the_local_month_not_the_utc_one(world):
    # 31 March 18:00 UTC is 1 April 01:00 WIB: April's; 28 February 17:30 UTC is 1 March 00:30 WIB: March's
    put(world["siti"], "domisili", utc(2026, 3, 31, 18, 0))
    put(world["siti"], "domisili", utc(2026, 2, 28, 17, 30))
    put(world["siti"], "domisili", utc(2026, 2, 28, 16, 59))  # 23:59 WIB on 28 February
    db.session.commit()
    march = period_stats(Period(date(2026, 3, 1), date(2026, 3, 31), WIB))
    april = period_stats(Period(date(2026, 4, 1), date(2026, 4, 30), WIB))
    feb = period_stats(Period(date(2026, 2, 1), date(2026, 2, 28), WIB))
    assert (feb.received, march.received, april.received) == (1, 1, 1)
    spring = period_stats(Period(date(2026, 2, 1), date(2026, 4, 30), WIB))
    assert [(m.month.month, m.received) for m in spring.months] == [(2, 1), (3, 1), (4, 1)]


def test_monthly_on_time_share_per_month(world):
    siti = world["siti"]
    put(siti, "domisili", utc(2026, 1, 5, 2), S.DONE, hours=2)
    put(siti, "domisili", utc(2026, 1, 6, 2), S.DONE, hours=30)
    put(siti, "domisili", utc(2026, 2, 5, 2), S.DONE, hours=3)
    db.session.commit()
    stats = period_stats(Period(date(2026, 1, 1), date(2026, 3, 31), WIB))
    assert [(m.label, m.done.completed, m.done.on_time_share) for m in stats.months] == [
        ("Jan 2026", 2, 0.5), ("Feb 2026", 1, 1.0), ("Mar 2026", 0, None)]


def test_workload_and_overdue_list(world):
    now = utc(2026, 3, 10, 5, 0)  # Tuesday 12:00 WIB
    late = put(world["siti"], "domisili", utc(2026, 3, 6, 2), due_hours=24)  # due on the 7th: overdue
    put(world["siti"], "domisili", utc(2026, 3, 10, 1), due_hours=6)  # due 14:00 WIB today
    put(world["budi"], "sktm", utc(2026, 3, 10, 2), S.DONE, hours=1)  # closed today
    put(world["budi"], "sktm", utc(2026, 3, 1, 2), S.REJECTED, hours=1, due_hours=1)  # final: never overdue
    db.session.commit()
    w = service_stats.workload(now=now, tz=WIB)
    assert (w.submitted_today, w.closed_today, w.due_today, w.overdue, w.open_total) == (2, 1, 1, 1, 2)
    rows = service_stats.overdue_list(now=now)
    assert [r.tracking_number for r in rows] == [late.tracking_number]
    assert rows[0].subject == "SITI" and rows[0].service == "Surat domisili"


def test_recap_lists_every_enabled_service_even_without_requests(world):
    put(world["siti"], "domisili", utc(2026, 3, 10, 2), S.DONE, hours=2)
    db.session.commit()
    rows = service_stats.recap_rows(Period(date(2026, 3, 1), date(2026, 3, 31), WIB))
    assert [(r.name, r.received, r.done.completed) for r in rows] == [("Surat domisili", 1, 1), ("Surat sktm", 0, 0)]


def test_duration_and_percent_texts(app):
    with app.test_request_context("/"):
        assert service_stats.duration_text(None) == "–"
        assert service_stats.duration_text(45 * 60) == "45 menit"
        assert service_stats.duration_text(5.25 * 3600) == "5,2 jam"
        assert service_stats.duration_text(3 * 86400) == "3,0 hari"
        assert service_stats.percent_text(0.75) == "75,0 %"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):  # the English reader's decimal point
        flask_babel.refresh()  # the fixture's app context (and its cached locale) is shared
        assert service_stats.duration_text(5.25 * 3600) == "5.2 hr"
        assert service_stats.percent_text(0.75) == "75.0 %"
