"""Public verification /v/<code>, the uploaded-PDF check, revocation, the register and the downloads."""

from __future__ import annotations

import re

import flask
import pytest

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.kelurahan.profile import forget_cached_profile
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import store as letter_store
from tests.conftest import csrf_from
from tests.hostile_files import pdf_saved_again, pdf_with_empty_updates, pdf_with_inflating_update, pdf_with_junk
from tests.letter_fixtures import install_test_ca, issue_letter, make_letter, signed_pdf, unsigned_pdf
from tests.request_factory import make_profile, make_service, submit

NIK = "3576034101900001"


@pytest.fixture
def world(app, factory):
    make_profile()
    make_service()
    return issue_letter(app, factory, factory.warga(nik=NIK, name="BUDI SANTOSO"))


def page(client, letter) -> tuple[int, str]:
    resp = client.get(f"/v/{letter.verify_code}")
    return resp.status_code, resp.get_data(as_text=True)


# --------------------------------------------------------------------------- the page

def test_valid_letter_page_shows_the_facts_masked(client, world):
    letter = world["letter"]
    status, html = page(client, letter)
    assert status == 200
    assert 'id="verdict">SAH<' in html
    assert "Surat Keterangan Domisili" in html and letter.number in html
    assert "4 Maret 2026 10.15 WIB" in html  # 03:15 UTC in the profile's time zone, in Indonesian
    assert "Drs. SUGENG RAHARJO" in html and "Lurah Jagalan" in html
    assert "B*** S******" in html and "BUDI SANTOSO" not in html
    assert "3576••••••••0001" in html and NIK not in html
    assert letter.pdf_sha256 in html
    assert 'href="/ca-kelurahan.pem"' in html
    assert "Dipindai" not in html and "scan" not in html.lower()  # the scan count is for staff only


def _forget_language() -> None:
    """The fixture's app context (and its g) spans the requests: drop the language chosen so far."""
    import flask_babel

    for name in ("lang", "_translations"):
        flask.g.pop(name, None)
    flask_babel.refresh()


def test_dates_follow_the_chosen_language(client, world, login_as):
    """Indonesian writes 10.15 and Maret; English 10:15 and March, on the public page and the staff register."""
    letter = world["letter"]
    assert "4 Maret 2026 10.15 WIB" in page(client, letter)[1]
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    _forget_language()
    html = page(client, letter)[1]
    assert "4 March 2026 10:15 WIB" in html and "10.15" not in html
    login_as(world["signer"])
    client.post("/bahasa", data={"lang": "en", "next": "/"})
    _forget_language()
    assert "4 March 2026 10:15 WIB" in client.get(f"/petugas/surat/{letter.id}").get_data(as_text=True)


def test_page_keeps_what_the_letter_printed_after_the_register_and_officials_change(client, world):
    """A new lurah and a corrected name in the register must not rewrite an issued letter's page."""
    from sempelmas.services.kelurahan import profile as profile_service

    profile_service.save_official(world["official"], {
        "name": "Hj. SITI AMINAH, S.H.", "position": "lurah", "position_title": "Lurah Jagalan Baru",
        "rank": None, "nip": None, "user_id": world["signer"].id, "sort_order": 0, "active": True})
    world["request"].subject.full_name = "BUDIMAN SANTOSA"
    db.session.commit()
    status, html = page(client, world["letter"])
    assert status == 200
    assert "Drs. SUGENG RAHARJO" in html and "Lurah Jagalan Baru" not in html and "SITI AMINAH" not in html
    assert "B*** S******" in html and "B****** S*******" not in html


