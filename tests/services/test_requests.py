from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.requests import LetterRequest, RequestEvent, RequestStatus, TrackingCounter
from sempelmas.services.requests import catalogue, lifecycle
from sempelmas.services.requests import submission as requests
from tests.request_factory import make_profile, make_service, submit


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def family(factory):
    """A verified resident, a child on the same KK, and the ketua RT of their RT."""
    parent = factory.warga(name="SITI AMINAH", female=True)
    child = factory.resident(name="BAYU", kk=parent.resident.kk_number)
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    return parent, child


@pytest.fixture
def setup(app):
    make_profile()
    make_service()


def test_a_resident_submits_for_themself_and_it_waits_for_the_rt(setup, family):
    parent, _child = family
    req = submit(parent, key="k-1")
    db.session.commit()
    assert req.tracking_number == "JGL-2026-000001"
    assert req.status == RequestStatus.AWAITING_ENDORSEMENT and not req.needs_paper_pengantar
    assert req.subject_resident_id == parent.resident_id and req.applicant_user_id == parent.id
    assert req.answers == {"keperluan": "Melamar pekerjaan", "tanggal": None}
    assert req.submitted_at == datetime(2026, 3, 3, 2, 0)
    # the office's clock has not started: no due time is promised while it waits for the RT (promise.py)
    assert req.due_at is None
    [event] = req.events
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        "submit", None, RequestStatus.AWAITING_ENDORSEMENT, parent.id)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.submit")).one()
    assert entry.details["tracking_number"] == "JGL-2026-000001" and entry.actor_id == parent.id


def test_a_resident_submits_for_a_family_member_on_the_same_kk(setup, family):
    parent, child = family
    req = submit(parent, child)
    assert req.subject_resident_id == child.id and req.applicant_user_id == parent.id


def test_a_subject_outside_the_family_is_refused(setup, family, factory):
    parent, _child = family
    stranger = factory.resident(name="ORANG LAIN")
    with pytest.raises(requests.RequestError, match="anggota keluarga dalam KK yang sama"):
        submit(parent, stranger)
    assert _count(LetterRequest) == 0


def test_an_unverified_account_cannot_submit(setup, factory):
    from sempelmas.models.accounts import AccountStatus

    pending = factory.warga(status=AccountStatus.PENDING)
    with pytest.raises(requests.RequestError, match="belum terverifikasi"):
        submit(pending)


def test_invalid_answers_are_refused_per_field_and_nothing_is_saved(setup, family):
    parent, _child = family
    with pytest.raises(requests.AnswersError) as caught:
        submit(parent, answers={"keperluan": "", "tanggal": "31/02/2026"})
    assert caught.value.errors["keperluan"] == "Wajib diisi."
    assert caught.value.errors["tanggal"].startswith("Tanggal tidak valid")
    db.session.commit()
    assert _count(LetterRequest) == 0 and _count(RequestEvent) == 0 and _count(TrackingCounter) == 0


def test_the_same_idempotency_key_gives_one_request(setup, family):
    parent, _child = family
    first = submit(parent, key="tap-1")
    db.session.commit()
    again = submit(parent, key="tap-1")
    db.session.commit()
    assert again.id == first.id and _count(LetterRequest) == 1
    assert submit(parent, key="tap-2").id != first.id


def test_someone_elses_idempotency_key_is_refused(setup, family, factory):
    parent, _child = family
    submit(parent, key="tap-1")
    other = factory.warga()
    with pytest.raises(requests.RequestError):
        submit(other, key="tap-1")


def test_tracking_numbers_run_per_year_with_the_profile_prefix(setup, family):
    parent, child = family
    numbers = [submit(parent, child if i % 2 else None).tracking_number for i in range(3)]
    assert numbers == ["JGL-2026-000001", "JGL-2026-000002", "JGL-2026-000003"]
    # 31 Dec 2026 18:00 UTC is already 1 Jan 2027 in WIB: the year of the kelurahan's calendar
    assert submit(parent, now=datetime(2026, 12, 31, 18, 0, tzinfo=UTC)).tracking_number == "JGL-2027-000001"
    assert submit(parent).tracking_number == "JGL-2026-000004"
    db.session.commit()
    assert _count(TrackingCounter) == 2


def test_due_time_uses_the_profile_office_hours_and_falls_back_when_they_do_not_parse(app, family):
    parent, _child = family
    profile = make_profile(office_hours="Senin-Jumat 07:30-12:00")
    make_service("cepat", time_value=1, time_unit="jam", needs_rt=False)
    tuesday_1130 = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)
    req = submit(parent, service="cepat", now=tuesday_1130)
    assert req.due_at == datetime(2026, 3, 4, 1, 0)  # Wednesday 08:00 WIB: 30 minutes on each day
    profile.office_hours = "buka setiap hari kerja"
    req = submit(parent, service="cepat", now=tuesday_1130)
    assert req.due_at == datetime(2026, 3, 3, 5, 30)  # default hours: Tuesday 12:30 WIB


