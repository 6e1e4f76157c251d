"""Submitting with documents, fixing and resubmitting, and which requests a family sees."""

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services.files.uploads import reencode_image
from sempelmas.services.requests import attachments, catalogue, lifecycle
from sempelmas.services.requests import submission as requests
from tests.conftest import jpeg_bytes
from tests.request_factory import TUESDAY_9_WIB, make_profile

FIELDS = "keperluan | Keperluan | text | ya\njumlah | Jumlah | number | tidak"
REQUIREMENTS = "kk | Fotokopi KK | ya | ya\nktp | Foto KTP | ya | tidak"


@pytest.fixture
def setup(app, factory):
    make_profile()
    data = {"code": "domisili", "name": "Surat domisili", "classification_code": "470", "letter_template": "domisili",
            "needs_rt_endorsement": True, "paper_pengantar_when_no_rt_account": True}
    reqs, _e = catalogue.parse_requirement_lines(REQUIREMENTS)
    fields, _e = catalogue.parse_field_lines(FIELDS)
    catalogue.save_service(None, data, reqs, fields)
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    db.session.commit()


@pytest.fixture
def parent(factory):
    return factory.warga(name="SITI")


def _draft(owner, code, key="k1"):
    return attachments.store(jpeg_bytes(), requirement_code=code, owner=owner, draft_key=key)


def _submit(parent, key="k1", **kw):
    return requests.submit_with_files("domisili", parent, parent.resident, {"keperluan": "Kerja", "jumlah": "1"},
                                      idempotency_key=key, now=TUESDAY_9_WIB, **kw)


def test_the_drafts_of_the_form_become_the_requests_files(setup, parent):
    _draft(parent, "kk")
    _draft(parent, "ktp")
    req = _submit(parent)
    db.session.commit()
    assert sorted(a.requirement_code for a in req.attachments) == ["kk", "ktp"]
    assert all(a.draft_key is None and a.request_id == req.id for a in req.attachments)
    assert _submit(parent).id == req.id  # the same key again: the same request


def test_a_missing_required_document_refuses_the_submission_and_saves_nothing(setup, parent):
    _draft(parent, "kk")
    with pytest.raises(requests.FilesError) as caught:
        _submit(parent)
    assert set(caught.value.errors) == {"ktp"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LetterRequest)) == 0


def test_another_persons_drafts_under_the_same_key_are_not_taken(setup, parent, factory):
    other = factory.warga(name="LAIN")
    _draft(other, "ktp")
    with pytest.raises(requests.FilesError):
        _submit(parent, brought_originals={"kk"})


def test_bringing_the_original_only_where_allowed(setup, parent):
    _draft(parent, "ktp")
    req = _submit(parent, brought_originals={"kk", "ktp"})
    assert req.events[0].note == "Dokumen asli dibawa ke kantor: Fotokopi KK."


@pytest.fixture
def needs_fix(setup, parent, factory):
    _draft(parent, "kk")
    _draft(parent, "ktp")
    req = _submit(parent)
    req.status = RequestStatus.SUBMITTED
    db.session.commit()
    staff = factory.staff(Role.STAFF, "loket")
    lifecycle.transition(req, "claim", actor=staff)
    lifecycle.transition(req, "ask_fix", actor=staff, note="KTP buram", fields=["keperluan"], files=["ktp"])
    db.session.commit()
    return req


def test_resubmit_changes_only_what_staff_named(needs_fix, parent):
    req = needs_fix
    old = next(a for a in req.attachments if a.requirement_code == "ktp")
    assert requests.fixable(req) == (["keperluan"], ["ktp"])
    _draft(parent, "ktp", key="fix-1")
    _draft(parent, "kk", key="fix-1")  # not named: stays a draft
    event = requests.resubmit(req, parent, answers={"keperluan": "Kerja di pabrik", "jumlah": "7"},
                              draft_key="fix-1", expected_version=req.version)
    db.session.commit()
    assert req.status == RequestStatus.IN_REVIEW and req.answers == {"keperluan": "Kerja di pabrik", "jumlah": 1}
    assert old.superseded_at is not None
    assert sorted(a.requirement_code for a in attachments.current(req)) == ["kk", "ktp"]
    assert event.note == "Isian diubah: Keperluan. Berkas diganti: Foto KTP."
    assert db.session.scalars(select(RequestAttachment).where(RequestAttachment.draft_key == "fix-1")).one() \
        .requirement_code == "kk"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.resubmit")).one()
    assert entry.details["note"] == event.note


