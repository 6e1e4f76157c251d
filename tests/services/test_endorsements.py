from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from sempelmas.domain.letter_format import roman_month
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import LetterCounter
from sempelmas.models.requests import Endorsement, LetterRequest, RequestStatus
from sempelmas.services.requests import endorsements, lifecycle
from sempelmas.services.requests.endorsements import format_number
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus


@pytest.fixture
def area(app, factory):
    """RT 003 / RW 002 with its heads, a resident there, and the heads of a neighbouring RT and RW."""
    profile = make_profile()
    make_service()
    return {
        "profile": profile,
        "warga": factory.warga(name="SITI AMINAH", female=True, rt="003", rw="002"),
        "rt": factory.staff(Role.RT_HEAD, rt="003", rw="002"),
        "rw": factory.staff(Role.RW_HEAD, rw="002"),
        "other_rt": factory.staff(Role.RT_HEAD, rt="004", rw="002"),
        "other_rw": factory.staff(Role.RW_HEAD, rw="005"),
    }


def waiting(head) -> list[int]:
    """The ids of the requests in ``head``'s queue, in its order."""
    return [w.request_id for w in endorsements.queue_for(head).waiting]


def local_month_year(endorsement):
    local = endorsement.at.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Jakarta"))
    return roman_month(local.month), local.year


def test_number_format_per_level():
    assert format_number("rt", 7, rt="003", rw="002", month=11, year=2026) == "007/RT.003/RW.002/XI/2026"
    assert format_number("rw", 4, rt="", rw="002", month=11, year=2026) == "004/RW.002/XI/2026"
    assert format_number("rt", 1234, rt="010", rw="001", month=1, year=2027) == "1234/RT.010/RW.001/I/2027"


def test_rt_endorsement_sends_the_request_to_the_office_when_the_rw_does_not_endorse(area):
    req = submit(area["warga"])
    assert req.status == S.AWAITING_ENDORSEMENT
    e = endorsements.endorse(req, area["rt"], note="  Warga kami, dikenal baik ")
    db.session.commit()
    month, year = local_month_year(e)
    assert req.status == S.SUBMITTED and req.events[-1].action == "endorse"
    assert (e.level, e.rt, e.rw, e.seq, e.endorser_id, e.note) == ("rt", "003", "002", 1, area["rt"].id,
                                                                  "Warga kami, dikenal baik")
    assert e.number == f"001/RT.003/RW.002/{month}/{year}" and e.year == year
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.endorse")).one()
    assert entry.details["endorsement_number"] == e.number and entry.details["to_status"] == S.SUBMITTED
    assert [x.number for x in req.endorsements] == [e.number]


def test_with_rw_endorsing_the_rt_step_hands_the_request_to_the_rw_head(area):
    area["profile"].rw_endorses = True
    req = submit(area["warga"])
    version = req.version
    assert lifecycle.allowed_actions(req, area["rt"]) == ["endorse_rt", "return_to_resident"]
    assert lifecycle.allowed_actions(req, area["rw"]) == []
    rt_e = endorsements.endorse(req, area["rt"], expected_version=version)
    db.session.commit()
    assert req.status == S.AWAITING_ENDORSEMENT and req.version == version + 1
    assert req.events[-1].action == "endorse_rt" and lifecycle.endorsement_step(req) == "rw"
    # now only the RW head of RW 002 may act; the RT head is done
    assert lifecycle.allowed_actions(req, area["rt"]) == []
    assert lifecycle.allowed_actions(req, area["rw"]) == ["endorse", "return_to_resident"]
    with pytest.raises(lifecycle.NotPermittedError):
        endorsements.endorse(req, area["other_rw"])
    with pytest.raises(lifecycle.NotPermittedError):
        endorsements.endorse(req, area["rt"])
    rw_e = endorsements.endorse(req, area["rw"], note="Setuju")
    db.session.commit()
    month, year = local_month_year(rw_e)
    assert req.status == S.SUBMITTED
    assert rt_e.number == f"001/RT.003/RW.002/{month}/{year}"
    assert rw_e.number == f"001/RW.002/{month}/{year}" and (rw_e.level, rw_e.rt) == ("rw", "")
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ["request.endorse_rt", "request.endorse"])).order_by(AuditEntry.id)).all()
    assert [(a.action, a.details["endorsement_number"]) for a in audit] == [
        ("request.endorse_rt", rt_e.number), ("request.endorse", rw_e.number)]


def test_numbers_count_per_rt_and_per_level(area, factory):
    area["profile"].rw_endorses = True
    neighbour = factory.warga(rt="004", rw="002")
    first, second = submit(area["warga"]), submit(area["warga"])
    third = submit(neighbour)
    a = endorsements.endorse(first, area["rt"])
    b = endorsements.endorse(second, area["rt"])
    c = endorsements.endorse(third, area["other_rt"])
    # the RW counts its own sequence across its RTs
    d = endorsements.endorse(third, area["rw"])
    f = endorsements.endorse(first, area["rw"])
    db.session.commit()
    assert [x.number.split("/")[0:3] for x in (a, b)] == [["001", "RT.003", "RW.002"], ["002", "RT.003", "RW.002"]]
    assert c.number.startswith("001/RT.004/RW.002/")
    assert d.number.startswith("001/RW.002/") and f.number.startswith("002/RW.002/")


