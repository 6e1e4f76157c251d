"""Complaint screens: the public form and tracking page, the resident's own complaints, the staff queue."""

import gc
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.complaints import Complaint
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.services.accountability import complaints
from tests.conftest import csrf_from, jpeg_bytes
from tests.request_factory import make_profile, make_service, submit

FORM = {"name": "Budi Santoso", "phone": "0812-3456-7890", "email": "", "category": "pelayanan",
        "subject": "Antrean terlalu lama", "body": "Saya menunggu dua jam di loket tanpa nomor antrean."}


def _key(client, url="/pengaduan"):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'id="kunci" name="kunci" type="hidden" value="([^"]+)"', html).group(1)


def _post(client, url="/pengaduan", photo=None, **changes):
    data = {**FORM, "kunci": changes.pop("kunci", None) or _key(client, url), **changes}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo[1]), photo[0])
    return client.post(url, data=data, content_type="multipart/form-data")


def _complaints():
    return db.session.scalars(select(Complaint).order_by(Complaint.id)).all()


def _stored_photos(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "complaints"
    return sorted(folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ public form


def test_the_public_files_a_complaint_and_gets_a_tracking_code(client):
    resp = _post(client)
    assert resp.status_code == 303
    [c] = _complaints()
    assert resp.location == f"/pengaduan/{c.code}?baru=1"
    assert c.phone == "+6281234567890" and c.user_id is None and c.status == "baru"
    page = client.get(resp.location).get_data(as_text=True)
    assert "Pengaduan terkirim" in page and f'id="tracking-code">{c.code}<' in page
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "complaint.file")).all()
    assert entry.ip == "127.0.0.1" and entry.details["public"] is True


def test_the_tracking_page_masks_personal_data_and_shows_answers(client, factory):
    _post(client, email="budi.santoso@gmail.com")
    [c] = _complaints()
    complaints.answer(c, factory.staff(Role.STAFF), "Mulai besok ada nomor antrean.", "close")
    db.session.commit()
    page = client.get(f"/pengaduan/{c.code}").get_data(as_text=True)
    assert "Budi Santoso" not in page and "B*** S******" in page
    assert "6281234567890" not in page and "+6281" in page and "budi.santoso@" not in page
    assert "Mulai besok ada nomor antrean." in page and "Selesai" in page
    assert c.body not in page  # what was written stays between the complainant and the office


def test_codes_are_found_however_they_are_typed_and_unknown_ones_are_404(client):
    _post(client)
    [c] = _complaints()
    resp = client.get(f"/pengaduan/{c.code.lower().replace('-', '')}")
    assert resp.status_code == 301 and resp.location == f"/pengaduan/{c.code}"
    assert client.get("/pengaduan/ABCD-EFGH-JKMN").status_code == 404
    assert client.get("/pengaduan/lacak", query_string={"kode": c.code.lower()}).location == f"/pengaduan/{c.code}"
    missing = client.get("/pengaduan/lacak", query_string={"kode": "ZZZZ-ZZZZ-ZZZZ"})
    assert missing.status_code == 404 and "tidak ditemukan" in missing.get_data(as_text=True)


def test_contact_details_are_required_and_what_was_typed_is_kept(client):
    resp = _post(client, phone="", email="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Isi nomor HP atau alamat e-mail agar jawaban dapat kami sampaikan." in html
    assert FORM["body"] in html and 'value="Antrean terlalu lama"' in html
    resp = _post(client, phone="12345", name="")
    html = resp.get_data(as_text=True)
    assert "Nomor HP" in html and "Wajib diisi." in html
    assert _complaints() == []


@pytest.mark.parametrize(("photo", "message"), [
    (("bukti.jpg", b"MZ\x90\x00 bukan foto sama sekali" * 20), "Berkas bukan foto yang valid"),
    (("bukti.jpg", b"GIF89a" + b"\x00" * 200), "Berkas bukan foto yang valid"),
])
def test_a_disguised_photo_is_refused_by_name_and_the_rest_of_the_form_is_kept(client, app, photo, message):
    resp = _post(client, photo=photo)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Foto bukti.jpg ditolak" in html and message in html and "Isian lain tetap tersimpan" in html
    assert FORM["body"] in html and 'value="Budi Santoso"' in html
    assert _complaints() == [] and _stored_photos(app) == []


# a body over 500 kB is spooled by Werkzeug's test client to a temporary file it never closes; collect it here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_oversized_photo_is_refused_with_the_limit(client, app):
    app.config["UPLOAD_MAX_BYTES"] = 2 * 1024 * 1024
    big = Image.effect_noise((1800, 1800), 100).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "PNG")
    assert len(buf.getvalue()) > 2 * 1024 * 1024
    resp = _post(client, photo=("besar.png", buf.getvalue()))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Foto besar.png ditolak: Berkas terlalu besar (maksimal 2 MB)." in html
    assert _complaints() == []
    del resp
    gc.collect()


