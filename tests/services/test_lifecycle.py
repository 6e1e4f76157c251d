import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.requests import RequestStatus
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import lifecycle
from sempelmas.services.requests.lifecycle import FINAL_STATUSES, REASON_REQUIRED, TRANSITIONS, transition
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus

#: the legal road from a fresh request (menunggu_pengantar) to each status
PATHS = {
    S.AWAITING_ENDORSEMENT: [],
    S.RETURNED: ["return_to_resident"],
    S.SUBMITTED: ["endorse"],
    S.IN_REVIEW: ["endorse", "claim"],
    S.NEEDS_FIX: ["endorse", "claim", "ask_fix"],
    S.AWAITING_SIGNATURE: ["endorse", "claim", "forward_to_signing"],
    S.DONE: ["endorse", "claim", "forward_to_signing", "sign"],
    S.REJECTED: ["endorse", "claim", "reject"],
    S.CANCELLED: ["cancel"],
}


@pytest.fixture
def people(app, factory):
    make_profile()
    make_service()
    applicant = factory.warga(name="SITI AMINAH", female=True)
    return {
        lifecycle.APPLICANT: applicant,
        lifecycle.RT: factory.staff(Role.RT_HEAD, rt="001", rw="001"),
        lifecycle.STAFF: factory.staff(Role.STAFF),
        lifecycle.SIGNER: factory.staff(Role.SIGNER),
    }


def act(request, action, people, **kw):
    kw.setdefault("note", "Alasan uji")
    return transition(request, action, actor=people[lifecycle.ACTORS[action]], **kw)


def request_at(status, people):
    req = submit(people[lifecycle.APPLICANT])
    for action in PATHS[status]:
        act(req, action, people)
    assert req.status == status
    return req


def test_every_status_either_has_a_way_out_or_is_final():
    starts = {status for status, _action in TRANSITIONS}
    assert starts | FINAL_STATUSES == set(RequestStatus) and not starts & FINAL_STATUSES
    assert set(PATHS) == set(RequestStatus)


@pytest.mark.parametrize(("start", "action"), list(TRANSITIONS), ids=lambda v: str(v))
def test_every_allowed_transition_moves_the_request_and_writes_history(people, start, action):
    # the RT head hands a request on to the RW head only where the profile says the RW endorses too
    profile_service.profile_row().rw_endorses = action == "endorse_rt"
    req = request_at(start, people)
    events_before = len(req.events)
    version_before = req.version
    event = act(req, action, people, note="Catatan uji")
    db.session.commit()
    expected = TRANSITIONS[(start, action)]
    assert req.status == expected and req.version == version_before + 1
    assert len(req.events) == events_before + 1 and req.events[-1] is event
    actor = people[lifecycle.ACTORS[action]]
    assert (event.action, event.from_status, event.to_status, event.actor_id, event.note) == (
        action, start, expected, actor.id, "Catatan uji")
    assert (req.closed_at is not None) == (expected in FINAL_STATUSES)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == f"request.{action}")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.object_id == str(req.id) and entry.details["to_status"] == expected


@pytest.mark.parametrize(("start", "action"), [
    (S.AWAITING_ENDORSEMENT, "claim"),
    (S.SUBMITTED, "sign"),
    (S.IN_REVIEW, "cancel"),
    (S.AWAITING_SIGNATURE, "reject"),
    (S.RETURNED, "endorse"),
    (S.NEEDS_FIX, "forward_to_signing"),
])
def test_an_illegal_transition_is_refused_with_a_clear_message(people, start, action):
    req = request_at(start, people)
    events_before = len(req.events)
    with pytest.raises(lifecycle.TransitionError) as caught:
        act(req, action, people)
    label = lifecycle.status_label(start)
    assert caught.value.message.startswith(f"Permohonan berstatus '{label}' tidak dapat ")
    assert req.status == start and len(req.events) == events_before


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_a_final_status_accepts_no_action(people, final):
    req = request_at(final, people)
    assert lifecycle.is_final(req.status)
    for action in lifecycle.ACTIONS:
        with pytest.raises(lifecycle.TransitionError, match="sudah selesai diproses"):
            act(req, action, people)
        assert lifecycle.allowed_actions(req, people[lifecycle.ACTORS[action]]) == []


def test_a_finished_request_cannot_be_cancelled(people):
    req = request_at(S.DONE, people)
    with pytest.raises(lifecycle.TransitionError) as caught:
        act(req, "cancel", people)
    assert caught.value.message == (
        "Permohonan berstatus 'Selesai — surat terbit' sudah selesai diproses dan tidak dapat dibatalkan.")