def test_a_new_year_starts_the_numbers_again(area):
    req = submit(area["warga"])
    e = endorsements.endorse(req, area["rt"])
    db.session.commit()
    # an endorsement of the previous year with a high number does not count for this year
    old = Endorsement(request_id=req.id, level="rt", rt="003", rw="002", year=e.year - 1, seq=99,
                      number="099/RT.003/RW.002/XII/old", endorser_id=area["rt"].id)
    db.session.add(old)
    db.session.commit()
    second = submit(area["warga"])
    assert endorsements.endorse(second, area["rt"]).seq == 2


def test_endorsements_in_different_sessions_never_share_a_number(app, area):
    first, second = submit(area["warga"]), submit(area["warga"])
    db.session.commit()
    first_id, rt_id = first.id, area["rt"].id
    with app.app_context():  # another session, as another worker would have
        other = db.session.get(LetterRequest, first_id)
        other_number = endorsements.endorse(other, db.session.get(type(area["rt"]), rt_id)).number
        db.session.commit()
    mine = endorsements.endorse(second, area["rt"])
    db.session.commit()
    assert other_number.startswith("001/") and mine.number.startswith("002/")


def test_a_counter_created_after_endorsements_were_numbered_starts_after_them(area):
    """Endorsements numbered before the counter existed (max + 1 in earlier versions) are never reused."""
    first, second = submit(area["warga"]), submit(area["warga"])
    e = endorsements.endorse(first, area["rt"])
    db.session.commit()
    db.session.execute(delete(LetterCounter).where(LetterCounter.scope.like("pengantar:%")))
    db.session.commit()
    assert endorsements.endorse(second, area["rt"]).seq == e.seq + 1
    db.session.commit()
    # the request's move and the number are one transaction: a rollback gives the number back
    third = submit(area["warga"])
    db.session.commit()
    endorsements.endorse(third, area["rt"])
    db.session.rollback()
    third = db.session.get(LetterRequest, third.id)
    assert endorsements.endorse(third, area["rt"]).seq == e.seq + 2
    db.session.commit()
    assert [x.seq for x in db.session.scalars(select(Endorsement).order_by(Endorsement.seq))] == [1, 2, 3]


def test_return_needs_a_reason_and_sends_the_request_back(area):
    req = submit(area["warga"])
    with pytest.raises(lifecycle.TransitionError, match="Alasan wajib diisi"):
        endorsements.return_to_resident(req, area["rt"], "   ")
    assert req.status == S.AWAITING_ENDORSEMENT
    with pytest.raises(lifecycle.NotPermittedError):
        endorsements.return_to_resident(req, area["other_rt"], "Bukan warga RT ini")
    event = endorsements.return_to_resident(req, area["rt"], "Alamat di KK belum diperbarui",
                                            expected_version=req.version)
    db.session.commit()
    assert req.status == S.RETURNED and event.note == "Alamat di KK belum diperbarui"
    assert event.actor_id == area["rt"].id


def test_a_stale_version_is_refused_and_nothing_is_numbered(area):
    req = submit(area["warga"])
    db.session.commit()
    with pytest.raises(lifecycle.ConcurrentUpdateError):
        endorsements.endorse(req, area["rt"], expected_version=req.version - 1)
    db.session.rollback()
    assert db.session.scalars(select(Endorsement)).all() == []


def test_another_rt_head_or_rw_head_may_not_endorse(area):
    area["profile"].rw_endorses = True
    req = submit(area["warga"])
    for head in (area["other_rt"], area["other_rw"], area["rw"]):  # the RW head waits for the RT step
        with pytest.raises(lifecycle.NotPermittedError, match="tidak berwenang"):
            endorsements.endorse(req, head)
    assert req.status == S.AWAITING_ENDORSEMENT and req.endorsements == []


def test_after_a_return_and_resubmit_the_endorsements_start_again(area):
    area["profile"].rw_endorses = True
    req = submit(area["warga"])
    first = endorsements.endorse(req, area["rt"])
    endorsements.return_to_resident(req, area["rw"], "Keperluan kurang jelas")
    assert req.status == S.RETURNED
    lifecycle.transition(req, "resubmit", actor=area["warga"])
    db.session.commit()
    # the RT head's earlier endorsement no longer counts: the request is back at the RT step
    assert lifecycle.endorsement_step(req) == "rt" and lifecycle.current_endorsements(req) == []
    assert req.id in waiting(area["rt"])
    assert req.id not in waiting(area["rw"])
    again = endorsements.endorse(req, area["rt"])
    db.session.commit()
    # its number is not reused; both rows stay on record
    assert (first.seq, again.seq) == (1, 2) and len(req.endorsements) == 2
    assert lifecycle.current_endorsements(req) == [again]