def test_a_png_that_decodes_to_353_mb_is_refused_undecoded_and_the_rest_of_the_form_is_kept(client, app):
    """Anonymous: 343 KB that would take a worker to ~950 MB. Refused from the header, by name."""
    from tests.hostile_files import png_bomb

    resp = _post(client, photo=("bukti.png", png_bomb()))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Foto bukti.png ditolak: Gambar terlalu besar untuk diproses: 9400 × 9400 piksel." in html
    assert "Isian lain tetap tersimpan" in html and FORM["body"] in html and 'value="Budi Santoso"' in html
    assert _complaints() == [] and _stored_photos(app) == []


def test_an_mpo_photo_from_a_phone_is_accepted(client, app):
    from tests.hostile_files import mpo_photo

    resp = _post(client, photo=("IMG_0002.JPG", mpo_photo()))
    assert resp.status_code == 303
    [c] = _complaints()
    [path] = _stored_photos(app)
    with Image.open(path) as img:
        assert path.name == c.photo and img.format == "JPEG" and img.size == (1600, 1200)


def test_a_photo_is_stored_reencoded_without_its_location(client, app):
    resp = _post(client, photo=("kamera.jpg", jpeg_bytes(exif_gps=True)))
    assert resp.status_code == 303
    [c] = _complaints()
    [path] = _stored_photos(app)
    assert path.name == c.photo
    with Image.open(path) as img:
        assert img.format == "JPEG" and not img.getexif().get(0x8825)
    # the public page says a photo is attached but never shows it
    page = client.get(f"/pengaduan/{c.code}").get_data(as_text=True)
    assert "Terlampir" in page and c.photo not in page


def test_sending_the_same_form_twice_files_one_complaint(client, app):
    key = _key(client)
    first = _post(client, kunci=key, photo=("a.jpg", jpeg_bytes()))
    second = _post(client, kunci=key, photo=("a.jpg", jpeg_bytes()))
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    assert len(_complaints()) == 1 and len(_stored_photos(app)) == 1


def _audit_fails_for_the_filing(monkeypatch):
    real_record = complaints.audit.record

    def record(action, *args, **kwargs):
        if action == "complaint.file":  # after the complaint's own insert (its savepoint released)
            raise RuntimeError("log audit tidak dapat ditulis")
        return real_record(action, *args, **kwargs)

    monkeypatch.setattr(complaints.audit, "record", record)


def test_a_filing_that_fails_after_it_is_stored_leaves_no_complaint(client, app, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the real 500 page and its rollback
    _audit_fails_for_the_filing(monkeypatch)
    key = _key(client)
    resp = _post(client, kunci=key)
    assert resp.status_code == 500 and "Tidak ada data yang tersimpan setengah jadi" in resp.get_data(as_text=True)
    monkeypatch.undo()
    db.session.expire_all()
    assert _complaints() == []
    # sent again once the fault is gone, the same form files its complaint, audited
    assert _post(client, kunci=key).status_code == 303
    [c] = _complaints()
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "complaint.file")).one().object_id \
        == str(c.id)


