import re

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.requests import Endorsement, LetterRequest, RequestStatus
from sempelmas.services.requests import attachments
from tests.conftest import csrf_from, jpeg_bytes
from tests.request_factory import make_profile, make_service, submit
from tests.views.test_admin_views import PROFILE

S = RequestStatus
HTMX = {"HX-Request": "true"}


@pytest.fixture
def area(app, factory):
    profile = make_profile()
    make_service()
    warga = factory.warga(name="SITI AMINAH", female=True, rt="003", rw="002")
    people = {
        "profile": profile, "warga": warga,
        "rt": factory.staff(Role.RT_HEAD, "rt003", rt="003", rw="002"),
        "rw": factory.staff(Role.RW_HEAD, "rw002", rw="002"),
        "other_rt": factory.staff(Role.RT_HEAD, "rt004", rt="004", rw="002"),
        "other_rw": factory.staff(Role.RW_HEAD, "rw005", rw="005"),
    }
    req = submit(warga, answers={"keperluan": "Melamar pekerjaan di pabrik"})
    attachments.store(jpeg_bytes(), requirement_code="kk", owner=warga, request=req)
    db.session.commit()
    people["req"] = req
    return people


def url(req, suffix=""):
    return f"/rt/permohonan/{req.tracking_number}{suffix}"


def fresh(req) -> LetterRequest:
    db.session.expire_all()
    return db.session.get(LetterRequest, req.id)


