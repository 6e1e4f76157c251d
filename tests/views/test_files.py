"""Downloading request documents: every download checks who asks; another's file answers 404."""

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.services.requests import attachments
from tests import request_factory as rf
from tests.conftest import jpeg_bytes


def setup_request(factory, *, rt="001", rw="001"):
    rf.make_profile()
    rf.make_service()
    applicant = factory.warga(rt=rt, rw=rw)
    request = rf.submit(applicant, key="files-1")
    att = attachments.store(jpeg_bytes(), requirement_code="kk", owner=applicant, request=request)
    db.session.commit()
    return applicant, request, att


def url(att):
    return f"/berkas/{att.stored_name}"


def status_of(client, path):
    resp = client.get(path)
    resp.close()  # send_file keeps the file open until the response is closed
    return resp.status_code


def test_applicant_downloads_own_file_with_private_headers(client, factory, login_as):
    applicant, _request, att = setup_request(factory)
    resp = login_as(applicant).get(url(att))
    body = resp.get_data()
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert body == attachments.path_of(att).read_bytes()
    assert "no-store" in resp.headers["Cache-Control"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_family_member_on_the_same_kk_may_open_it(client, factory, login_as):
    applicant, _request, att = setup_request(factory)
    relative = factory.warga(kk=applicant.resident.kk_number, name="ISTRI UJI", female=True)
    assert status_of(login_as(relative), url(att)) == 200


def test_another_resident_gets_404(client, factory, login_as):
    _applicant, _request, att = setup_request(factory)
    stranger = factory.warga(name="ORANG LAIN")
    assert status_of(login_as(stranger), url(att)) == 404


def test_rt_head_of_that_rt_may_open_it_and_of_another_rt_may_not(client, factory, login_as, app):
    _applicant, _request, att = setup_request(factory, rt="003", rw="002")
    other_rt = factory.staff(Role.RT_HEAD, rt="004", rw="002")
    assert status_of(login_as(other_rt), url(att)) == 404
    client.post("/logout")
    own_rt = factory.staff(Role.RT_HEAD, rt="003", rw="002")
    assert status_of(login_as(own_rt), url(att)) == 200


def test_staff_view_is_audited(client, factory, login_as):
    _applicant, request, att = setup_request(factory)
    staff = factory.staff(Role.STAFF)
    assert status_of(login_as(staff), url(att)) == 200
    entry = db.session.query(AuditEntry).filter_by(action="attachment.view").one()
    assert entry.actor_id == staff.id and entry.details["tracking_number"] == request.tracking_number


def test_draft_file_only_for_its_owner(client, factory, login_as):
    owner = factory.warga()
    att = attachments.store(jpeg_bytes(), requirement_code="kk", owner=owner, draft_key="draft-1")
    db.session.commit()
    staff = factory.staff(Role.STAFF)
    assert status_of(login_as(staff), url(att)) == 404
    client.post("/logout")
    assert status_of(login_as(owner), url(att)) == 200


def test_unknown_or_guessed_names_are_404_and_anonymous_must_log_in(client, factory, login_as):
    _applicant, _request, att = setup_request(factory)
    resp = client.get(url(att))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    staff = factory.staff(Role.STAFF)
    login_as(staff)
    assert client.get("/berkas/1.jpg").status_code == 404
    assert client.get("/berkas/..%2Finstance%2Fsecret_key").status_code == 404


def test_a_pdf_opens_inline_in_the_browser_viewer(client, factory, login_as):
    from tests.services.test_attachments import pdf_bytes

    applicant, request, _photo = setup_request(factory)
    pdf = attachments.store(pdf_bytes(), requirement_code="surat_rs", owner=applicant, request=request)
    db.session.commit()
    resp = login_as(applicant).get(url(pdf))
    body = resp.get_data()
    resp.close()
    assert resp.mimetype == "application/pdf" and body.startswith(b"%PDF-")
    assert resp.headers["Content-Disposition"].startswith("inline")
    # Chromium's PDF viewer refuses to run in a sandboxed document; photos keep the sandbox
    assert "sandbox" not in resp.headers["Content-Security-Policy"]
    photo = client.get(url(_photo))
    photo.close()
    assert photo.headers["Content-Security-Policy"].startswith("sandbox")