def test_the_queue_says_since_when_each_request_waits_and_the_rt_number_the_rw_head_builds_on(area):
    area["profile"].rw_endorses = True
    warga = area["warga"]
    fresh, returned, endorsed = submit(warga), submit(warga), submit(warga)
    endorsements.return_to_resident(returned, area["rt"], "Foto KTP buram")
    lifecycle.transition(returned, "resubmit", actor=warga)
    rt_endorsement = endorsements.endorse(endorsed, area["rt"])
    db.session.commit()
    for head, requests in ((area["rt"], (fresh, returned)), (area["rw"], (endorsed,))):
        rows = {w.request_id: w for w in endorsements.queue_for(head).waiting}
        assert set(rows) == {r.id for r in requests}
        for req in requests:
            # the list's SQL gives what the detail page's rule gives: submission, resubmission, RT endorsement
            assert rows[req.id].since == endorsements.waiting_since(req)
            assert rows[req.id].tracking_number == req.tracking_number and rows[req.id].service == "Surat domisili"
    assert endorsements.waiting_since(returned) > returned.submitted_at
    assert rows[endorsed.id].since == rt_endorsement.at and rows[endorsed.id].rt_number == rt_endorsement.number
    assert all(w.rt_number is None for w in endorsements.queue_for(area["rt"]).waiting)


def test_a_return_of_one_request_leaves_the_step_of_the_others_alone(area):
    area["profile"].rw_endorses = True
    endorsed, returned = submit(area["warga"]), submit(area["warga"])
    endorsements.endorse(endorsed, area["rt"])
    endorsements.return_to_resident(returned, area["rt"], "Foto KTP buram")  # later than the endorsement
    db.session.commit()
    assert waiting(area["rw"]) == [endorsed.id]
    assert waiting(area["rt"]) == []


def test_the_queue_shows_only_requests_waiting_for_this_heads_step(area, factory):
    area["profile"].rw_endorses = True
    warga = area["warga"]
    older, newer = submit(warga), submit(warga)
    elsewhere = submit(factory.warga(rt="004", rw="002"))
    db.session.commit()
    assert waiting(area["rt"]) == [older.id, newer.id]
    assert endorsements.waiting_count(area["rt"]) == 2 and endorsements.waiting_count(area["rw"]) == 0
    assert waiting(area["other_rt"]) == [elsewhere.id]
    assert waiting(area["rw"]) == []
    assert waiting(area["other_rw"]) == []
    endorsements.endorse(newer, area["rt"])
    db.session.commit()
    queue = endorsements.queue_for(area["rt"])
    assert [w.request_id for w in queue.waiting] == [older.id]
    assert [(h.event.request, h.event.action, h.endorsement.seq) for h in queue.handled] == [
        (newer, "endorse_rt", 1)]
    assert waiting(area["rw"]) == [newer.id]
    assert endorsements.waiting_count(area["rt"]) == 1 and endorsements.waiting_count(area["rw"]) == 1
    endorsements.endorse(newer, area["rw"])
    db.session.commit()
    assert waiting(area["rw"]) == []
    assert endorsements.queue_for(area["rw"]).handled[0].endorsement.level == "rw"
    assert waiting(factory.staff(Role.STAFF)) == []


def test_without_rw_endorsing_the_rw_head_has_no_queue(area):
    req = submit(area["warga"])
    db.session.commit()
    assert waiting(area["rt"]) == [req.id]
    assert waiting(area["rw"]) == []


def test_requests_needing_a_paper_pengantar_never_reach_the_rt_queue(area, factory):
    # RT 009 has no head account yet: the resident brings the paper pengantar instead
    no_account = factory.warga(rt="009", rw="002")
    req = submit(no_account)
    db.session.commit()
    assert req.needs_paper_pengantar and req.status == S.SUBMITTED
    area["profile"].rw_endorses = True
    rw_head_queue = endorsements.queue_for(area["rw"])
    late_head = factory.staff(Role.RT_HEAD, rt="009", rw="002")  # an account made after submission
    assert req.id not in [w.request_id for w in rw_head_queue.waiting] and waiting(late_head) == []
    assert not endorsements.awaits(req, late_head)


def test_an_endorsement_rolled_back_with_its_transaction_leaves_nothing(area):
    req = submit(area["warga"])
    db.session.commit()
    endorsements.endorse(req, area["rt"])
    db.session.rollback()  # e.g. a later step of the same HTTP request failed
    db.session.expire_all()
    assert db.session.scalars(select(Endorsement)).all() == []
    assert db.session.get(LetterRequest, req.id).status == S.AWAITING_ENDORSEMENT