def test_codes_are_random_and_long(app):
    codes = {letter_store.new_verify_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", code)  # 20 URL-safe chars = 120 bits
        assert len(code) * 6 >= 80
    ints = sorted(int.from_bytes(code.encode()) for code in list(codes)[:10])
    assert all(b - a > 1 for a, b in zip(ints, ints[1:], strict=False))


def test_unknown_code_is_the_ordinary_404_page(client, world):
    unknown = client.get("/v/AAAAAAAAAAAAAAAAAAAA")
    elsewhere = client.get("/tidak-ada-halaman-ini")
    assert unknown.status_code == elsewhere.status_code == 404
    assert unknown.get_data(as_text=True).replace("/v/AAAAAAAAAAAAAAAAAAAA", "/tidak-ada-halaman-ini") == \
        elsewhere.get_data(as_text=True)  # the same page but for the language switch's return address
    assert client.get("/v/" + "x" * 60).status_code == 404


def test_no_session_cookie_and_no_caching_for_anonymous_visitors(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        make_profile()
        make_service()
        req = submit(factory.warga())
        letter = make_letter(req, factory.staff(Role.SIGNER, "ttd"))
        resp = client.get(f"/v/{letter.verify_code}")
        assert resp.status_code == 200
        assert "Set-Cookie" not in resp.headers
        assert resp.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_scans_are_counted_for_staff(client, world):
    letter = world["letter"]
    for _ in range(3):
        client.get(f"/v/{letter.verify_code}")
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).scan_count == 3


def test_scans_are_counted_in_memory_and_flushed_in_one_update(app, client, world):
    letter = world["letter"]
    app.config.update(VERIFY_SCAN_FLUSH_SECONDS=3600, VERIFY_SCAN_FLUSH_HITS=5)
    for _ in range(4):
        client.get(f"/v/{letter.verify_code}")
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).scan_count == 0  # not yet written
    client.get(f"/v/{letter.verify_code}")
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).scan_count == 5
    client.get(f"/v/{letter.verify_code}")
    letters.flush_scans()
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).scan_count == 6


def test_revoked_letter_shows_date_and_reason(client, world):
    letter, signer = world["letter"], world["signer"]
    letters.revoke(letter, signer, "Data alamat keliru")
    db.session.commit()
    status, html = page(client, letter)
    assert status == 200
    assert 'id="verdict">DICABUT<' in html and "SAH<" not in html
    assert "Data alamat keliru" in html
    assert re.search(r"dicabut pada \d+ \w+ 20\d\d \d\d\.\d\d WIB", html)


def test_replaced_letter_links_to_the_new_one(client, world):
    old = world["letter"]
    new = make_letter(world["request"], world["signer"], official=world["official"])
    letters.mark_replaced(old, new, world["signer"])
    db.session.commit()
    status, html = page(client, old)
    assert 'id="verdict">DIGANTI<' in html
    assert f'href="/v/{new.verify_code}"' in html
    _s, new_html = page(client, new)
    assert 'id="verdict">SAH<' in new_html
    assert db.session.get(Letter, new.id).replaces_id == old.id
    assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "letter.replace")) is not None


# --------------------------------------------------------------------------- uploaded PDF

