"""The staff queue query: filters, search, ordering, paging, counts, and the review service."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.requests import RequestStatus
from sempelmas.services.requests import lifecycle, queue, review, submission
from sempelmas.services.requests.queue import Clock, QueueFilters
from tests.query_counter import count_queries
from tests.request_factory import TUESDAY_9_WIB, make_profile, make_service, submit

S = RequestStatus
#: Thursday 2026-03-05 10:00 WIB: requests submitted on Tuesday with a 1-working-day time are late
THURSDAY_10_WIB = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(app, factory):
    make_profile()
    make_service("domisili", needs_rt=False)
    make_service("sktm", needs_rt=False, time_value=5)
    staff = factory.staff(Role.STAFF, "loket1")
    siti = factory.warga(name="SITI AMINAH", female=True, rt="001", rw="001")
    budi = factory.warga(name="BUDI SANTOSO", rt="003", rw="002")
    anak = factory.resident(name="ANAK BUDI", kk=budi.resident.kk_number, rt="003", rw="002",
                            birth=date(2012, 1, 2))
    db.session.commit()
    return {"staff": staff, "siti": siti, "budi": budi, "anak": anak}


def page(now=THURSDAY_10_WIB, **args):
    filters = QueueFilters.from_args(MultiDict({k: str(v) for k, v in args.items()}))
    return queue.queue_page(filters, clock=Clock.load(now=now))


def numbers(p):
    return [row.tracking_number for row in p.rows]


def test_default_queue_shows_open_requests_most_urgent_first(world):
    a = submit(world["siti"], service="sktm", now=TUESDAY_9_WIB)  # due in 5 working days
    b = submit(world["budi"], now=TUESDAY_9_WIB + timedelta(hours=1))  # due Wednesday: late on Thursday
    c = submit(world["siti"], now=TUESDAY_9_WIB + timedelta(hours=2))
    lifecycle.transition(c, "cancel", actor=world["siti"])
    db.session.commit()
    p = page()
    assert numbers(p) == [b.tracking_number, a.tracking_number]  # the cancelled one is not open
    late, on_time = p.rows
    assert late.overdue and late.time_left.startswith("Terlambat")
    assert not on_time.overdue and on_time.time_left.startswith("Sisa")
    assert late.subject_name == "BUDI SANTOSO" and late.service_name == "Surat domisili"
    assert (late.rt, late.rw) == ("003", "002")
    assert numbers(page(order="terbaru")) == [a.tracking_number, b.tracking_number][::-1]
    assert c.tracking_number in numbers(page(status="semua"))
    assert numbers(page(status="dibatalkan")) == [c.tracking_number]


def test_filters_by_service_rt_rw_date_and_overdue(world):
    a = submit(world["siti"], service="sktm", now=TUESDAY_9_WIB)
    b = submit(world["budi"], now=TUESDAY_9_WIB)
    c = submit(world["budi"], world["anak"], now=TUESDAY_9_WIB + timedelta(days=2))  # Thursday 09:00
    db.session.commit()
    assert numbers(page(service="sktm")) == [a.tracking_number]
    assert set(numbers(page(rw="2"))) == {b.tracking_number, c.tracking_number}
    assert set(numbers(page(rt="003", rw="002"))) == {b.tracking_number, c.tracking_number}
    assert numbers(page(rt="001")) == [a.tracking_number]
    # the date range is read in the profile's time zone: Tuesday 09:00 WIB is Tuesday, not Monday in UTC
    assert set(numbers(page(**{"from": "2026-03-03", "to": "2026-03-03"}))) == {a.tracking_number, b.tracking_number}
    assert numbers(page(**{"from": "2026-03-04"})) == [c.tracking_number]
    assert numbers(page(overdue="1")) == [b.tracking_number]
    assert numbers(page(overdue="1", rw="001")) == []
    assert numbers(page(status="diajukan", rw="002", overdue="1")) == [b.tracking_number]


def test_search_by_tracking_number_nik_and_name(world):
    a = submit(world["siti"])
    b = submit(world["budi"], world["anak"])  # applied by Budi, about his child
    lifecycle.transition(b, "claim", actor=world["staff"])
    lifecycle.transition(b, "reject", actor=world["staff"], note="Tidak memenuhi syarat")
    db.session.commit()
    assert numbers(page(q=a.tracking_number)) == [a.tracking_number]
    assert numbers(page(q=a.tracking_number.lower())) == [a.tracking_number]  # case-insensitive
    assert set(numbers(page(q=a.tracking_number[:9]))) == {a.tracking_number, b.tracking_number}  # "JGL-2026-"
    # a search looks at every status, the rejected one included
    assert numbers(page(q=world["anak"].nik)) == [b.tracking_number]  # the subject's NIK
    assert numbers(page(q=world["budi"].resident.nik)) == [b.tracking_number]  # the applicant's NIK
    assert numbers(page(q=world["siti"].resident.nik[:15])) == []  # 15 digits: not a NIK, no name either
    assert numbers(page(q="aminah")) == [a.tracking_number]
    assert numbers(page(q="ANAK bud")) == [b.tracking_number]
    assert numbers(page(q="santoso")) == []  # the name searched is the subject's
    assert page(q=world["anak"].nik).search_kind == "nik"
    assert numbers(page(q=world["anak"].nik, status="diajukan")) == []  # a chosen status still applies
    assert numbers(page(q="100%")) == []  # LIKE wildcards are taken literally


def test_pages_follow_each_other_without_gaps(world):
    made = [submit(world["siti"], now=TUESDAY_9_WIB + timedelta(minutes=i)) for i in range(12)]
    db.session.commit()
    first, second, third = page(per_page=10), page(per_page=10, page=2), page(per_page=10, page=3)
    assert len(first.rows) == 10 and first.has_next and not first.has_prev
    assert len(second.rows) == 2 and not second.has_next and second.has_prev
    assert third.rows == []
    assert numbers(first) + numbers(second) == [r.tracking_number for r in made]
    assert QueueFilters.from_args(MultiDict({"per_page": "7"})).per_page == queue.DEFAULT_PAGE_SIZE


def test_counts_per_status_and_overdue_in_one_query(world):
    a = submit(world["siti"])
    submit(world["budi"])
    c = submit(world["siti"], service="sktm")
    lifecycle.transition(a, "claim", actor=world["staff"])
    lifecycle.transition(c, "cancel", actor=world["siti"])
    db.session.commit()
    with count_queries() as statements:
        counts = queue.status_counts(now=THURSDAY_10_WIB)
    assert len(statements) == 1
    assert counts.by_status == {"diperiksa": 1, "diajukan": 1}  # open statuses only
    assert counts.open_total == 2 and counts.overdue == 2  # both domisili requests, not the cancelled one
    items = {code: n for code, _label, n in counts.items()}
    assert items == {"menunggu_pengantar": 0, "dikembalikan": 0, "diajukan": 1, "diperiksa": 1,
                     "perlu_perbaikan": 0, "menunggu_ttd": 0}


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(world):
    for i in range(30):
        req = submit(world["siti"] if i % 2 else world["budi"], now=TUESDAY_9_WIB + timedelta(minutes=i))
        if i % 3 == 0:
            lifecycle.transition(req, "claim", actor=world["staff"])
    db.session.commit()
    counts = {}
    clock = Clock.load(now=THURSDAY_10_WIB)  # the profile and the holidays: read once, before the rows
    for size in (10, 25):  # QueueFilters takes any size; the query string only PAGE_SIZES
        db.session.expire_all()
        with count_queries() as statements:
            p = queue.queue_page(QueueFilters(per_page=size), clock=clock)
        assert len(p.rows) == size
        assert any(row.claimer_name for row in p.rows)
        counts[size] = len(statements)
    assert counts[10] == counts[25] == 1  # subject, service name and claimer come with the rows


# ----------------------------------------------------------------------------- review service


def test_review_lists_answers_with_labels_and_requirements(world):
    req = submit(world["siti"], answers={"keperluan": "Melamar kerja", "tanggal": "2026-02-01"})
    db.session.commit()
    answers = review.answers(req)
    assert [(a.label, a.value) for a in answers] == [("Keperluan", "Melamar kerja"),
                                                    ("Tanggal kejadian", "2026-02-01")]
    reqs = review.requirements(req)
    assert [(r.code, r.label, r.paper_original_allowed, r.files) for r in reqs] == [
        ("kk", "Fotokopi KK", True, [])]


def test_ask_fix_needs_a_reason_and_at_least_one_field_or_file(world):
    req = submit(world["siti"])
    review.act(req, "claim", world["staff"], expected_version=req.version)
    with pytest.raises(review.ReviewError, match="minimal satu"):
        review.ask_fix(req, world["staff"], reason="Buram", fields=[], files=[], expected_version=req.version)
    with pytest.raises(review.ReviewError, match="tidak dikenal"):
        review.ask_fix(req, world["staff"], reason="Buram", fields=["x"], files=[], expected_version=req.version)
    with pytest.raises(lifecycle.TransitionError, match="Alasan wajib diisi"):
        review.ask_fix(req, world["staff"], reason=" ", fields=["keperluan"], files=[],
                       expected_version=req.version)
    review.ask_fix(req, world["staff"], reason="Foto KK buram", fields=[], files=["kk"], expected_version=req.version)
    assert req.status == S.NEEDS_FIX and req.fix_request["files"] == ["kk"]


def test_a_stale_version_is_refused(world):
    req = submit(world["siti"])
    db.session.commit()
    seen = req.version
    review.act(req, "claim", world["staff"], expected_version=seen)
    db.session.commit()
    with pytest.raises(lifecycle.ConcurrentUpdateError, match="baru saja diubah"):
        review.act(req, "reject", world["staff"], reason="x", expected_version=seen)


def test_an_internal_note_is_stored_and_audited_without_touching_the_version(world):
    req = submit(world["siti"])
    db.session.commit()
    version = req.version
    with pytest.raises(review.ReviewError):
        review.add_note(req, world["staff"], "  ")
    review.add_note(req, world["staff"], "Warga menelepon, KK asli dibawa besok")
    db.session.commit()
    db.session.refresh(req)
    assert [n.text for n in req.notes] == ["Warga menelepon, KK asli dibawa besok"] and req.version == version
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "request.note"))
    assert entry.object_id == str(req.id) and entry.actor_id == world["staff"].id
    assert submission.find_by_tracking_number(req.tracking_number.lower()) is req


@pytest.mark.parametrize("days", [0, 1, 2, 3, 9, 30, 61])
def test_the_clocks_day_memo_gives_what_workdays_gives(app, days):
    from sempelmas.domain import workdays

    make_profile()
    clock = Clock.load(now=THURSDAY_10_WIB)
    start = datetime(2026, 2, 27, 1, 17, tzinfo=UTC)  # a Friday morning
    end = start + timedelta(days=days, hours=5, minutes=3)
    expected = workdays.working_time_between(start, end, clock.tz, clock.office_hours, clock.holidays)
    assert clock.working_time(start, end) == expected
