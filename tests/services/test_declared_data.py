"""What the letter needs and the register lacks (asked, kept unchecked, checked by staff, printed), the registration
KTP reused by a request, and the promised time counted from the office's step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.declared import DeclaredStatus, DeclaredValue
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services.accountability import data_erasure, data_export
from sempelmas.services.files.uploads import KTP, stored_path
from sempelmas.services.letters import issuing
from sempelmas.services.letters import render as letter_render
from sempelmas.services.letters import store as letter_store
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.operations import retention
from sempelmas.services.requests import attachments, declared_data, endorsements, lifecycle, promise, queue, review
from sempelmas.services.requests import submission as requests
from tests.conftest import jpeg_bytes
from tests.request_factory import TUESDAY_9_WIB, make_profile, make_service
from tests.signing_setup import LURAH_PASS, Desk, configure, page_text

KTP_REQUIREMENTS = "kk | Fotokopi KK | ya | ya\nktp | Fotokopi KTP-el pemohon | ya | ya"


@pytest.fixture
def office(app, factory):
    make_profile()
    make_service("domisili", needs_rt=False)
    # prints name, NIK and address only: never asks for the religion
    make_service("pengantar_akta_kelahiran", needs_rt=False, fields="keperluan | Keperluan | text | tidak")
    return factory.staff(Role.STAFF, "petugas1")


def _lacking(factory, **kw):
    """A self-registered resident: verified, but the register entry made from the registration has no religion,
    marital status or occupation."""
    return factory.warga(name="DEWI LESTARI", female=True, source="verifikasi", religion=None, marital_status=None,
                         occupation=None, **kw)


def _send(warga, declared=None, service="domisili", key="form-key-0001", **kw):
    return requests.submit_with_files(service, warga, warga.resident, {"keperluan": "Membuka rekening"},
                                      idempotency_key=key, brought_originals=["kk", "ktp"], declared=declared,
                                      now=TUESDAY_9_WIB, **kw)


GIVEN = {"religion": "Islam", "marital_status": "Belum kawin", "occupation": "Karyawan swasta"}


# ------------------------------------------------------------------ asked only when the register lacks it

def test_nothing_is_asked_when_the_register_has_every_value(office, factory):
    warga = factory.warga()
    assert declared_data.questions_for(_version("domisili"), warga.resident) == []


def _version(code):
    from sempelmas.services.requests import catalogue
    return catalogue.current_version(catalogue.get_service(code)).snapshot


def test_the_form_asks_what_the_letter_prints_and_the_register_lacks(office, factory):
    warga = _lacking(factory)
    asked = [q.field for q in declared_data.questions_for(_version("domisili"), warga.resident)]
    assert asked == ["religion", "marital_status", "occupation"]
    # this letter prints no religion, status or occupation: nothing to ask
    assert declared_data.questions_for(_version("pengantar_akta_kelahiran"), warga.resident) == []
    warga.resident.religion = "ISLAM"
    asked = [q.field for q in declared_data.questions_for(_version("domisili"), warga.resident)]
    assert asked == ["marital_status", "occupation"]


def test_an_unanswered_question_refuses_the_whole_request_and_saves_nothing(office, factory):
    warga = _lacking(factory)
    with pytest.raises(requests.AnswersError) as caught:
        _send(warga, {"religion": "Islam", "marital_status": "Menikah?", "occupation": ""})
    assert set(caught.value.errors) == {"data_marital_status", "data_occupation"}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LetterRequest)) == 0


def test_declared_values_are_kept_unchecked_and_noted_for_staff(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    db.session.commit()
    rows = declared_data.of_request(req)
    assert [(d.field, d.value, d.status) for d in rows] == [
        ("religion", "Islam", DeclaredStatus.UNCHECKED), ("marital_status", "Belum kawin", DeclaredStatus.UNCHECKED),
        ("occupation", "Karyawan swasta", DeclaredStatus.UNCHECKED)]
    assert "Data dari pemohon, belum dicek: Agama, Status perkawinan, Pekerjaan." in req.events[0].note
    assert warga.resident.religion is None  # the register is never written from a request by itself
    # the resident's own data export (UU PDP) carries them
    [exported] = data_export.export(warga)["permohonan"]
    assert [(d["data"], d["nilai"], d["status"]) for d in exported["data_dari_pemohon"]][0] == (
        "religion", "Islam", "belum_dicek")


# ------------------------------------------------------------------ staff check before forwarding

def test_forwarding_is_refused_until_every_value_is_checked(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    review.act(req, "claim", office)
    with pytest.raises(review.ReviewError, match="belum dicek: Agama, Status perkawinan, Pekerjaan"):
        review.act(req, "forward_to_signing", office)
    assert req.status == RequestStatus.IN_REVIEW
    declared_data.confirm(req, office, {**GIVEN, "occupation": "Pedagang"}, update_register=False)
    review.act(req, "forward_to_signing", office)
    assert req.status == RequestStatus.AWAITING_SIGNATURE
    by_field = {d.field: d for d in declared_data.of_request(req)}
    assert by_field["religion"].status == DeclaredStatus.CONFIRMED and by_field["religion"].checked_by_id == office.id
    assert (by_field["occupation"].status, by_field["occupation"].value, by_field["occupation"].declared_value) == (
        DeclaredStatus.CORRECTED, "Pedagang", "Karyawan swasta")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.declared_check")).one()
    assert entry.details["corrected"] == ["occupation"] and entry.actor_id == office.id


def test_staff_may_fill_the_empty_register_fields_and_never_overwrite_one(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    review.act(req, "claim", office)
    warga.resident.marital_status = "KAWIN"  # filled meanwhile (an import): stays as it is
    result = declared_data.confirm(req, office, GIVEN, update_register=True)
    assert sorted(result.register) == ["occupation", "religion"]
    assert (warga.resident.religion, warga.resident.marital_status, warga.resident.occupation) == (
        "Islam", "KAWIN", "Karyawan swasta")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "resident.update_from_request")).one()
    assert entry.details["tracking_number"] == req.tracking_number and sorted(entry.details["fields"]) == [
        "occupation", "religion"]
    # the next letter asks nothing it now has
    assert [q.field for q in declared_data.questions_for(_version("domisili"), warga.resident)] == []


def test_only_staff_check_and_only_while_the_request_is_with_them(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    with pytest.raises(lifecycle.NotPermittedError):
        declared_data.confirm(req, warga, GIVEN, update_register=False)
    with pytest.raises(declared_data.DeclaredError) as caught:
        declared_data.confirm(req, office, {**GIVEN, "religion": "Jedi"}, update_register=False)
    assert caught.value.errors == {"data_religion": "Pilih salah satu."}
    requests.withdraw(req, warga)
    with pytest.raises(lifecycle.TransitionError):
        declared_data.confirm(req, office, GIVEN, update_register=False)


# ------------------------------------------------------------------ the letter

def test_a_numbered_letter_is_never_made_from_unchecked_values(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    with pytest.raises(LetterRenderError, match="belum dicek"):
        letter_render.render_html(req, number="470/1/2026", signed_at=None, official=None, verify_url="https://x/v/1")
    preview = letter_render.render_html(req, number=None, signed_at=None, official=None, verify_url=None)
    assert "Islam" in preview  # the staff's preview shows what was given


def test_the_signed_letter_prints_the_checked_values_never_a_dash(app, factory, tmp_path):
    configure(app, tmp_path)
    desk = Desk(factory)
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    review.act(req, "claim", desk.staff)
    declared_data.confirm(req, desk.staff, {**GIVEN, "occupation": "Pedagang"}, update_register=False)
    review.act(req, "forward_to_signing", desk.staff)
    db.session.commit()
    letter = issuing.issue_letter(req, desk.lurah, LURAH_PASS)
    text = page_text(letter_store.read_pdf(letter))
    assert "Agama : Islam" in text and "Status perkawinan : Belum Kawin" in text and "Pekerjaan : Pedagang" in text
    assert ": -" not in text
    assert warga.resident.occupation is None  # printed for this letter only: the register was not asked to change


# ------------------------------------------------------------------ the registration KTP

def _ktp_service():
    from sempelmas.services.requests import catalogue
    reqs, _e = catalogue.parse_requirement_lines(KTP_REQUIREMENTS)
    service = catalogue.get_service("domisili")
    version = catalogue.current_version(service).snapshot
    data = {k: version[k] for k in catalogue.SERVICE_ATTRS}
    catalogue.save_service(service, data, reqs, version["fields"])
    db.session.commit()


def test_the_registration_ktp_stands_in_and_the_request_gets_its_own_copy(office, factory):
    _ktp_service()
    warga = factory.warga(ktp=True)
    original = stored_path(KTP, warga.registration.ktp_photo)
    req = requests.submit_with_files("domisili", warga, warga.resident, {"keperluan": "Membuka rekening"},
                                     idempotency_key="form-key-0002", brought_originals=["kk"], now=TUESDAY_9_WIB)
    db.session.commit()
    [copy] = [a for a in attachments.current(req) if a.requirement_code == "ktp"]
    assert copy.stored_name != warga.registration.ktp_photo and copy.owner_user_id == warga.id
    assert attachments.path_of(copy).read_bytes() == original.read_bytes()
    assert "Foto KTP diambil dari pendaftaran akun." in req.events[0].note
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "request.ktp_reused")) == 1
    # retention purges the request's copy with its other files, never the registration's photo
    requests.withdraw(req, warga)
    db.session.commit()
    result = retention.run(now=datetime.now(UTC).replace(tzinfo=None) + timedelta(days=400))
    assert result.files == 1 and attachments.path_of(copy) is None
    assert stored_path(KTP, warga.registration.ktp_photo) is not None


def test_erasing_the_account_removes_the_copy_of_a_request_without_a_letter_and_the_registration_photo(office,
                                                                                                      factory):
    _ktp_service()
    warga = factory.warga(ktp=True)
    photo = warga.registration.ktp_photo
    req = requests.submit_with_files("domisili", warga, warga.resident, {"keperluan": "Membuka rekening"},
                                     idempotency_key="form-key-0005", brought_originals=["kk"], now=TUESDAY_9_WIB)
    requests.withdraw(req, warga)
    db.session.commit()
    [copy_name] = [a.stored_name for a in attachments.current(req)]
    deletion = data_erasure.request_deletion(warga, None)
    erasure = data_erasure.grant_deletion(deletion, office)
    db.session.commit()
    data_erasure.remove_files(erasure.files)
    assert stored_path(KTP, photo) is None and stored_path(attachments.KIND, copy_name) is None
    assert erasure.erased["attachments"] == 1 and erasure.erased["ktp_photo"] is True


def test_a_ktp_uploaded_on_the_form_replaces_the_registration_photo_for_that_request(office, factory):
    _ktp_service()
    warga = factory.warga(ktp=True)
    draft = attachments.store(jpeg_bytes(color=(10, 10, 10)), requirement_code="ktp", owner=warga,
                              draft_key="form-key-0003")
    req = requests.submit_with_files("domisili", warga, warga.resident, {"keperluan": "Membuka rekening"},
                                     idempotency_key="form-key-0003", brought_originals=["kk"], now=TUESDAY_9_WIB)
    assert [a.id for a in attachments.current(req) if a.requirement_code == "ktp"] == [draft.id]
    assert db.session.scalar(select(func.count()).select_from(RequestAttachment)) == 1


def test_without_a_registration_photo_the_ktp_is_still_required(office, factory):
    _ktp_service()
    warga = factory.warga(ktp=False)
    with pytest.raises(requests.FilesError) as caught:
        requests.submit_with_files("domisili", warga, warga.resident, {"keperluan": "x"},
                                   idempotency_key="form-key-0004", brought_originals=[], now=TUESDAY_9_WIB)
    assert "ktp" in caught.value.errors


# ------------------------------------------------------------------ the promised time

def test_the_office_clock_starts_at_the_endorsement_not_the_submission(app, factory):
    make_profile()
    make_service("domisili", time_value=1, time_unit="hari_kerja")
    rt = factory.staff(Role.RT_HEAD, rt="001", rw="001")
    warga = factory.warga()
    req = requests.submit("domisili", warga, warga.resident, {"keperluan": "x"}, idempotency_key=None,
                          now=TUESDAY_9_WIB)
    assert req.status == RequestStatus.AWAITING_ENDORSEMENT and req.due_at is None
    assert promise.waiting_text(req, lifecycle.endorsement_step(req)) == (
        "menunggu pengantar RT, lalu ±1 hari kerja di kantor kelurahan")
    assert promise.staff_due_text(req).startswith("belum berjalan: menunggu pengantar RT/RW")
    assert not queue.Clock.load().is_overdue(req.due_at)
    endorsements.endorse(req, rt)
    assert req.status == RequestStatus.SUBMITTED and req.due_at is not None and req.due_at > req.submitted_at
    assert promise.waiting_text(req, None) is None and promise.staff_due_text(req) is None


def test_a_request_that_goes_to_the_office_at_once_is_promised_from_its_submission(app, factory):
    make_profile()
    make_service("tanpa_rt", needs_rt=False)
    warga = factory.warga()
    req = requests.submit("tanpa_rt", warga, warga.resident, {"keperluan": "x"}, idempotency_key=None,
                          now=TUESDAY_9_WIB)
    assert req.due_at == datetime(2026, 3, 4, 8, 30)  # 1 hari kerja from Tuesday 09:00 WIB: Wednesday 15:30
    assert promise.waiting_text(req, None) is None


def test_requests_without_a_due_time_come_last_in_the_queue(app, factory):
    make_profile()
    make_service("domisili")
    make_service("tanpa_rt", needs_rt=False)
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    warga = factory.warga()
    waiting = requests.submit("domisili", warga, warga.resident, {"keperluan": "x"}, idempotency_key=None,
                              now=TUESDAY_9_WIB)
    office_one = requests.submit("tanpa_rt", warga, warga.resident, {"keperluan": "x"}, idempotency_key=None,
                                 now=TUESDAY_9_WIB)
    db.session.commit()
    page = queue.queue_page(queue.QueueFilters())
    assert [r.tracking_number for r in page.rows] == [office_one.tracking_number, waiting.tracking_number]
    assert page.rows[1].time_left == "" and not page.rows[1].overdue


def test_declared_rows_go_with_their_request(office, factory):
    warga = _lacking(factory)
    req = _send(warga, GIVEN)
    db.session.commit()
    db.session.delete(req)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DeclaredValue)) == 0
