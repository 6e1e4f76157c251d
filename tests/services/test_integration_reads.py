"""The API's read services (services/integration): the letters register's keyset pages, the verification
facts, the dashboard's numbers, the IKM per period, complaints with and without personal data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from sempelmas import links
from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.services.accountability import service_stats
from sempelmas.services.accountability.periods import Period
from sempelmas.services.integration import catalogue, cursors, ikm
from sempelmas.services.integration import complaints as api_complaints
from sempelmas.services.integration import letters as api_letters
from sempelmas.services.integration import requests as api_requests
from tests.api_letters import START, add_complaints, add_letters, letter_world


@pytest.fixture
def world(app, factory):
    return letter_world(factory)


def walk(filters=api_letters.Filters(), limit=7, **kw):
    cursor, seen = None, []
    while True:
        page = api_letters.register_page(filters, cursor, limit, **kw)
        seen += page.items
        cursor = page.next_cursor
        if not page.has_more:
            return seen, cursor


def test_register_pages_cover_every_letter_once_in_signing_order(world):
    add_letters(world, 20)
    add_letters(world, 5, same_moment=True, start=START + timedelta(minutes=55))  # ties broken by id
    seen, _c = walk()
    ids = [item["id"] for item in seen]
    assert len(ids) == 25 == len(set(ids))
    keys = [(item["signed_at"], item["id"]) for item in seen]
    assert keys == sorted(keys)
    first = seen[0]
    assert first["verification"]["url"] == links.absolute_url(f"/v/{first['verification']['code']}")
    assert "subject_nik" not in first and first["date"] == "2026-03-02"


def test_rows_added_between_pages_are_neither_skipped_nor_repeated(world):
    add_letters(world, 10)
    page = api_letters.register_page(api_letters.Filters(), None, 4)
    seen = [i["id"] for i in page.items]
    add_letters(world, 6, start=datetime(2026, 4, 1, 2, 0))  # signed later: after every cursor handed out
    cursor = page.next_cursor
    while True:
        page = api_letters.register_page(api_letters.Filters(), cursor, 4)
        seen += [i["id"] for i in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert len(seen) == 16 == len(set(seen))
    # the last cursor still works later: only what came after it
    add_letters(world, 2, start=datetime(2026, 5, 1, 2, 0))
    later = api_letters.register_page(api_letters.Filters(), cursor, 4)
    assert len(later.items) == 2 and not later.has_more


def test_register_filters_by_local_dates_status_and_type(world):
    add_letters(world, 3, start=datetime(2026, 3, 1, 16, 59), step_minutes=1)  # 23:59, 00:00, 00:01 WIB
    add_letters(world, 2, status=LetterStatus.REVOKED, service="sktm", start=datetime(2026, 3, 5, 2, 0))
    on_second = api_letters.Filters(date_from=date(2026, 3, 2), date_to=date(2026, 3, 2))
    assert [i["date"] for i in walk(on_second)[0]] == ["2026-03-02", "2026-03-02"]
    revoked, _c = walk(api_letters.Filters(status="dicabut"))
    assert len(revoked) == 2 and all(i["status"] == "dicabut" and i["revoked_at"] for i in revoked)
    assert len(walk(api_letters.Filters(type="sktm"))[0]) == 2
    assert walk(api_letters.Filters(type="sktm", status="sah"))[0] == []


def test_nik_only_when_asked_and_then_audited(world):
    add_letters(world, 3)
    before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    plain = api_letters.register_page(api_letters.Filters(), None, 10)
    assert db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) == before
    full = api_letters.register_page(api_letters.Filters(), None, 10, with_nik=True)
    assert [i["subject_nik"] for i in full.items] == [world["siti"].resident.nik] * 3
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry.action == "api.letters_pii_read" and entry.details["count"] == 3
    assert sorted(entry.details["letter_ids"]) == sorted(i["id"] for i in plain.items)


@pytest.mark.parametrize("bad", ["xyz", "!!!", cursors.encode("complaints", datetime(2026, 1, 1), 3)])
def test_a_foreign_or_broken_cursor_is_refused(world, bad):
    with pytest.raises(cursors.CursorError):
        api_letters.register_page(api_letters.Filters(), bad, 10)


def test_verification_gives_the_public_pages_facts_masked(world):
    add_letters(world, 1, status=LetterStatus.REVOKED)
    letter = db.session.scalar(select(Letter))
    facts = api_letters.verification(letter.verify_code)
    assert facts["number"] == letter.number and facts["status"] == "dicabut" and not facts["valid"]
    assert facts["revocation_reason"] == "Data keliru"
    assert facts["subject"]["nik"] != world["siti"].resident.nik and "•" in facts["subject"]["nik"]
    assert facts["subject"]["name"] != "SITI AMINAH"
    assert api_letters.verification("tidak-ada") is None


def test_stats_are_the_dashboards_numbers(world):
    period = Period(date(2026, 3, 1), date(2026, 3, 31), "Asia/Jakarta")
    out = api_requests.stats(period)
    s = service_stats.period_stats(period)
    assert out["received"] == s.received == 1
    assert [(m["month"], m["received"]) for m in out["months"]] == [("2026-03", 1)]
    assert out["services"][0]["code"] == "domisili" and out["areas"] == [{"rt": "001", "rw": "001", "received": 1}]


def test_status_of_a_request_has_no_personal_data(world):
    req = world["request"]
    out = api_requests.status_of(req.tracking_number)
    assert out["status"] == req.status and out["service"]["code"] == "domisili"
    assert "SITI" not in repr(out) and world["siti"].resident.nik not in repr(out)
    assert api_requests.status_of("JGL-0000-000000") is None


def test_catalogue_lists_enabled_services_with_their_standard(world):
    services = catalogue.services()
    assert [s["code"] for s in services] == ["domisili", "sktm"]
    assert services[0]["requirements"][0]["code"] == "kk" and services[0]["fields"][0]["name"] == "keperluan"
    assert services[0]["service_time"]["unit"] == "hari_kerja"


def test_ikm_periods_of_a_year(world):
    quarters = ikm.results(2026, "quarter")
    assert [(q["start"], q["end"]) for q in quarters][:2] == [("2026-01-01", "2026-03-31"),
                                                              ("2026-04-01", "2026-06-30")]
    assert quarters[0]["respondents"] == 0 and quarters[0]["ikm"] is None
    assert set(ikm.transparency()) == {"as_of", "month", "year", "ikm"}


def test_complaints_contact_only_with_pii_and_audited(world):
    add_complaints(5)
    plain = api_complaints.page(limit=3)
    assert len(plain.items) == 3 and plain.has_more and "contact" not in plain.items[0]
    rest = api_complaints.page(cursor=plain.next_cursor, limit=3, with_pii=True)
    assert len(rest.items) == 2 and rest.items[0]["contact"]["phone"] == "+6281234567890"
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry.action == "api.complaints_pii_read" and entry.details["count"] == 2


def test_a_letter_signed_moments_ago_waits_for_the_settle_time(app, world):
    from sempelmas.models.base import utcnow

    add_letters(world, 1, start=utcnow() - timedelta(seconds=5))
    assert walk()[0] == []
    app.config["API_REGISTER_SETTLE_SECONDS"] = 0
    try:
        assert len(walk()[0]) == 1
    finally:
        app.config["API_REGISTER_SETTLE_SECONDS"] = 120