def test_rt_head_sees_the_waiting_request_on_the_home_page_and_in_the_queue(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    home = client.get("/rt/").get_data(as_text=True)
    assert re.search(r"<strong>1</strong>\s*permohonan menunggu pengantar Anda", home)
    page = client.get("/rt/permohonan").get_data(as_text=True)
    for text in (req.tracking_number, "Surat domisili", "SITI AMINAH", "RT 003 / RW 002", "menunggu"):
        assert text in page
    assert url(req) in page


def test_the_tracking_number_is_found_however_it_is_typed_like_on_every_other_screen(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    resp = client.get(f"/rt/permohonan/{req.tracking_number.lower()}")
    assert resp.status_code == 200 and req.subject.nik in resp.get_data(as_text=True)
    login_as(area["other_rt"])
    assert client.get(f"/rt/permohonan/{req.tracking_number.lower()}").status_code == 404


def test_the_detail_shows_the_answers_with_their_labels_and_the_files(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    resp = client.get(url(req))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Keperluan" in html and "Melamar pekerjaan di pabrik" in html and req.subject.nik in html
    stored = req.attachments[0].stored_name
    assert f'href="/berkas/{stored}"' in html and "Fotokopi KK" in html
    assert "Beri pengantar" in html and "Kembalikan ke pemohon" in html
    assert f'name="version" type="hidden" value="{req.version}"' in html
    # the RT head may open the file: the download checks the same area rule
    photo = client.get(f"/berkas/{stored}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    photo.close()


def test_rt_head_endorses_and_the_request_goes_to_the_office(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    resp = client.post(url(req, "/pengantar"), data={"note": "Benar warga kami", "version": req.version})
    assert resp.status_code == 303 and resp.location == "/rt/permohonan"
    req = fresh(req)
    e = req.endorsements[0]
    assert req.status == S.SUBMITTED and e.note == "Benar warga kami"
    assert re.fullmatch(r"001/RT\.003/RW\.002/[IVX]+/\d{4}", e.number)
    queue = client.get("/rt/permohonan").get_data(as_text=True)
    assert f"Pengantar nomor {e.number} tersimpan" in queue
    assert "Tidak ada permohonan yang menunggu pengantar Anda." in queue
    assert e.number in queue  # under "recently handled"
    detail = client.get(url(req)).get_data(as_text=True)
    assert e.number in detail and "Beri pengantar" not in detail


def test_an_htmx_endorsement_swaps_only_the_action_panel(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    resp = client.post(url(req, "/pengantar"), data={"version": req.version}, headers=HTMX)
    html = resp.get_data(as_text=True)
    number = fresh(req).endorsements[0].number
    assert resp.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="rt-panel"')
    assert f"Pengantar nomor {number} tersimpan" in html and "Diajukan — menunggu petugas" in html
    assert "Vary" in resp.headers and "HX-Request" in resp.headers["Vary"]


def test_with_the_rw_endorsing_the_request_passes_the_rt_then_the_rw(client, login_as, area):
    area["profile"].rw_endorses = True
    db.session.commit()
    req = area["req"]
    login_as(area["rw"])
    assert req.tracking_number not in client.get("/rt/permohonan").get_data(as_text=True)
    assert client.post(url(req, "/pengantar"), data={}).status_code == 303  # not the RW's turn yet
    assert fresh(req).endorsements == []
    client.post("/logout")
    login_as(area["rt"])
    detail = client.get(url(req)).get_data(as_text=True)
    assert "Beri pengantar RT" in detail and "diteruskan ke ketua RW" in detail
    client.post(url(req, "/pengantar"), data={})
    req = fresh(req)
    assert req.status == S.AWAITING_ENDORSEMENT and [e.level for e in req.endorsements] == ["rt"]
    assert "Pengantar RT sudah diberikan; menunggu pengantar ketua RW." in client.get(url(req)).get_data(as_text=True)
    client.post("/logout")
    login_as(area["rw"])
    queue = client.get("/rt/permohonan").get_data(as_text=True)
    assert req.tracking_number in queue and req.endorsements[0].number in queue
    resp = client.post(url(req, "/pengantar"), data={"note": "Setuju", "version": req.version})
    assert resp.status_code == 303
    req = fresh(req)
    assert req.status == S.SUBMITTED
    rt_e, rw_e = req.endorsements
    assert rt_e.number.startswith("001/RT.003/RW.002/") and re.fullmatch(r"001/RW\.002/[IVX]+/\d{4}", rw_e.number)


def test_return_requires_a_reason_and_sends_the_request_back(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    resp = client.post(url(req, "/kembalikan"), data={"reason": "   ", "version": req.version})
    assert resp.status_code == 422 and "Wajib diisi" in resp.get_data(as_text=True)
    assert fresh(req).status == S.AWAITING_ENDORSEMENT
    htmx = client.post(url(req, "/kembalikan"), data={"reason": ""}, headers=HTMX)
    # one status for a refused form, with or without htmx (issue 14): app.js swaps a 422 answer
    assert htmx.status_code == 422 and "Wajib diisi" in htmx.get_data(as_text=True)
    resp = client.post(url(req, "/kembalikan"), data={"reason": "Foto KK terpotong", "version": req.version})
    assert resp.status_code == 303
    req = fresh(req)
    assert req.status == S.RETURNED and req.events[-1].note == "Foto KK terpotong"
    detail = client.get(url(req)).get_data(as_text=True)
    assert "Dikembalikan RT/RW" in detail and "Foto KK terpotong" in detail
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "request.return_to_resident")).one()


def test_a_stale_page_gets_a_clear_message_and_the_fresh_state(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    old_version = req.version
    client.post(url(req, "/kembalikan"), data={"reason": "Data kurang", "version": old_version})
    # the same head, on a second phone still showing the old page
    resp = client.post(url(req, "/pengantar"), data={"version": old_version}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "baru saja diubah oleh pengguna lain" in html and "Dikembalikan RT/RW" in html
    assert "Beri pengantar" not in html
    htmx = client.post(url(req, "/pengantar"), data={"version": old_version}, headers=HTMX)
    assert htmx.status_code == 200 and "baru saja diubah" in htmx.get_data(as_text=True)
    assert fresh(req).endorsements == [] and db.session.scalars(select(Endorsement)).all() == []


def test_an_already_endorsed_request_explains_itself_instead_of_endorsing_twice(client, login_as, area):
    req = area["req"]
    login_as(area["rt"])
    client.post(url(req, "/pengantar"), data={})
    resp = client.post(url(req, "/pengantar"), data={}, follow_redirects=True)  # a double tap, no version
    assert "tidak dapat diberi pengantar" in resp.get_data(as_text=True)
    assert len(fresh(req).endorsements) == 1


@pytest.mark.parametrize("who", ["other_rt", "other_rw"])
def test_heads_of_another_area_get_404_everywhere(client, login_as, area, who):
    req = area["req"]
    login_as(area[who])
    assert client.get(url(req)).status_code == 404
    assert client.post(url(req, "/pengantar"), data={}).status_code == 404
    assert client.post(url(req, "/kembalikan"), data={"reason": "x"}).status_code == 404
    assert req.tracking_number not in client.get("/rt/permohonan").get_data(as_text=True)
    assert fresh(req).status == S.AWAITING_ENDORSEMENT
    assert client.get("/rt/permohonan/JGL-2026-999999").status_code == 404


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.STAFF, Role.ASSISTANT, Role.ADMIN])
def test_residents_and_staff_cannot_use_the_rt_pages(client, factory, login_as, area, role):
    req = area["req"]
    user = area["warga"] if role == Role.RESIDENT else factory.user_for_role(role)
    login_as(user)
    for page in ("/rt/permohonan", url(req)):
        assert client.get(page).status_code == 403
    assert client.post(url(req, "/pengantar"), data={}).status_code == 403
    assert fresh(req).status == S.AWAITING_ENDORSEMENT


def test_the_endorse_form_carries_csrf(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        warga = factory.warga(rt="003", rw="002")
        head = factory.staff(Role.RT_HEAD, "rtcsrf", rt="003", rw="002")
        req = submit(warga)
        db.session.commit()
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"identifier": head.username, "password": "rahasia-123",
                                    "csrf_token": csrf_from(login_page)})
        assert client.post(url(req, "/pengantar"), data={}).status_code == 400
        token = csrf_from(client.get(url(req)).get_data(as_text=True))
        assert client.post(url(req, "/pengantar"), data={"csrf_token": token}).status_code == 303
        assert fresh(req).status == S.SUBMITTED


def test_admin_sets_that_the_rw_endorses_too_and_it_is_audited(client, factory, login_as):
    from sempelmas.services.kelurahan.demo import seed_profile

    seed_profile()
    db.session.commit()
    login_as(factory.staff(Role.ADMIN, "adm"))
    assert "RW juga memberi pengantar" in client.get("/admin/profil").get_data(as_text=True)
    assert client.post("/admin/profil", data={**PROFILE, "rw_endorses": "y"}).status_code == 303
    profile = db.session.scalar(select(KelurahanProfile))
    assert profile.rw_endorses is True
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.update")).one()
    assert entry.details["changes"]["rw_endorses"] == [False, True]
    form = client.get("/admin/profil").get_data(as_text=True)
    assert re.search(r'<input [^>]*checked[^>]*name="rw_endorses"', form)
    client.post("/admin/profil", data=PROFILE)  # unticked
    db.session.expire_all()
    assert db.session.scalar(select(KelurahanProfile)).rw_endorses is False
