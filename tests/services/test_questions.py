"""Questions on a request: who may read and write, the window after closing, unread counts, idempotency, the notices
both ways and a question turned into a fix request."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import RequestStatus
from sempelmas.services.accountability import data_erasure
from sempelmas.services.files.uploads import save_image, stored_path
from sempelmas.services.requests import lifecycle, questions
from sempelmas.services.requests.questions import QuestionError
from tests.conftest import jpeg_bytes
from tests.request_factory import make_profile, make_service, submit

R, S = MessageSide.RESIDENT, MessageSide.STAFF
KK = "3576031201150099"


@pytest.fixture
def world(factory):
    make_profile()
    make_service(needs_rt=False)
    applicant = factory.warga(name="SITI AMINAH", female=True, kk=KK, phone="+6281234567890")
    applicant.email = "siti@example.org"
    sister = factory.warga(name="DEWI AMINAH", female=True, kk=KK)
    stranger = factory.warga(name="ORANG LAIN")
    helper = factory.staff(Role.ASSISTANT, "pendamping-q")
    applicant.assisted_by_id = helper.id
    w = {"applicant": applicant, "sister": sister, "stranger": stranger, "helper": helper,
         "staff": factory.staff(Role.STAFF, "loket-q"), "staff2": factory.staff(Role.STAFF, "loket-q2"),
         "rt": factory.staff(Role.RT_HEAD, "rt-q", rt="001", rw="001"), "signer": factory.staff(Role.SIGNER, "ttd-q"),
         "admin": factory.staff(Role.ADMIN, "admin-q")}
    w["req"] = submit(applicant)
    db.session.commit()
    return w


def _ask(w, text="Apakah fotokopi KK harus dilegalisir?", *, author=None, key=None, **kw):
    message, created = questions.post(w["req"], author or w["applicant"], text, side=R, idempotency_key=key, **kw)
    db.session.commit()
    return message, created


def _answer(w, text="Tidak perlu, fotokopi biasa cukup.", author=None):
    message, _c = questions.post(w["req"], author or w["staff"], text, side=S)
    db.session.commit()
    return message


def _bell(user):
    """The user's bell entries about questions (the request's own status notices left out)."""
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind.startswith("question."))
                              .order_by(Notification.id)).all()


def test_the_applicant_family_and_pendamping_write_as_residents_staff_as_the_office_nobody_else(world):
    req = world["req"]
    assert questions.side_of(world["applicant"], req) == R
    assert questions.side_of(world["sister"], req) == R  # the family follows the request, so may ask about it
    assert questions.side_of(world["helper"], req, acting_for=world["applicant"]) == R
    assert questions.side_of(world["staff"], req) == S
    # RT heads, signers, the admin, another resident, a pendamping not acting: no part in the thread
    for outsider in ("stranger", "rt", "signer", "admin", "helper"):
        assert questions.side_of(world[outsider], req) is None, outsider
    assert questions.side_of(world["helper"], req, acting_for=world["stranger"]) is None


def test_a_message_needs_text_and_stays_within_its_length(world):
    with pytest.raises(QuestionError) as e:
        _ask(world, "   ")
    assert e.value.field == "text"
    db.session.rollback()
    with pytest.raises(QuestionError):
        _ask(world, "x" * (questions.MAX_TEXT + 1))
    db.session.rollback()
    assert db.session.scalars(select(RequestMessage)).all() == []


def test_the_same_form_sent_twice_is_one_message(world):
    first, created = _ask(world, key="kunci-yang-sama-0001")
    again, created_again = _ask(world, "teks lain dari ketukan kedua", key="kunci-yang-sama-0001")
    assert created and not created_again and again.id == first.id
    assert len(questions.thread(world["req"])) == 1
    assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "question.post")).all()) == 1


def test_unread_counts_for_the_office_and_for_the_resident(world):
    req = world["req"]
    _ask(world)
    _ask(world, "Satu lagi: berapa lama?")
    assert questions.office_unread_total() == 2
    assert questions.office_unread_by_request([req.id]) == {req.id: 2}
    assert questions.summary(req, S).unread == 2 and questions.summary(req, R).unread == 0
    # one staff member opens the thread: read for the whole office
    assert questions.mark_read(req, S) == 2
    db.session.commit()
    assert questions.office_unread_total() == 0 and questions.office_unread_by_request([req.id]) == {}
    _answer(world)
    [waiting] = questions.resident_unread(world["applicant"])
    assert (waiting.tracking_number, waiting.unread) == (req.tracking_number, 1)
    assert waiting.service_name == "Surat domisili"
    assert [w.unread for w in questions.resident_unread(world["sister"])] == [1]  # the family sees it too
    assert questions.resident_unread(world["stranger"]) == []
    questions.mark_read(req, R)
    db.session.commit()
    assert questions.resident_unread(world["applicant"]) == []


def test_answering_reads_what_it_answers(world):
    _ask(world)
    assert questions.office_unread_total() == 1
    _answer(world)
    assert questions.office_unread_total() == 0


def test_a_question_tells_the_claimer_or_every_staff_member_and_an_answer_tells_the_applicant_side(world, app):
    app.config.update(MAIL_SERVER="localhost", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim")
    _ask(world)
    for person in ("staff", "staff2"):
        [note] = _bell(world[person])
        assert note.kind == "question.new" and note.url == f"/petugas/permohonan/{world['req'].tracking_number}/tanya"
        assert "Apakah fotokopi" not in note.message  # the text stays in the app
    assert _bell(world["applicant"]) == []  # never to the author
    assert db.session.scalars(select(OutboxMessage)).all() == []  # officials: the bell only
    lifecycle.transition(world["req"], "claim", actor=world["staff"])
    db.session.commit()
    _ask(world, "Sudah ditangani siapa?", author=world["helper"], on_behalf_of=world["applicant"])
    assert len(_bell(world["staff"])) == 2 and len(_bell(world["staff2"])) == 1  # now the claimer only
    _answer(world)
    for person in ("applicant", "helper"):
        [note] = _bell(world[person])
        assert note.kind == "question.reply"
        assert note.url == f"/warga/permohonan/{world['req'].tracking_number}/tanya"
    channels = sorted((m.channel, m.recipient) for m in db.session.scalars(select(OutboxMessage)))
    assert ("email", "siti@example.org") in channels and ("gateway", "+6281234567890") in channels
    assert all("Tidak perlu" not in m.body for m in db.session.scalars(select(OutboxMessage)))


def test_a_family_member_who_asked_hears_the_answer(world):
    _ask(world, author=world["sister"])
    _answer(world)
    assert [n.kind for n in _bell(world["sister"])] == ["question.reply"]
    assert [n.kind for n in _bell(world["applicant"])] == ["question.reply"]


def test_every_message_is_audited_with_its_text_and_who_wrote_it_for_whom(world):
    _ask(world, "Ditulis pendamping", author=world["helper"], on_behalf_of=world["applicant"])
    _answer(world)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "question.post")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.actor_id, e.on_behalf_of_id, e.details["side"], e.details["text"]) for e in entries] == [
        (world["helper"].id, world["applicant"].id, "warga", "Ditulis pendamping"),
        (world["staff"].id, None, "petugas", "Tidak perlu, fotokopi biasa cukup.")]
    assert entries[0].object_type == "letter_requests" and entries[0].object_id == str(world["req"].id)


def test_a_closed_request_takes_questions_for_a_while_then_only_answers(world, app):
    req = world["req"]
    lifecycle.transition(req, "cancel", actor=world["applicant"])
    db.session.commit()
    assert lifecycle.is_final(req.status) and questions.may_ask(req)
    _ask(world, "Kenapa dibatalkan?")
    days = app.config["QUESTION_DAYS_AFTER_CLOSE"]
    req.closed_at = utcnow() - timedelta(days=days, minutes=1)
    db.session.commit()
    assert not questions.may_ask(req)
    with pytest.raises(QuestionError):
        _ask(world, "Masih bisa?")
    db.session.rollback()
    _answer(world, "Dibatalkan atas permintaan Anda sendiri.")  # the office still answers
    assert [m.side for m in questions.thread(req)] == [R, S]


def test_a_question_becomes_a_fix_request_with_its_text_as_the_reason(world):
    req = world["req"]
    question, _c = _ask(world, "Alamat saya salah ketik, seharusnya Jl. Pemuda 12.")
    assert req.status == RequestStatus.SUBMITTED and questions.may_turn_into_fix(req, question, world["staff"])
    assert questions.claims_first(req, world["staff"])
    questions.turn_into_fix(req, question, world["staff"], reason=question.text, fields=["keperluan"], files=[],
                            expected_version=req.version)
    db.session.commit()
    assert req.status == RequestStatus.NEEDS_FIX and req.claimed_by_id == world["staff"].id
    assert req.fix_request["reason"] == question.text and req.fix_request["fields"] == ["keperluan"]
    assert question.fix_requested_at is not None and question.read_at is not None
    assert not questions.may_turn_into_fix(req, question, world["staff"])  # once
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.to_fix")).actor_id \
        == world["staff"].id
    answer = _answer(world)
    assert not questions.may_turn_into_fix(req, answer, world["staff"])  # only a resident's message


def test_a_fix_from_a_question_keeps_the_review_rules(world):
    req = world["req"]
    question, _c = _ask(world)
    with pytest.raises(lifecycle.RequestError):  # names no field and no file
        questions.turn_into_fix(req, question, world["staff"], reason=question.text, fields=[], files=[],
                                expected_version=req.version)
    db.session.rollback()
    assert req.status == RequestStatus.SUBMITTED and question.fix_requested_at is None
    with pytest.raises(lifecycle.ConcurrentUpdateError):  # someone changed it since the page was shown
        questions.turn_into_fix(req, question, world["staff"], reason="x", fields=["keperluan"], files=[],
                                expected_version=req.version - 1)
    db.session.rollback()
    assert not questions.may_turn_into_fix(req, question, world["rt"])  # not the RT's to do


def test_an_erased_account_leaves_its_questions_text_without_its_photos(world):
    photo = save_image(questions.UPLOAD_KIND, jpeg_bytes())
    question, _c = _ask(world, photo=photo)
    lifecycle.transition(world["req"], "cancel", actor=world["applicant"])
    db.session.commit()
    deletion = data_erasure.request_deletion(world["applicant"], None)
    db.session.commit()
    erasure = data_erasure.grant_deletion(deletion, world["staff"], None)
    db.session.commit()
    data_erasure.remove_files(erasure.files)
    db.session.refresh(question)
    assert question.photo is None and question.text == "Apakah fotokopi KK harus dilegalisir?"
    assert stored_path(questions.UPLOAD_KIND, photo) is None
    assert deletion.summary["erased"]["question_photos"] == 1