def test_a_filing_that_fails_keeps_no_photo_file(client, app, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _audit_fails_for_the_filing(monkeypatch)
    key = _key(client)
    assert _post(client, kunci=key, photo=("bukti.jpg", jpeg_bytes())).status_code == 500
    monkeypatch.undo()
    db.session.expire_all()
    assert _complaints() == [] and _stored_photos(app) == []
    assert _post(client, kunci=key, photo=("bukti.jpg", jpeg_bytes())).status_code == 303
    [c] = _complaints()
    assert _stored_photos(app) == [Path(app.config["UPLOAD_DIR"]) / "complaints" / c.photo]


def test_filings_are_throttled_per_client(make_app):
    app = make_app(COMPLAINT_RATE_LIMIT="2 per hour")
    with app.app_context():
        client = app.test_client()
        assert _post(client).status_code == 303
        assert _post(client).status_code == 303
        resp = _post(client)
        assert resp.status_code == 429 and "Terlalu banyak" in resp.get_data(as_text=True)
        assert len(_complaints()) == 2
        assert client.get("/pengaduan").status_code == 200  # reading the form is not throttled


def test_the_public_form_needs_its_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        html = client.get("/pengaduan").get_data(as_text=True)
        key = re.search(r'name="kunci" type="hidden" value="([^"]+)"', html).group(1)
        assert client.post("/pengaduan", data={**FORM, "kunci": key}).status_code == 400
        assert _complaints() == []
        resp = client.post("/pengaduan", data={**FORM, "kunci": key, "csrf_token": csrf_from(html)})
        assert resp.status_code == 303 and len(_complaints()) == 1


# ------------------------------------------------------------------ residents


@pytest.fixture
def family(app, factory):
    make_profile()
    make_service()
    owner = factory.warga(name="SITI AMINAH", female=True, phone="+6281398765432")
    stranger = factory.warga(name="ORANG LAIN")
    own_req, other_req = submit(owner), submit(stranger)
    db.session.commit()
    return owner, stranger, own_req.tracking_number, other_req.tracking_number


def test_the_request_page_links_to_a_complaint_about_it(client, login_as, family):
    owner, _s, own, _o = family
    html = login_as(owner).get(f"/warga/permohonan/{own}").get_data(as_text=True)
    assert f'href="/warga/pengaduan/baru?permohonan={own}"' in html
    assert "Ajukan pengaduan tentang permohonan ini" in html


def test_a_resident_files_from_their_page_prefilled_about_their_own_request(client, login_as, family):
    owner, _s, own, _o = family
    login_as(owner)
    html = client.get(f"/warga/pengaduan/baru?permohonan={own}").get_data(as_text=True)
    assert 'value="Siti Aminah"' in html and 'value="+6281398765432"' in html
    assert f'<option selected value="{own}">' in html
    resp = _post(client, "/warga/pengaduan/baru", name="Siti Aminah", phone="+6281398765432", request=own)
    [c] = _complaints()
    assert resp.status_code == 303 and resp.location == f"/warga/pengaduan/{c.code}"
    assert c.user_id == owner.id and c.request.tracking_number == own
    listing = client.get("/warga/pengaduan").get_data(as_text=True)
    assert c.code in listing and "Antrean terlalu lama" in listing
    detail = client.get(resp.location).get_data(as_text=True)
    assert own in detail and FORM["body"] in detail


def test_another_residents_request_or_complaint_is_404(client, login_as, family, factory):
    owner, stranger, _own, other = family
    login_as(owner)
    assert client.get(f"/warga/pengaduan/baru?permohonan={other}").status_code == 404
    assert _post(client, "/warga/pengaduan/baru", request=other).status_code == 404
    assert _complaints() == []
    client.post("/logout")
    login_as(stranger)
    _post(client, "/warga/pengaduan/baru", photo=("f.jpg", jpeg_bytes()))
    [theirs] = _complaints()
    client.post("/logout")
    login_as(owner)
    assert client.get(f"/warga/pengaduan/{theirs.code}").status_code == 404
    assert client.get(f"/warga/pengaduan/{theirs.code}/foto").status_code == 404
    assert theirs.code not in client.get("/warga/pengaduan").get_data(as_text=True)
    client.post("/logout")
    login_as(stranger)
    resp = client.get(f"/warga/pengaduan/{theirs.code}/foto")
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"


# ------------------------------------------------------------------ staff


def _filed(client, n=1, **changes):
    for i in range(n):
        _post(client, subject=f"Keluhan nomor {i + 1}", **changes)
    return _complaints()


def test_the_queue_filters_by_status(client, factory, login_as):
    first, second, third = _filed(client, 3)
    staff = factory.staff(Role.STAFF)
    complaints.answer(second, staff, None, "process")
    complaints.answer(third, staff, "Selesai.", "close")
    db.session.commit()
    login_as(staff)

    def shown(status):
        html = client.get("/petugas/pengaduan", query_string={"status": status}).get_data(as_text=True)
        return {c.code for c in (first, second, third) if c.code in html}

    assert shown("baru") == {first.code}
    assert shown("diproses") == {second.code}
    assert shown("selesai") == {third.code}
    assert shown("") == {first.code, second.code, third.code}
    fragment = client.get("/petugas/pengaduan?status=baru", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="complaint-list">') and first.code in fragment


def test_staff_answer_and_the_resident_is_notified(client, factory, login_as, family, app):
    app.config.update(MAIL_SERVER=None, NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim")
    owner, _s, own, _o = family
    login_as(owner)
    _post(client, "/warga/pengaduan/baru", name="Siti Aminah", phone="+6281398765432", request=own)
    [c] = _complaints()
    client.post("/logout")
    staff = factory.staff(Role.STAFF)
    login_as(staff)
    resp = client.post(f"/petugas/pengaduan/{c.id}/jawab",
                       data={"text": "Permohonan Anda kami prioritaskan.", "action": "process"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert c.status == "diproses"
    [bell] = db.session.scalars(select(Notification).where(Notification.user_id == owner.id,
                                                           Notification.kind == "complaint.answer")).all()
    assert "Permohonan Anda kami prioritaskan." in bell.message and bell.url == f"/warga/pengaduan/{c.code}"
    [msg] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.notification_id == bell.id)).all()
    assert msg.channel == "gateway" and msg.recipient == "+6281398765432"
    client.post("/logout")
    login_as(owner)
    html = client.get(f"/warga/pengaduan/{c.code}").get_data(as_text=True)
    assert "Permohonan Anda kami prioritaskan." in html and "Diproses" in html


def test_a_bad_answer_is_refused_with_its_reason_and_nothing_saved(client, factory, login_as):
    [c] = _filed(client)
    login_as(factory.staff(Role.ADMIN))
    resp = client.post(f"/petugas/pengaduan/{c.id}/jawab", data={"text": "", "action": "close"})
    assert resp.status_code == 422
    assert "Tulis jawaban untuk pengadu sebelum menandai pengaduan selesai." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert c.status == "baru" and len(c.events) == 1
    client.post(f"/petugas/pengaduan/{c.id}/jawab", data={"text": "Sudah beres.", "action": "close"})
    resp = client.post(f"/petugas/pengaduan/{c.id}/jawab", data={"text": "Tambahan", "action": ""})
    assert resp.status_code == 422 and "sudah selesai" in resp.get_data(as_text=True)
    page = client.get(f"/petugas/pengaduan/{c.id}").get_data(as_text=True)
    assert "Jawab pengaduan" not in page  # nothing more to answer


def test_staff_see_the_photo_and_every_view_is_audited(client, factory, login_as):
    [c] = _filed(client, photo=("bukti.jpg", jpeg_bytes()))
    signer = factory.staff(Role.SIGNER)
    login_as(signer)
    page = client.get(f"/petugas/pengaduan/{c.id}").get_data(as_text=True)
    assert f"/petugas/pengaduan/{c.id}/foto" in page and "Budi Santoso" in page and "+6281234567890" in page
    assert "Jawab pengaduan" not in page  # read-only for signers
    resp = client.get(f"/petugas/pengaduan/{c.id}/foto")
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert "no-store" in resp.headers["Cache-Control"] and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post(f"/petugas/pengaduan/{c.id}/jawab", data={"text": "x"}).status_code == 403
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "complaint.photo_view")).all()
    assert entry.actor_id == signer.id and entry.object_id == str(c.id)


def test_unknown_complaints_are_404(client, factory, login_as):
    login_as(factory.staff(Role.STAFF))
    assert client.get("/petugas/pengaduan/999999").status_code == 404
    assert client.post("/petugas/pengaduan/999999/jawab", data={"text": "x"}).status_code == 404


def test_a_complaint_without_photo_has_no_photo_url(client, factory, login_as):
    [c] = _filed(client)
    login_as(factory.staff(Role.STAFF))
    resp = client.get(f"/petugas/pengaduan/{c.id}/foto")
    assert resp.status_code == 404
