"""The survey service: the invitation on "selesai", one response per request, the period report."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.models.survey import SurveyResponse
from sempelmas.services.accountability import survey
from tests.domain.test_ikm import WORKED
from tests.request_factory import make_profile, make_service, submit
from tests.survey_helpers import Office, add_response, finish

ALL_FOUR = {f"u{i}": 4 for i in range(1, 10)}


@pytest.fixture
def office(app, factory):
    make_profile()
    make_service(needs_rt=False)
    return Office(factory)


def test_a_finished_request_invites_applicant_and_pendamping_in_app_and_by_the_notifier(app, factory, office):
    app.config.update(MAIL_SERVER="localhost", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim",
                      PUBLIC_URL="https://layanan.example.id")
    applicant = factory.warga(phone="+6281234567890")
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    applicant.email, applicant.assisted_by_id = "warga@example.org", helper.id
    req = submit(applicant)
    db.session.commit()
    before = db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "survey.invite"))
    assert before == 0
    finish(req, office.staff, office.signer)
    invites = db.session.scalars(select(Notification).where(Notification.kind == "survey.invite")).all()
    assert {n.user_id for n in invites} == {applicant.id, helper.id}
    note = next(n for n in invites if n.user_id == applicant.id)
    assert note.url == f"/warga/permohonan/{req.tracking_number}/survei"
    assert req.tracking_number in note.message and "nilai layanan kami" in note.message
    out = db.session.scalars(select(OutboxMessage).where(OutboxMessage.notification_id == note.id)).all()
    assert {(m.channel, m.recipient) for m in out} == {("email", "warga@example.org"), ("gateway", "+6281234567890")}
    assert all(f"https://layanan.example.id/warga/permohonan/{req.tracking_number}/survei" in m.body for m in out)


def test_no_invitation_before_the_request_is_done(office, factory):
    req = submit(factory.warga())
    db.session.commit()
    assert not db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "survey.invite"))
    with pytest.raises(survey.SurveyError):
        survey.submit(req, ALL_FOUR, None, actor=req.applicant)
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 0


def test_one_response_per_request_and_no_user_stored(office, factory):
    applicant = factory.warga()
    req = office.done(applicant)
    survey.submit(req, ALL_FOUR, "  Cepat sekali  ", actor=applicant)
    db.session.commit()
    with pytest.raises(survey.AlreadyAnswered):
        survey.submit(req, ALL_FOUR, None, actor=applicant)
    db.session.rollback()
    rows = db.session.scalars(select(SurveyResponse)).all()
    assert len(rows) == 1 and rows[0].comment == "Cepat sekali" and rows[0].answers == (4,) * 9
    assert not any("user" in c.name for c in SurveyResponse.__table__.columns)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.answer"))
    assert entry.object_id == str(req.id) and "u1" not in entry.details  # the answers are not in the log


def test_a_racing_second_insert_is_refused_by_the_unique_request(office, factory):
    applicant = factory.warga()
    req = office.done(applicant)
    add_response(req, (3,) * 9)  # another tab's submit, committed after this one checked
    original = survey.has_response
    try:
        survey.has_response = lambda r: False
        with pytest.raises(survey.AlreadyAnswered):
            survey.submit(req, ALL_FOUR, None, actor=applicant)
    finally:
        survey.has_response = original
    db.session.rollback()
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 1


def test_missing_answers_and_a_long_comment_are_refused_with_their_messages(office, factory):
    applicant = factory.warga()
    req = office.done(applicant)
    with pytest.raises(survey.AnswersError) as e:
        survey.submit(req, {**ALL_FOUR, "u3": 0, "u9": None}, "x" * 1001, actor=applicant)
    assert set(e.value.errors) == {"u3", "u9", "comment"}
    assert "1000" in e.value.errors["comment"]
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 0


def test_report_counts_local_days_of_the_period_and_matches_the_worked_example(office, factory):
    applicant = factory.warga(name="BUDI RAHASIA")
    reqs = [office.done(applicant) for _ in range(6)]
    # 4 responses in March 2026 (WIB), one on 31 March 23:30 WIB = 16:30 UTC, one in April, one in February
    for req, answers, at in zip(reqs[:4], WORKED, [datetime(2026, 3, 2, 3), datetime(2026, 3, 10, 5),
                                              datetime(2026, 3, 20, 7), datetime(2026, 3, 31, 16, 30)], strict=True):
        add_response(req, answers, comment="Antrean panjang" if at.day == 10 else None, at=at)
    add_response(reqs[4], (1,) * 9, comment="Di luar periode", at=datetime(2026, 3, 31, 17, 30))  # 1 Apr 00:30 WIB
    add_response(reqs[5], (1,) * 9, at=datetime(2026, 2, 28, 16, 59))  # 28 Feb 23:59 WIB
    rep = survey.report(survey.Period(date(2026, 3, 1), date(2026, 3, 31)))
    r = rep.result
    assert r.respondents == 4 and r.converted == Decimal("82.64") and r.category == "B"
    assert [c.text for c in rep.comments] == ["Antrean panjang"]
    empty = survey.report(survey.Period(date(2025, 1, 1), date(2025, 12, 31)))
    assert empty.result is None and empty.comments == []


def test_latest_public_result_is_this_year_so_far_else_last_year(office, factory, monkeypatch):
    applicant = factory.warga()
    monkeypatch.setattr(survey, "local_today", lambda: date(2027, 1, 15))
    assert survey.latest_public_result() is None
    add_response(office.done(applicant), (4,) * 9, at=datetime(2026, 6, 1, 3))
    last_year = survey.latest_public_result()
    assert last_year["respondents"] == 1 and last_year["label"] == "Tahun 2026"
    assert last_year["converted"] == Decimal("100.00") and last_year["category"] == "A"
    add_response(office.done(applicant), (3,) * 9, at=datetime(2027, 1, 10, 3))
    this_year = survey.latest_public_result()
    assert this_year["respondents"] == 1 and this_year["converted"] == Decimal("75.00")
    assert (this_year["category"], this_year["category_label"]) == ("C", "Kurang Baik")
    assert this_year["label"] == "Tahun 2027 (sampai 15 Januari 2027)"


def test_demo_has_answers_on_its_finished_requests_and_one_still_invited(app, client):
    from sempelmas.models.requests import LetterRequest, RequestStatus
    from sempelmas.services.kelurahan import demo
    from tests.conftest import login

    assert demo.seed()
    db.session.commit()
    rep = survey.report(survey.Period(date(2000, 1, 1), date(2100, 12, 31)))
    assert rep.result.respondents == len(demo.DEMO_SURVEY_ANSWERS) and len(rep.comments) == 1
    done = db.session.scalars(select(LetterRequest).where(LetterRequest.status == RequestStatus.DONE)
                              .order_by(LetterRequest.id)).all()
    login(client, demo.DEMO_RESIDENT_NIK, demo.DEMO_RESIDENT_PASSWORD)
    assert 'id="survey-card"' in client.get(f"/warga/permohonan/{done[-1].tracking_number}").get_data(as_text=True)
    assert 'id="survey-card"' not in client.get(f"/warga/permohonan/{done[0].tracking_number}").get_data(
        as_text=True)