def upload(client, letter, data: bytes, name="surat.pdf", **form):
    import io

    return client.post(f"/v/{letter.verify_code}", data={"berkas": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def test_the_issued_file_is_the_same_and_its_signature_valid(client, world):
    letter = world["letter"]
    resp = upload(client, letter, letter_store.read_pdf(letter))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Berkas ini sama persis dengan surat yang diterbitkan." in html
    assert "Tanda tangan elektronik sah." in html
    assert "TIDAK sama" not in html


def test_one_changed_byte_is_not_the_same_and_breaks_the_signature(client, world):
    letter = world["letter"]
    data = letter_store.read_pdf(letter)
    i = data.index(b"/MediaBox")
    tampered = data[:i] + data[i:].replace(b"595", b"596", 1)
    assert len(tampered) == len(data) and sum(a != b for a, b in zip(data, tampered, strict=True)) == 1
    resp = upload(client, letter, tampered)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Berkas ini TIDAK sama dengan surat yang diterbitkan" in html
    assert "Tanda tangan elektronik tidak sah." in html
    assert "sama persis" not in html


def test_another_validly_signed_letter_is_not_the_same(client, world):
    resp = upload(client, world["letter"], signed_pdf("Surat lain"))
    html = resp.get_data(as_text=True)
    assert "TIDAK sama" in html and "Tanda tangan elektronik sah." in html


def test_an_unsigned_pdf_has_no_valid_signature(client, world):
    html = upload(client, world["letter"], unsigned_pdf()).get_data(as_text=True)
    assert "TIDAK sama" in html and "tidak memuat tanda tangan elektronik" in html


@pytest.mark.parametrize(("data", "status", "message"), [
    (b"\xff\xd8\xff\xe0 bukan pdf" * 10, 415, "Berkas ini bukan PDF"),
    (b"%PDF-1.7\n" + b"rusak" * 100, 422, "rusak atau tidak dapat dibaca"),
    (b"", 400, "Pilih berkas PDF"),
])
def test_bad_uploads_get_a_clear_answer(client, world, data, status, message):
    resp = upload(client, world["letter"], data)
    assert resp.status_code == status
    assert message in resp.get_data(as_text=True)


def raw_upload(client, letter, data: bytes):
    """A multipart body built here: the test client spools a big form into a temp file it leaves open."""
    body = (b'--b\r\nContent-Disposition: form-data; name="berkas"; filename="s.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + data + b"\r\n--b--\r\n")
    return client.post(f"/v/{letter.verify_code}", data=body, content_type="multipart/form-data; boundary=b")


def test_a_huge_upload_is_refused_clearly(app, client, world):
    app.config["VERIFY_UPLOAD_MAX_BYTES"] = 1024 * 1024
    resp = raw_upload(client, world["letter"], b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10))
    assert resp.status_code == 413
    assert "Berkas terlalu besar: paling banyak 1 MB" in resp.get_data(as_text=True)
    resp = raw_upload(client, world["letter"], b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024))  # beyond the envelope
    assert resp.status_code == 413
    assert "Berkas terlalu besar" in resp.get_data(as_text=True)


def test_upload_form_needs_its_token_without_a_session(make_app, factory):
    import io

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        install_test_ca(app)
        letter = make_letter(submit(factory.warga()), factory.staff(Role.SIGNER, "ttd2"))
        client = app.test_client()
        html = client.get(f"/v/{letter.verify_code}").get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        pdf = letter_store.read_pdf(letter)

        def post(**form):
            return client.post(f"/v/{letter.verify_code}", content_type="multipart/form-data",
                               data={"berkas": (io.BytesIO(pdf), "s.pdf"), **form})

        refused = post()
        assert refused.status_code == 400 and "kedaluwarsa" in refused.get_data(as_text=True)
        other = make_letter(letter.request, letter.signer)
        other_html = client.get(f"/v/{other.verify_code}").get_data(as_text=True)
        other_token = re.search(r'name="token" value="([^"]+)"', other_html).group(1)
        assert post(token=other_token).status_code == 400  # a token is for its own letter
        ok = post(token=token)
        assert ok.status_code == 200 and "sama persis" in ok.get_data(as_text=True)
        assert "Set-Cookie" not in ok.headers
        cross = client.post(f"/v/{letter.verify_code}", content_type="multipart/form-data",
                            data={"berkas": (io.BytesIO(pdf), "s.pdf"), "token": token},
                            headers={"Origin": "https://jahat.example"})
        assert cross.status_code == 400


# --------------------------------------------------------------------------- hostile uploads
# Anonymous uploads: the work is bounded before it is done (counts against the issued letter, then the parse
# in a child with a time and memory budget). Each answer is the clear message, never a 500 or a hang.

def _unchecked(resp) -> str:
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, resp.status_code
    assert 'id="check-unchecked"' in html and "Tanda tangan elektronik tidak dapat diperiksa." in html
    assert "TIDAK sama" in html and "Tanda tangan elektronik sah." not in html
    return html


def test_a_letter_with_2000_empty_updates_is_not_parsed(client, world):
    letter = world["letter"]
    hostile = pdf_with_empty_updates(letter_store.read_pdf(letter), 2000)
    html = _unchecked(upload(client, letter, hostile))
    assert "memuat 2002 lapis perubahan (revisi), sedangkan surat yang diterbitkan hanya 2" in html


def test_junk_after_the_end_of_a_letter_is_not_parsed(client, world):
    letter = world["letter"]
    hostile = pdf_with_junk(letter_store.read_pdf(letter), 14)
    html = _unchecked(raw_upload(client, letter, hostile))
    assert re.search(r"ukurannya 14,0 MB, jauh lebih besar dari surat yang diterbitkan \(\d KB\)", html)


def test_a_small_file_that_is_slow_to_parse_is_stopped_by_the_budget(app, client, world):
    """77 KB that pass every count but take pypdf ~12 s and ~200 MB: the child is stopped at its budget."""
    app.config["VERIFY_CHECK_SECONDS"] = 1.0
    letter = world["letter"]
    hostile = pdf_with_inflating_update(letter_store.read_pdf(letter), 70)
    assert len(hostile) < 200_000
    html = _unchecked(upload(client, letter, hostile))
    assert "memeriksanya memerlukan waktu atau memori melebihi batas" in html
    # the same worker answers the genuine letter right after
    again = upload(client, letter, letter_store.read_pdf(letter)).get_data(as_text=True)
    assert "sama persis" in again and "Tanda tangan elektronik sah." in again


def test_the_memory_budget_stops_a_file_before_the_time_budget(app, client, world):
    app.config.update(VERIFY_CHECK_SECONDS=60.0, VERIFY_CHECK_MEMORY_MB=48)
    letter = world["letter"]
    html = _unchecked(upload(client, letter, pdf_with_inflating_update(letter_store.read_pdf(letter), 70)))
    assert "memeriksanya memerlukan waktu atau memori melebihi batas" in html


def test_a_genuine_letter_saved_again_by_a_pdf_viewer_is_still_examined(client, world):
    """One small incremental save (what a viewer adds for a note) stays within the bounds: checked, and the
    answer is the true one (not the same file; the signature holds but the file was added to)."""
    letter = world["letter"]
    resp = upload(client, letter, pdf_saved_again(letter_store.read_pdf(letter)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "TIDAK sama" in html and "tidak dapat diperiksa" not in html
    assert "Tanda tangan sah, tetapi PDF ditambah setelah ditandatangani." in html


# --------------------------------------------------------------------------- download switch, rate limit

def test_original_pdf_download_follows_the_profile_switch(client, world):
    letter = world["letter"]
    assert client.get(f"/v/{letter.verify_code}/unduh").status_code == 404
    assert "/unduh" not in page(client, letter)[1]
    profile = db.session.scalar(db.select(KelurahanProfile))
    profile.verify_offers_pdf = True
    db.session.commit()
    forget_cached_profile()  # the test's app context (and its g) spans the requests
    assert f'href="/v/{letter.verify_code}/unduh"' in page(client, letter)[1]
    resp = client.get(f"/v/{letter.verify_code}/unduh")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data == letter_store.read_pdf(letter)
    assert client.get("/v/AAAAAAAAAAAAAAAAAAAA/unduh").status_code == 404
    # a revoked letter is no longer handed out: the page says DICABUT and offers no file to pass on
    letters.revoke(letter, world["signer"], "Data keliru")
    db.session.commit()
    html = page(client, letter)[1]
    assert 'id="verdict">DICABUT<' in html and "/unduh" not in html
    assert client.get(f"/v/{letter.verify_code}/unduh").status_code == 404


def test_rate_limit_answers_429(make_app, factory):
    app = make_app(VERIFY_RATE_LIMIT="5 per minute")
    with app.app_context():
        make_profile()
        make_service()
        letter = make_letter(submit(factory.warga()), factory.staff(Role.SIGNER, "ttd3"))
        client = app.test_client()
        codes = [client.get(f"/v/{letter.verify_code}").status_code for _ in range(5)]
        assert codes == [200] * 5
        refused = client.get(f"/v/{letter.verify_code}")
        assert refused.status_code == 429 and "Terlalu banyak" in refused.get_data(as_text=True)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client.get("/v/tebakan-lain").status_code == 429  # walking codes counts too
        other = app.test_client()  # another address has its own allowance
        assert other.get(f"/v/{letter.verify_code}", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


# --------------------------------------------------------------------------- revocation

def test_revoke_needs_a_reason_and_the_right_role(client, world, factory, login_as):
    letter = world["letter"]
    with pytest.raises(letters.LetterError, match="alasan"):
        letters.revoke(letter, world["signer"], "  ")
    with pytest.raises(letters.LetterError, match="penandatangan atau admin"):
        letters.revoke(letter, factory.staff(Role.STAFF, "loket"), "Salah")
    db.session.rollback()
    login_as(world["signer"])
    resp = client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": ""})
    assert resp.status_code == 422
    assert "Tuliskan alasan pencabutan" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).status == LetterStatus.VALID


def test_signer_revokes_from_the_letter_page_and_it_shows_at_once(app, client, world, login_as):
    app.config["VERIFY_RATE_LIMIT"] = "1000 per minute"
    letter = world["letter"]
    public = app.test_client()
    assert 'id="verdict">SAH<' in page(public, letter)[1]
    login_as(world["signer"])
    html = client.get(f"/petugas/surat/{letter.id}").get_data(as_text=True)
    assert f'action="/penandatangan/surat/{letter.id}/cabut"' in html and "data-confirm" in html
    resp = client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "Diterbitkan untuk orang yang salah"})
    assert resp.status_code == 303
    status, html = page(public, letter)
    assert 'id="verdict">DICABUT<' in html and "Diterbitkan untuk orang yang salah" in html
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "letter.revoke"))
    assert entry.actor_id == world["signer"].id and entry.object_id == str(letter.id)
    assert entry.details["reason"] == "Diterbitkan untuk orang yang salah"
    again = client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "lagi"})
    assert again.status_code == 422 and "sudah berstatus dicabut" in again.get_data(as_text=True)


