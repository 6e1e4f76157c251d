"""The access rules of services/access.py: the RT/RW area in Python and in SQL say the same."""

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, RoleGrant
from sempelmas.models.residents import Resident
from sempelmas.services import access


@pytest.fixture
def area(app, factory):
    people = {
        "rt": factory.staff(Role.RT_HEAD, rt="003", rw="002"),
        "rw": factory.staff(Role.RW_HEAD, rw="002"),
        "other_rt": factory.staff(Role.RT_HEAD, rt="004", rw="002"),
        "other_rw": factory.staff(Role.RW_HEAD, rw="005"),
        "staff": factory.staff(Role.STAFF),
    }
    residents = {
        "here": factory.resident(rt="003", rw="002"),
        "same_rw": factory.resident(rt="004", rw="002"),
        "same_rt_number_other_rw": factory.resident(rt="003", rw="005"),
        "elsewhere": factory.resident(rt="001", rw="001"),
    }
    db.session.commit()
    return people, residents


EXPECTED = {
    "rt": {"here"},
    "rw": {"here", "same_rw"},
    "other_rt": {"same_rw"},
    "other_rw": {"same_rt_number_other_rw"},
    "staff": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_in_area_and_its_sql_form_agree(area, who):
    people, residents = area
    user = people[who]
    in_python = {name for name, r in residents.items() if access.in_area(user, r)}
    ids = set(db.session.scalars(select(Resident.id).where(access.area_clause(user, Resident.rt, Resident.rw))))
    in_sql = {name for name, r in residents.items() if r.id in ids}
    assert in_python == in_sql == EXPECTED[who]


def test_the_rt_alone_for_verifying_accounts(area):
    people, residents = area
    rt_only = set(db.session.scalars(select(Resident.id).where(
        access.area_clause(people["rw"], Resident.rt, Resident.rw, rw_heads=False))))
    assert rt_only == set()
    assert access.heads_rt(people["rt"], "003", "002") and not access.heads_rt(people["rw"], "003", "002")
    assert not access.heads_rt(people["rt"], None, None) and not access.heads_rw(people["rw"], None)
    assert not access.in_area(people["rt"], None)


def test_the_heads_of_a_resident_the_other_way_round(area):
    people, residents = area

    def heads(resident, **kw):
        return set(db.session.scalars(select(RoleGrant.user_id).where(access.heads_of_clause(resident, **kw))))

    assert heads(residents["here"]) == {people["rt"].id, people["rw"].id}
    assert heads(residents["here"], rw_heads=False) == {people["rt"].id}
    assert heads(residents["same_rw"], rt_heads=False) == {people["rw"].id}
    assert heads(residents["elsewhere"]) == set()
    assert heads(residents["here"], rt_heads=False, rw_heads=False) == set()
    for name, r in residents.items():  # the same rule as in_area, seen from the resident
        assert heads(r) == {u.id for u in people.values() if access.in_area(u, r)}, name
