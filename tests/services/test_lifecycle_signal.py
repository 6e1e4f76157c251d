"""The lifecycle's own answers (where a request starts, which statuses are final, whose move it waits for) and
what follows a move: one signal, its receivers connected once and in order, inside the move's transaction."""

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.notifications import Notification
from sempelmas.models.requests import Endorsement, RequestStatus
from sempelmas.services.requests import endorsements, lifecycle, subscriptions
from sempelmas.services.requests.lifecycle import FINAL_STATUSES, OPEN_STATUSES, TRANSITIONS, WAITS_FOR
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus


@pytest.fixture
def people(app, factory):
    make_profile()
    make_service()
    make_service("sktm", needs_rt=False)
    people = {
        lifecycle.APPLICANT: factory.warga(name="SITI AMINAH", female=True),
        lifecycle.RT: factory.staff(Role.RT_HEAD, rt="001", rw="001"),
        lifecycle.STAFF: factory.staff(Role.STAFF),
        lifecycle.SIGNER: factory.staff(Role.SIGNER),
    }
    db.session.commit()
    return people


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_request_starts_waiting_for_its_pengantar_or_with_the_office(people):
    assert lifecycle.start(awaits_pengantar=True) == S.AWAITING_ENDORSEMENT
    assert lifecycle.start(awaits_pengantar=False) == S.SUBMITTED
    assert submit(people[lifecycle.APPLICANT]).status == lifecycle.start(awaits_pengantar=True)
    assert submit(people[lifecycle.APPLICANT], service="sktm", key="b").status == lifecycle.start(
        awaits_pengantar=False)


def test_final_open_and_done_statuses():
    assert set(OPEN_STATUSES) | FINAL_STATUSES == set(S) and not set(OPEN_STATUSES) & FINAL_STATUSES
    assert OPEN_STATUSES == (S.AWAITING_ENDORSEMENT, S.RETURNED, S.SUBMITTED, S.IN_REVIEW, S.NEEDS_FIX,
                             S.AWAITING_SIGNATURE)  # the order work flows
    assert all(lifecycle.is_final(str(s)) for s in FINAL_STATUSES)
    assert not any(lifecycle.is_final(str(s)) for s in OPEN_STATUSES)
    assert [s for s in S if lifecycle.is_done(str(s))] == [S.DONE]


def test_whose_move_each_open_status_waits_for_follows_the_table():
    assert set(WAITS_FOR) == set(OPEN_STATUSES)
    for status in OPEN_STATUSES:
        # the actors of the moves out of it, but for the applicant's "cancel" (open to them at several steps)
        actors = {lifecycle.ACTORS[action] for (start, action) in TRANSITIONS if start == status and action != "cancel"}
        assert actors == {lifecycle.waits_for(status)}, status
    assert all(lifecycle.waits_for(str(s)) is None for s in FINAL_STATUSES)
    assert lifecycle.statuses_waiting_for(lifecycle.RT) == (S.AWAITING_ENDORSEMENT,)
    assert lifecycle.statuses_waiting_for(lifecycle.SIGNER) == (S.AWAITING_SIGNATURE,)
    assert lifecycle.statuses_waiting_for(lifecycle.STAFF) == (S.SUBMITTED, S.IN_REVIEW)


def test_the_receivers_are_connected_once_in_order_however_many_apps_are_made(app, make_app):
    make_app(fresh=True)  # another create_app in this process
    assert list(lifecycle.request_moved.receivers_for(None)) == list(subscriptions.RECEIVERS)
    assert subscriptions.RECEIVERS[0] is endorsements.number_endorsement  # its number joins the audit entry


def test_a_move_and_all_it_caused_are_rolled_back_together(people):
    rt = people[lifecycle.RT]
    req = submit(people[lifecycle.APPLICANT])
    db.session.commit()
    audited, told = count(AuditEntry), count(Notification)
    lifecycle.transition(req, "endorse", actor=rt, note="Benar warga kami")
    assert count(Endorsement) == 1 and count(AuditEntry) == audited + 1 and count(Notification) > told
    db.session.rollback()
    assert count(Endorsement) == 0 and count(AuditEntry) == audited and count(Notification) == told
    assert db.session.get(type(req), req.id).status == S.AWAITING_ENDORSEMENT


def test_an_endorse_move_is_numbered_whoever_makes_it_and_the_number_is_audited(people):
    req = submit(people[lifecycle.APPLICANT])
    lifecycle.transition(req, "endorse", actor=people[lifecycle.RT], note="Benar warga kami")
    db.session.commit()
    (given,) = req.endorsements
    assert given.level == "rt" and given.note == "Benar warga kami" and given.at == req.events[-1].at
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.endorse")).one()
    assert entry.details["endorsement_number"] == given.number and entry.details["endorsement_level"] == "rt"
    assert entry.details["from_status"] == S.AWAITING_ENDORSEMENT and entry.details["to_status"] == S.SUBMITTED


def test_a_move_nobody_hears_is_refused(people):
    req = submit(people[lifecycle.APPLICANT])
    for receiver in subscriptions.RECEIVERS:
        lifecycle.request_moved.disconnect(receiver)
    try:
        with pytest.raises(RuntimeError, match="nothing is connected"):
            lifecycle.transition(req, "cancel", actor=people[lifecycle.APPLICANT])
    finally:
        for receiver in subscriptions.RECEIVERS:
            lifecycle.request_moved.connect(receiver, weak=False)
    db.session.rollback()
    assert list(lifecycle.request_moved.receivers_for(None)) == list(subscriptions.RECEIVERS)