def test_admin_may_revoke_staff_may_not(client, world, factory, login_as):
    letter = world["letter"]
    login_as(factory.staff(Role.STAFF, "loket9"))
    assert client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "x"}).status_code == 403
    assert "Cabut surat" not in client.get(f"/petugas/surat/{letter.id}").get_data(as_text=True)
    client.post("/logout")
    login_as(factory.staff(Role.ADMIN, "adm9"))
    assert client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "Salah cetak"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Letter, letter.id).status == LetterStatus.REVOKED
    assert client.post("/penandatangan/surat/999999/cabut", data={"alasan": "x"}).status_code == 404


# --------------------------------------------------------------------------- register and downloads

def test_register_lists_filters_and_searches(client, world, factory, login_as):
    first = world["letter"]
    other_req = submit(factory.warga(name="SITI AMINAH"))
    from datetime import datetime

    second = make_letter(other_req, world["signer"], number="470/099/417.604.3/2026",
                         signed_at=datetime(2026, 5, 20, 2, 0))
    letters.revoke(second, world["signer"], "Salah nama")
    db.session.commit()
    client.get(f"/v/{first.verify_code}")
    login_as(factory.staff(Role.STAFF, "loket1"))
    html = client.get("/petugas/surat").get_data(as_text=True)
    assert first.number in html and second.number in html and "BUDI SANTOSO" in html and "SITI AMINAH" in html
    assert "Drs. SUGENG RAHARJO" in html
    row = re.search(rf"{re.escape(first.number)}.*?</tr>", html, re.S).group(0)
    assert '<td data-label="Dipindai">1</td>' in row  # scanned once
    only = client.get("/petugas/surat?status=dicabut").get_data(as_text=True)
    assert second.number in only and first.number not in only
    may = client.get("/petugas/surat?tahun=2026&bulan=5").get_data(as_text=True)
    assert second.number in may and first.number not in may
    assert "2 surat" in client.get("/petugas/surat?layanan=domisili").get_data(as_text=True)
    assert "0 surat" in client.get("/petugas/surat?layanan=lain").get_data(as_text=True)
    found = client.get("/petugas/surat?q=siti").get_data(as_text=True)
    assert second.number in found and first.number not in found
    by_number = client.get("/petugas/surat?q=470/099").get_data(as_text=True)
    assert second.number in by_number and first.number not in by_number
    frag = client.get("/petugas/surat?q=budi", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in frag and first.number in frag


def test_register_pages(client, world, factory, login_as):
    for i in range(30):
        make_letter(world["request"], world["signer"], number=f"470/{200 + i}/X/2026")
    login_as(factory.staff(Role.ADMIN, "adm2"))
    html = client.get("/petugas/surat?layanan=domisili").get_data(as_text=True)
    assert "31 surat" in html and "Halaman 1 dari 2" in html
    assert "page=2" in html and "layanan=domisili" in html
    assert "Halaman 2 dari 2" in client.get("/petugas/surat?page=2").get_data(as_text=True)


def test_staff_download_is_audited(client, world, factory, login_as):
    letter = world["letter"]
    staff = factory.staff(Role.STAFF, "loket3")
    login_as(staff)
    resp = client.get(f"/petugas/surat/{letter.id}/unduh")
    assert resp.status_code == 200 and resp.data == letter_store.read_pdf(letter)
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "letter.download"))
    assert entry.actor_id == staff.id and entry.object_id == str(letter.id)
    assert client.get("/petugas/surat/999999/unduh").status_code == 404


