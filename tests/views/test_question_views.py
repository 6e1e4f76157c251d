"""Questions on a request, as the resident, the pendamping and staff use them: asking with and without htmx,
the same form twice, a hostile photo refused with the text kept, photos served only inside the thread, unread
badges, a question turned into a fix, CSRF; and the office's phone, WhatsApp and the letter's share link."""

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.notifications import Notification
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import RequestStatus
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import lifecycle, questions
from tests.conftest import PASSWORD, csrf_from, jpeg_bytes
from tests.hostile_files import png_bomb
from tests.letter_fixtures import make_letter
from tests.request_factory import make_profile, make_service, submit

TEXT = "Apakah fotokopi KK harus dilegalisir kelurahan?"


@pytest.fixture
def desk(factory):
    make_profile()
    make_service(needs_rt=False)
    applicant = factory.warga(name="SITI AMINAH", female=True)
    req = submit(applicant)
    db.session.commit()
    return {"applicant": applicant, "req": req, "tn": req.tracking_number, "staff": factory.staff(Role.STAFF, "loket")}


def _url(desk, side="warga"):
    return f"/{side}/permohonan/{desk['tn']}/tanya"


def _key(client, url) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'id="kunci" name="kunci" type="hidden" value="([^"]+)"', html).group(1)


def _post(client, url, text=TEXT, photo=None, key=None, **headers):
    data = {"text": text, "kunci": key or _key(client, url)}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo[1]), photo[0])
    return client.post(url, data=data, content_type="multipart/form-data", headers=headers)


def _get(client, url):
    """A GET whose body is read and whose file is closed (photos are streamed from disk)."""
    resp = client.get(url)
    resp.get_data()
    resp.close()
    return resp


def _messages():
    return db.session.scalars(select(RequestMessage).order_by(RequestMessage.id)).all()


def _photos(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "questions"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_resident_asks_without_javascript_and_staff_answer(client, login_as, desk):
    login_as(desk["applicant"])
    page = client.get(f"/warga/permohonan/{desk['tn']}").get_data(as_text=True)
    assert 'id="ask-link"' in page and _url(desk) in page  # the request page leads to the thread
    resp = _post(client, _url(desk))
    [m] = _messages()
    assert resp.status_code == 303 and resp.location == f"{_url(desk)}#pesan-{m.id}"
    assert m.side == MessageSide.RESIDENT and m.author_id == desk["applicant"].id and m.text == TEXT
    assert TEXT in client.get(resp.location).get_data(as_text=True)
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == desk["staff"].id)).all()
    assert note.kind == "question.new"

    client.post("/logout")
    login_as(desk["staff"])
    queue = client.get("/petugas/permohonan").get_data(as_text=True)
    assert "1 pertanyaan baru" in queue and "1 pertanyaan warga belum dibaca" in queue
    assert "1 belum dibaca" in client.get(f"/petugas/permohonan/{desk['tn']}").get_data(as_text=True)
    thread = client.get(_url(desk, "petugas")).get_data(as_text=True)
    assert TEXT in thread and "baru" in thread
    assert questions.office_unread_total() == 0  # opened: read for the office
    assert _post(client, _url(desk, "petugas"), "Tidak perlu, fotokopi biasa.").status_code == 303

    client.post("/logout")
    login_as(desk["applicant"])
    home = client.get("/warga/").get_data(as_text=True)
    assert 'id="unread-answers"' in home and desk["tn"] in home and "1 jawaban baru" in home
    assert 'id="ask-unread"' in client.get(f"/warga/permohonan/{desk['tn']}").get_data(as_text=True)
    assert "Tidak perlu, fotokopi biasa." in client.get(_url(desk)).get_data(as_text=True)
    assert 'id="unread-answers"' not in client.get("/warga/").get_data(as_text=True)