def test_without_an_rt_account_the_request_goes_to_staff_with_a_paper_pengantar(app, factory):
    make_profile()
    make_service()
    make_service("tanpa_rt", needs_rt=False)
    make_service("wajib_rt", paper_when_no_rt=False)
    alone = factory.warga(rt="009")
    paper = submit(alone)
    assert paper.status == RequestStatus.SUBMITTED and paper.needs_paper_pengantar
    direct = submit(alone, service="tanpa_rt")
    assert direct.status == RequestStatus.SUBMITTED and not direct.needs_paper_pengantar
    waits = submit(alone, service="wajib_rt")
    assert waits.status == RequestStatus.AWAITING_ENDORSEMENT


def test_a_pendamping_submits_for_the_resident_they_assist(setup, family, factory):
    parent, _child = family
    helper = factory.staff(Role.ASSISTANT)
    parent.assisted_by_id = helper.id
    req = submit(parent, submitted_by=helper)
    assert req.submitted_by_id == helper.id and req.applicant_user_id == parent.id
    assert (req.events[0].actor_id, req.events[0].on_behalf_of_id) == (helper.id, parent.id)
    stranger = factory.staff(Role.ASSISTANT)
    with pytest.raises(requests.RequestError, match="bukan pendamping"):
        submit(parent, submitted_by=stranger)


def test_a_disabled_service_cannot_be_requested(setup, family):
    parent, _child = family
    with pytest.raises(requests.RequestError, match="tidak tersedia"):
        submit(parent, service="tidak_ada")


def test_the_request_keeps_its_service_version_after_the_admin_edits_the_service(setup, family):
    parent, _child = family
    old = submit(parent)
    db.session.commit()
    service = catalogue.get_service("domisili")
    fields, _e = catalogue.parse_field_lines("alasan | Alasan | text | ya")
    catalogue.save_service(service, {"name": "Domisili baru", "service_time_value": 3}, [], fields)
    db.session.commit()
    db.session.expire_all()
    old = db.session.get(LetterRequest, old.id)
    assert old.service_snapshot["version"] == 1 and old.service_snapshot["name"] == "Surat domisili"
    assert [f["name"] for f in old.service_snapshot["fields"]] == ["keperluan", "tanggal"]
    with pytest.raises(requests.AnswersError) as caught:
        submit(parent)  # the old answers no longer fit the new form
    assert set(caught.value.errors) == {"alasan"}
    new = submit(parent, answers={"alasan": "Pindah kerja"})
    assert new.service_snapshot["version"] == 2 and new.answers == {"alasan": "Pindah kerja"}


def test_a_resident_withdraws_before_review(setup, family):
    parent, _child = family
    req = submit(parent)
    requests.withdraw(req, parent, note="Tidak jadi")
    assert req.status == RequestStatus.CANCELLED and req.closed_at is not None
    assert req.events[-1].note == "Tidak jadi"


def test_a_page_showing_an_older_version_is_refused(setup, family, factory):
    parent, _child = family
    staff = factory.staff(Role.STAFF)
    req = submit(parent, service=make_service("langsung", needs_rt=False).code)
    db.session.commit()
    seen = req.version
    lifecycle.transition(req, "claim", actor=staff, expected_version=seen)
    db.session.commit()
    with pytest.raises(lifecycle.ConcurrentUpdateError, match="baru saja diubah"):
        requests.withdraw(req, parent, expected_version=seen)


def test_two_sessions_changing_the_same_request_the_second_gets_a_clear_error(setup, family, factory):
    parent, _child = family
    first_staff, second_staff = factory.staff(Role.STAFF), factory.staff(Role.STAFF)
    req = submit(parent, service=make_service("langsung", needs_rt=False).code)
    db.session.commit()
    req_id = req.id
    # the second staff member's session has the request loaded and its read finished, as after rendering
    session = db.session()
    session.expire_on_commit = False
    try:
        assert req.status == RequestStatus.SUBMITTED and req.version == 1
        session.commit()
    finally:
        session.expire_on_commit = True
    with Session(db.engine) as other:  # the first staff member acts and commits
        theirs = other.get(LetterRequest, req_id)
        theirs.status, theirs.claimed_by_id = RequestStatus.IN_REVIEW, first_staff.id
        other.commit()
        assert theirs.version == 2
    with pytest.raises(lifecycle.ConcurrentUpdateError, match="baru saja diubah"):
        lifecycle.transition(req, "claim", actor=second_staff)
    db.session.rollback()
    fresh = db.session.get(LetterRequest, req_id)
    assert fresh.claimed_by_id == first_staff.id and fresh.version == 2
    assert [e.action for e in fresh.events] == ["submit"]  # the loser's history row was not kept


def test_concurrent_submitters_never_get_the_same_tracking_number(app):
    """Each thread holds its transaction open after taking a number, so the others must wait for it."""
    import threading
    import time

    flask_app = app
    numbers, failures = [], []

    def take():
        try:
            with flask_app.app_context():
                number = requests.next_tracking_number("JGL", 2026)
                time.sleep(0.05)
                db.session.commit()
                numbers.append(number)
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert sorted(numbers) == [f"JGL-2026-{n:06d}" for n in range(1, 7)]