def test_resident_downloads_own_letter_not_anothers(client, world, factory, login_as):
    letter = world["letter"]
    tracking = world["request"].tracking_number
    login_as(world["applicant"])
    detail = client.get(f"/warga/permohonan/{tracking}").get_data(as_text=True)
    assert f'href="/warga/permohonan/{tracking}/surat"' in detail
    resp = client.get(f"/warga/permohonan/{tracking}/surat")
    assert resp.status_code == 200 and resp.data == letter_store.read_pdf(letter)
    client.post("/logout")
    login_as(factory.warga())
    assert client.get(f"/warga/permohonan/{tracking}/surat").status_code == 404
    assert client.get("/warga/permohonan/TIDAK-ADA/surat").status_code == 404


def test_resident_gets_the_valid_letter_of_a_replaced_pair(client, world, login_as):
    old = world["letter"]
    new = make_letter(world["request"], world["signer"], pdf=signed_pdf("Pengganti"))
    letters.mark_replaced(old, new, world["signer"])
    db.session.commit()
    login_as(world["applicant"])
    resp = client.get(f"/warga/permohonan/{world['request'].tracking_number}/surat")
    assert resp.data == letter_store.read_pdf(new)


def test_no_letter_yet_is_404(client, factory, login_as, app):
    make_profile()
    make_service()
    applicant = factory.warga()
    req = submit(applicant)
    login_as(applicant)
    assert f"/warga/permohonan/{req.tracking_number}/surat" not in client.get(
        f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert client.get(f"/warga/permohonan/{req.tracking_number}/surat").status_code == 404


def test_csrf_on_revocation(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        signer = factory.staff(Role.SIGNER, "ttd5")
        letter = make_letter(submit(factory.warga()), signer)
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"identifier": "ttd5", "password": "rahasia-123", "csrf_token": csrf_from(html)})
        assert client.post(f"/penandatangan/surat/{letter.id}/cabut", data={"alasan": "x"}).status_code == 400
        token = csrf_from(client.get(f"/petugas/surat/{letter.id}").get_data(as_text=True))
        assert client.post(f"/penandatangan/surat/{letter.id}/cabut",
                           data={"alasan": "x", "csrf_token": token}).status_code == 303