def test_htmx_posts_in_place_and_polls_only_the_messages(client, login_as, desk):
    login_as(desk["applicant"])
    key = _key(client, _url(desk))
    resp = _post(client, _url(desk), key=key, **{"HX-Request": "true"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body and TEXT in body
    assert 'id="ask"' in body and key not in body  # a fresh form with a new key
    assert resp.headers["HX-Trigger"] == "notifications-changed" and "HX-Request" in resp.headers["Vary"]
    polled = client.get(_url(desk), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert TEXT in polled and 'id="ask"' not in polled  # what is being typed is never replaced


def test_the_same_message_sent_twice_is_stored_once(client, login_as, desk):
    login_as(desk["applicant"])
    key = _key(client, _url(desk))
    first = _post(client, _url(desk), key=key, photo=("a.jpg", jpeg_bytes()))
    second = _post(client, _url(desk), key=key, photo=("a.jpg", jpeg_bytes()))
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert len(_messages()) == 1


@pytest.mark.parametrize("hostile", [("surat.jpg", b"<html><script>alert(1)</script></html>"),
                                     ("bom.png", png_bomb())], ids=["not-a-photo", "decompression-bomb"])
def test_a_hostile_photo_is_refused_and_the_text_is_kept(app, client, login_as, desk, hostile):
    login_as(desk["applicant"])
    resp = _post(client, _url(desk), photo=hostile)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f"Foto {hostile[0]} ditolak" in page and "Isian lain tetap tersimpan" in page
    assert TEXT in page  # the question is still in the box
    assert _messages() == [] and _photos(app) == []


def test_a_photo_is_served_only_to_those_in_the_thread(app, client, login_as, factory, desk):
    login_as(desk["applicant"])
    _post(client, _url(desk), photo=("ktp.jpg", jpeg_bytes(exif_gps=True)))
    [m] = _messages()
    assert m.photo and len(_photos(app)) == 1
    own = _get(client, f"{_url(desk)}/{m.id}/foto")
    assert own.status_code == 200 and own.mimetype == "image/jpeg"
    assert own.headers["Cache-Control"] == "private, no-store" and "sandbox" in own.headers["Content-Security-Policy"]
    assert b"KameraUji" not in own.data  # re-encoded: the camera's metadata is gone
    other_req = submit(factory.warga(name="ORANG LAIN"))
    db.session.commit()
    assert client.get(f"/warga/permohonan/{other_req.tracking_number}/tanya/{m.id}/foto").status_code == 404

    client.post("/logout")
    login_as(factory.warga(name="TETANGGA"))
    assert client.get(f"{_url(desk)}/{m.id}/foto").status_code == 404
    assert client.get(_url(desk)).status_code == 404
    assert _post(client, _url(desk), key="k" * 32).status_code == 404

    client.post("/logout")
    login_as(factory.staff(Role.RT_HEAD, rt="001", rw="001"))
    assert client.get(f"/petugas/permohonan/{desk['tn']}/tanya/{m.id}/foto").status_code == 403

    client.post("/logout")
    login_as(desk["staff"])
    assert _get(client, f"/petugas/permohonan/{desk['tn']}/tanya/{m.id}/foto").status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.photo_view"))
    assert entry.actor_id == desk["staff"].id and entry.details["message"] == m.id


def test_a_pendamping_asks_for_the_resident_they_assist(client, login_as, factory, desk):
    helper = factory.staff(Role.ASSISTANT, "pendamping-v")
    desk["applicant"].assisted_by_id = helper.id
    db.session.commit()
    login_as(helper)
    assert client.get(_url(desk)).status_code == 404  # not acting for anyone yet
    assert client.post(f"/warga/pendamping/{desk['applicant'].id}/bertindak").status_code == 303
    assert _post(client, _url(desk)).status_code == 303
    [m] = _messages()
    assert m.author_id == helper.id and m.on_behalf_of_id == desk["applicant"].id
    assert "ditulis pendamping" in client.get(_url(desk)).get_data(as_text=True)


def test_staff_turn_a_question_into_a_fix_with_its_text_prefilled(client, login_as, desk):
    login_as(desk["applicant"])
    _post(client, _url(desk), "Keperluan saya salah, seharusnya untuk beasiswa.")
    [m] = _messages()
    client.post("/logout")
    login_as(desk["staff"])
    thread = client.get(_url(desk, "petugas")).get_data(as_text=True)
    fix_url = f"/petugas/permohonan/{desk['tn']}/tanya/{m.id}/perbaikan"
    assert fix_url in thread
    form = client.get(fix_url).get_data(as_text=True)
    prefilled = re.search(r'<textarea[^>]*name="perbaikan-reason"[^>]*>\s*([^<]*)</textarea>', form).group(1)
    assert prefilled == "Keperluan saya salah, seharusnya untuk beasiswa."
    refused = client.post(fix_url, data={"perbaikan-reason": m.text, "perbaikan-version": desk["req"].version})
    assert refused.status_code == 422 and "Pilih minimal satu isian atau berkas" in refused.get_data(as_text=True)
    resp = client.post(fix_url, data={"perbaikan-reason": m.text, "perbaikan-version": desk["req"].version,
                                      "perbaikan-fields": "keperluan"})
    assert resp.status_code == 303 and resp.location == f"/petugas/permohonan/{desk['tn']}"
    db.session.refresh(desk["req"])
    assert desk["req"].status == RequestStatus.NEEDS_FIX and desk["req"].fix_request["reason"] == m.text
    assert client.get(fix_url).status_code == 404  # once
    assert "Dijadikan permintaan perbaikan" in client.get(_url(desk, "petugas")).get_data(as_text=True)


def test_a_request_closed_long_ago_shows_the_thread_but_takes_no_question(client, login_as, app, desk):
    login_as(desk["applicant"])
    _post(client, _url(desk))
    lifecycle.transition(desk["req"], "cancel", actor=desk["applicant"])
    db.session.commit()
    assert 'id="open-until"' in client.get(_url(desk)).get_data(as_text=True)
    app.config["QUESTION_DAYS_AFTER_CLOSE"] = 0
    page = client.get(_url(desk)).get_data(as_text=True)
    assert TEXT in page and 'id="thread-closed"' in page and 'name="text"' not in page
    refused = _post(client, _url(desk), "Masih bisa?", key="x" * 32)
    assert refused.status_code == 422 and "sudah lama selesai" in refused.get_data(as_text=True)
    assert len(_messages()) == 1


def test_posting_without_the_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from tests.conftest import Factory

        make_profile()
        make_service(needs_rt=False)
        applicant = Factory().warga()
        tn = submit(applicant).tracking_number
        db.session.commit()
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"identifier": applicant.nik, "password": PASSWORD, "csrf_token": token})
        url = f"/warga/permohonan/{tn}/tanya"
        page = client.get(url).get_data(as_text=True)
        assert client.post(url, data={"text": TEXT, "kunci": "k" * 32}).status_code == 400
        assert db.session.scalars(select(RequestMessage)).all() == []
        ok = client.post(url, data={"text": TEXT, "kunci": "k" * 32, "csrf_token": csrf_from(page)})
        assert ok.status_code == 303
        htmx = client.post(url, data={"text": "lewat htmx", "kunci": "j" * 32},
                           headers={"X-CSRFToken": csrf_from(page), "HX-Request": "true"})
        assert htmx.status_code == 200


# ------------------------------------------------------------------ reaching the office, sharing a letter


def _profile_numbers(phone="(0321) 495123", whatsapp="+6281234500000"):
    profile = db.session.scalar(select(KelurahanProfile))
    profile.phone, profile.whatsapp = phone, whatsapp
    db.session.commit()
    profile_service.forget_cached_profile()


def test_the_offices_phone_and_whatsapp_are_links_on_the_residents_pages(client, login_as, desk):
    _profile_numbers()
    login_as(desk["applicant"])
    for url in ("/warga/", f"/warga/permohonan/{desk['tn']}", _url(desk), "/bantuan"):
        page = client.get(url).get_data(as_text=True)
        assert 'href="tel:+62321495123"' in page, url
        assert 'href="https://wa.me/6281234500000"' in page, url
    _profile_numbers(whatsapp=None)
    page = client.get("/warga/").get_data(as_text=True)
    assert "tel:+62321495123" in page and "wa.me" not in page


def test_the_help_page_is_open_to_everyone(client, desk):
    _profile_numbers()
    page = client.get("/bantuan").get_data(as_text=True)
    assert "Bantuan" in page and "wa.me/6281234500000" in page and "Jl. Pemuda 2" in page


def test_the_admin_sets_the_offices_whatsapp_number(client, login_as, factory, desk):
    from tests.views.test_admin_views import PROFILE

    login_as(factory.staff(Role.ADMIN, "admin-wa"))
    resp = client.post("/admin/profil", data={**PROFILE, "whatsapp": "0812 3450 0000"})
    assert resp.status_code in (302, 303)
    assert db.session.scalar(select(KelurahanProfile)).whatsapp == "+6281234500000"
    bad = client.post("/admin/profil", data={**PROFILE, "whatsapp": "kantor"})
    assert bad.status_code == 422 and "Nomor HP" in bad.get_data(as_text=True)


def test_a_letters_verification_link_is_shared_with_its_title_and_number_only(client, login_as, desk):
    letter = make_letter(desk["req"], desk["applicant"], pdf=b"%PDF-1.4 uji")
    login_as(desk["applicant"])
    page = client.get(f"/warga/permohonan/{desk['tn']}").get_data(as_text=True)
    share = re.search(r'<div class="share" id="letter-share">.*?</div>', page, re.S).group(0)
    assert f"/v/{letter.verify_code}" in share and 'id="share-url"' in share and "readonly" in share
    assert f'data-share-title="Surat domisili nomor {letter.number}"' in share
    assert "js/share.js" in share and "hidden" in share  # the button appears only with JavaScript
    for private in ("SITI", "Siti", desk["applicant"].nik, desk["tn"]):
        assert private not in share
