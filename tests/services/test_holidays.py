from datetime import date, datetime

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.profile import Holiday
from sempelmas.services.kelurahan import profile
from sempelmas.services.kelurahan.demo import HOLIDAYS_2026
from tests.request_factory import make_profile, make_service, submit


def test_holidays_are_added_listed_by_year_and_range_and_audited(app, factory):
    admin = factory.staff(Role.ADMIN, "adm")
    profile.add_holiday(date(2026, 8, 17), " Hari Kemerdekaan ", admin)
    profile.add_holiday(date(2026, 1, 1), "Tahun Baru Masehi", admin)
    profile.add_holiday(date(2027, 1, 1), "Tahun Baru Masehi", admin)
    db.session.commit()
    assert [(h.date, h.name) for h in profile.holidays_in_year(2026)] == [
        (date(2026, 1, 1), "Tahun Baru Masehi"), (date(2026, 8, 17), "Hari Kemerdekaan")]
    assert profile.holidays_between(date(2026, 1, 1), date(2026, 8, 17)) == {date(2026, 1, 1), date(2026, 8, 17)}
    assert profile.holidays_between(date(2026, 1, 2), date(2026, 12, 31)) == {date(2026, 8, 17)}
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "holiday.add")).all()
    assert len(entries) == 3 and entries[0].actor_id == admin.id
    assert entries[0].details == {"date": "2026-08-17", "name": "Hari Kemerdekaan"}
    assert db.session.scalar(select(Holiday).where(Holiday.date == date(2026, 1, 1))).created_by_id == admin.id


def test_a_date_already_on_the_list_is_refused_with_a_clear_message(app, factory):
    admin = factory.staff(Role.ADMIN, "adm")
    profile.add_holiday(date(2026, 12, 25), "Hari Raya Natal", admin)
    with pytest.raises(profile.HolidayError) as caught:
        profile.add_holiday(date(2026, 12, 25), "Natal lagi", admin)
    assert caught.value.field == "date"
    assert caught.value.message == "Tanggal 25-12-2026 sudah tercatat sebagai hari libur (Hari Raya Natal)."
    with pytest.raises(profile.HolidayError, match="wajib diisi"):
        profile.add_holiday(date(2026, 12, 26), "  ", admin)


def test_removing_a_holiday_is_audited(app, factory):
    admin = factory.staff(Role.ADMIN, "adm")
    holiday = profile.add_holiday(date(2026, 6, 1), "Hari Lahir Pancasila", admin)
    holiday_id = holiday.id
    profile.remove_holiday(holiday, admin)
    db.session.commit()
    assert db.session.get(Holiday, holiday_id) is None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "holiday.remove")).one()
    assert entry.object_id == str(holiday_id) and entry.details == {"date": "2026-06-01",
                                                                    "name": "Hari Lahir Pancasila"}


def test_a_request_submitted_the_day_before_a_holiday_is_due_a_day_later(app, factory):
    make_profile()
    make_service()  # 1 hari kerja
    parent = factory.warga()
    # Tuesday 3 March 2026 09:00 WIB: without holidays due Wednesday at closing, 15:30 WIB
    assert submit(parent, key="a").due_at == datetime(2026, 3, 4, 8, 30)
    profile.add_holiday(date(2026, 3, 4), "Libur uji")
    # with Wednesday a holiday: Thursday at closing
    assert submit(parent, key="b").due_at == datetime(2026, 3, 5, 8, 30)


def test_the_demo_seeds_the_fixed_2026_national_holidays(app):
    from sempelmas.services.kelurahan.demo import seed

    assert seed()
    db.session.commit()
    assert [(h.date, h.name) for h in profile.holidays_in_year(2026)] == HOLIDAYS_2026
    assert {date(2026, 1, 1), date(2026, 5, 1), date(2026, 6, 1), date(2026, 8, 17),
            date(2026, 12, 25)} == {d for d, _n in HOLIDAYS_2026}