def test_resubmit_refuses_bad_answers_missing_files_and_stale_screens(needs_fix, parent):
    req = needs_fix
    with pytest.raises(requests.AnswersError) as caught:
        requests.resubmit(req, parent, answers={"keperluan": ""})
    assert caught.value.errors == {"keperluan": "Wajib diisi."}
    with pytest.raises(requests.FilesError) as caught:
        requests.resubmit(req, parent, answers={"keperluan": "ok"})
    assert caught.value.errors == {"ktp": "Unggah berkas pengganti."}
    with pytest.raises(lifecycle.ConcurrentUpdateError):
        requests.resubmit(req, parent, answers={"keperluan": "ok"}, expected_version=req.version - 1)
    db.session.rollback()
    assert req.status == RequestStatus.NEEDS_FIX


def test_resubmit_is_refused_when_nothing_is_waiting_for_the_resident(setup, parent, factory):
    _draft(parent, "kk")
    _draft(parent, "ktp")
    req = _submit(parent)
    assert requests.fixable(req) == ([], [])
    with pytest.raises(lifecycle.TransitionError, match="tidak dapat diajukan ulang"):
        requests.resubmit(req, parent, answers={"keperluan": "x"})
    stranger = factory.warga(name="LAIN")
    rt = factory.staff(Role.RT_HEAD, rt="001", rw="001")
    lifecycle.transition(req, "return_to_resident", actor=rt, note="Salah")
    with pytest.raises(lifecycle.NotPermittedError):
        requests.resubmit(req, stranger, answers={"keperluan": "x"})


def test_after_a_return_by_the_rt_every_answer_may_change(setup, parent, factory):
    _draft(parent, "kk")
    _draft(parent, "ktp")
    req = _submit(parent)
    rt = factory.staff(Role.RT_HEAD, rt="001", rw="001")
    lifecycle.transition(req, "return_to_resident", actor=rt, note="Jumlah salah")
    assert requests.fixable(req) == (["keperluan", "jumlah"], ["kk", "ktp"])
    event = requests.resubmit(req, parent, answers={"keperluan": "Kerja", "jumlah": "3"})
    assert req.status == RequestStatus.AWAITING_ENDORSEMENT and req.answers["jumlah"] == 3
    assert event.note == "Isian diubah: Jumlah."


def test_family_requests_are_own_and_same_kk_newest_first(setup, parent, factory):
    child = factory.resident(name="ANAK", kk=parent.resident.kk_number)
    spouse = factory.warga(name="SUAMI", kk=parent.resident.kk_number)
    stranger = factory.warga(name="LAIN")
    first = requests.submit("domisili", parent, parent.resident, {"keperluan": "a"}, idempotency_key="a")
    second = requests.submit("domisili", parent, child, {"keperluan": "b"}, idempotency_key="b")
    other = requests.submit("domisili", stranger, stranger.resident, {"keperluan": "c"}, idempotency_key="c")
    db.session.commit()
    assert requests.family_requests(spouse) == [second, first]
    assert requests.family_requests(stranger) == [other]


def test_a_camera_photo_is_decoded_at_reduced_scale_but_keeps_2000_px_and_its_orientation(app):
    img = Image.new("RGB", (4000, 3000), (120, 130, 140))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: the phone was held upright
    exif[0x8825] = {1: "S", 2: (7.0, 28.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    with Image.open(io.BytesIO(reencode_image(buf.getvalue()))) as out:
        assert out.size == (1500, 2000)
        assert not out.getexif()