@pytest.mark.parametrize("action", sorted(REASON_REQUIRED))
@pytest.mark.parametrize("note", [None, "   "])
def test_a_reason_is_required_to_return_ask_for_a_fix_reject_or_send_back(people, action, note):
    start = next(status for status, a in TRANSITIONS if a == action)
    req = request_at(start, people)
    with pytest.raises(lifecycle.TransitionError, match="Alasan wajib diisi"):
        act(req, action, people, note=note)
    assert req.status == start


def test_claim_ask_fix_resubmit_and_reject_keep_their_details(people):
    staff = people[lifecycle.STAFF]
    req = request_at(S.SUBMITTED, people)
    act(req, "claim", people, note=None)
    assert req.claimed_by_id == staff.id and req.events[-1].note is None
    act(req, "ask_fix", people, note="Foto KK buram", fields=["keperluan"], files=["kk"])
    assert req.fix_request == {"reason": "Foto KK buram", "fields": ["keperluan"], "files": ["kk"]}
    act(req, "resubmit", people, note=None)
    assert req.fix_request is None and req.claimed_by_id == staff.id and req.status == S.IN_REVIEW
    act(req, "reject", people, note="Bukan warga kelurahan ini")
    assert req.rejection_reason == "Bukan warga kelurahan ini" and req.closed_at is not None


def test_who_may_act_follows_the_role_and_the_rt(people, factory):
    req = request_at(S.AWAITING_ENDORSEMENT, people)
    other_rt = factory.staff(Role.RT_HEAD, rt="002", rw="001")
    rw_head = factory.staff(Role.RW_HEAD, rw="001")
    other_rw = factory.staff(Role.RW_HEAD, rw="005")
    other_resident = factory.warga()
    staff, signer, rt = people[lifecycle.STAFF], people[lifecycle.SIGNER], people[lifecycle.RT]
    assert not lifecycle.may_act(req, other_rt, "endorse")
    assert not lifecycle.may_act(req, other_rw, "endorse")
    # without rw_endorses the RW head has no step of their own: the RT head's endorsement is the last
    assert not lifecycle.may_act(req, rw_head, "endorse") and not lifecycle.may_act(req, rw_head, "endorse_rt")
    assert not lifecycle.may_act(req, rt, "endorse_rt") and lifecycle.may_act(req, rt, "endorse")
    assert not lifecycle.may_act(req, staff, "endorse")
    assert not lifecycle.may_act(req, other_resident, "cancel")
    assert not lifecycle.may_act(req, rt, "cancel")
    with pytest.raises(lifecycle.NotPermittedError, match="tidak berwenang"):
        transition(req, "endorse", actor=other_rt)
    assert req.status == S.AWAITING_ENDORSEMENT
    act(req, "endorse", people)
    for user in (people[lifecycle.APPLICANT], rt, signer):
        assert not lifecycle.may_act(req, user, "claim")
    act(req, "claim", people)
    act(req, "forward_to_signing", people)
    assert not lifecycle.may_act(req, staff, "sign") and lifecycle.may_act(req, signer, "sign")


def test_a_pendamping_acts_only_for_the_resident_they_assist(people, factory):
    applicant = people[lifecycle.APPLICANT]
    helper, other_helper = factory.staff(Role.ASSISTANT), factory.staff(Role.ASSISTANT)
    applicant.assisted_by_id = helper.id
    req = request_at(S.AWAITING_ENDORSEMENT, people)
    assert not lifecycle.may_act(req, helper, "cancel")  # only when acting for the applicant
    assert not lifecycle.may_act(req, other_helper, "cancel", on_behalf_of=applicant)
    event = transition(req, "cancel", actor=helper, on_behalf_of=applicant, note="Diminta warga")
    assert (event.actor_id, event.on_behalf_of_id) == (helper.id, applicant.id)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.cancel")).one()
    assert (entry.actor_id, entry.on_behalf_of_id) == (helper.id, applicant.id)


def test_allowed_actions_lists_what_each_person_may_do_now(people):
    applicant, rt, staff, signer = (people[k] for k in (lifecycle.APPLICANT, lifecycle.RT, lifecycle.STAFF,
                                                       lifecycle.SIGNER))
    req = request_at(S.AWAITING_ENDORSEMENT, people)
    assert lifecycle.allowed_actions(req, applicant) == ["cancel"]
    assert lifecycle.allowed_actions(req, rt) == ["endorse", "return_to_resident"]
    assert lifecycle.allowed_actions(req, staff) == []
    assert lifecycle.allowed_actions(req, None) == []
    act(req, "endorse", people)
    act(req, "claim", people)
    assert lifecycle.allowed_actions(req, staff) == ["ask_fix", "reject", "forward_to_signing"]
    assert lifecycle.allowed_actions(req, applicant) == []
    act(req, "forward_to_signing", people)
    assert lifecycle.allowed_actions(req, signer) == ["sign", "send_back"]
