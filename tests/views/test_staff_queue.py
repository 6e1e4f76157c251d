"""Staff screens: the request queue (htmx filters, counts out of band) and the review screen with its actions."""

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfWriter

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.requests import Endorsement, LetterRequest, RequestStatus
from sempelmas.services.requests import attachments, lifecycle
from tests.conftest import PASSWORD, csrf_from, jpeg_bytes, login
from tests.query_counter import count_queries
from tests.request_factory import make_profile, make_service, submit

S = RequestStatus
HX = {"HX-Request": "true"}


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.fixture
def world(app, factory):
    make_profile()
    make_service("domisili", needs_rt=False)
    staff = factory.staff(Role.STAFF, "loket1")
    siti = factory.warga(name="SITI AMINAH", female=True, rt="001", rw="001")
    siti.registration.nik_warnings = ["Tanggal lahir pada NIK (17-05-1990) berbeda dengan yang diisi (18-05-1990)."]
    budi = factory.warga(name="BUDI SANTOSO", rt="003", rw="002")
    db.session.commit()
    return {"staff": staff, "siti": siti, "budi": budi}


@pytest.fixture
def staff_client(client, world):
    login(client, "loket1", PASSWORD)
    return client


def body(resp) -> str:
    return resp.get_data(as_text=True)


def recent(applicant, **kw):
    """Submitted a moment ago, so it is not late."""
    return submit(applicant, now=datetime.now(UTC) - timedelta(minutes=5), **kw)


# ----------------------------------------------------------------------------- queue


def test_queue_page_lists_requests_with_filters_and_counts(staff_client, world):
    a = recent(world["siti"])
    b = submit(world["budi"], now=datetime.now(UTC) - timedelta(days=20))  # long overdue
    db.session.commit()
    resp = staff_client.get("/petugas/permohonan")
    html = body(resp)
    assert resp.status_code == 200
    assert a.tracking_number in html and b.tracking_number in html
    assert html.index(b.tracking_number) < html.index(a.tracking_number)  # overdue first
    assert 'hx-get="/petugas/permohonan"' in html and 'hx-push-url="true"' in html
    assert 'method="get" action="/petugas/permohonan"' in html  # works without JavaScript
    assert 'id="queue-counts"' in html and "hx-swap-oob" not in html  # in place on the full page
    row_b = re.search(r'<li class="queue-item is-late">.*?</li>', html, re.S).group(0)
    assert b.tracking_number in row_b and "Terlambat" in row_b
    assert "Sisa" in html  # the on-time one shows its time left


def test_an_htmx_filter_returns_only_the_results_and_the_counts_out_of_band(staff_client, world):
    a = recent(world["siti"])
    b = recent(world["budi"])
    db.session.commit()
    resp = staff_client.get("/petugas/permohonan?rw=002", headers=HX)
    html = body(resp)
    assert resp.status_code == 200 and "Vary" in resp.headers and "HX-Request" in resp.headers["Vary"]
    assert "<html" not in html and 'name="q"' not in html
    assert b.tracking_number in html and a.tracking_number not in html
    assert re.search(r'<nav id="queue-counts"[^>]*hx-swap-oob="true"', html)
    assert "<strong>2</strong> Diajukan" in html  # the counts are of the whole queue


@pytest.mark.parametrize("how", ["nik", "tracking", "name"])
def test_search_finds_by_nik_tracking_number_or_name(staff_client, world, how):
    a = recent(world["siti"])
    b = recent(world["budi"])
    db.session.commit()
    q = {"nik": world["budi"].resident.nik, "tracking": b.tracking_number.lower(), "name": "santo"}[how]
    html = body(staff_client.get("/petugas/permohonan", query_string={"q": q}))
    assert b.tracking_number in html and a.tracking_number not in html


def test_pagination_links_keep_the_filters(staff_client, world):
    for i in range(12):
        recent(world["siti"], key=f"k{i}")
    db.session.commit()
    html = body(staff_client.get("/petugas/permohonan?per_page=10&rw=001"))
    assert html.count('class="queue-item') == 10
    assert 'href="/petugas/permohonan?rw=001&amp;per_page=10&amp;page=2"' in html
    html2 = body(staff_client.get("/petugas/permohonan?per_page=10&rw=001&page=2", headers=HX))
    assert html2.count('class="queue-item') == 2 and "Sebelumnya" in html2 and "Berikutnya" not in html2


def test_queue_page_query_count_does_not_grow_with_page_size(staff_client, world, factory):
    others = [factory.warga(name=f"WARGA {i}") for i in range(5)]
    for i in range(60):
        req = recent(others[i % 5], key=f"q{i}")
        if i % 4 == 0:
            lifecycle.transition(req, "claim", actor=world["staff"])
    db.session.commit()
    staff_client.get("/petugas/permohonan")  # warm up (profile, templates)
    counted = {}
    for size in (10, 50):
        with count_queries() as statements:
            resp = staff_client.get(f"/petugas/permohonan?per_page={size}")
        assert body(resp).count('class="queue-item') == size
        counted[size] = len(statements)
    assert counted[10] == counted[50], counted


def test_staff_home_shows_counts_and_links_the_queue(staff_client, world):
    recent(world["siti"])
    db.session.commit()
    html = body(staff_client.get("/petugas/"))
    assert 'href="/petugas/permohonan"' in html and "<strong>1</strong> permohonan terbuka" in html


# ----------------------------------------------------------------------------- review


def test_review_shows_data_answers_files_warnings_household_and_timeline(staff_client, world, factory):
    child = factory.resident(name="ANAK SITI", kk=world["siti"].resident.kk_number, birth=date(2015, 1, 1))
    req = recent(world["siti"], subject=child, answers={"keperluan": "Daftar sekolah", "tanggal": "2026-01-05"})
    photo = attachments.store(jpeg_bytes(), requirement_code="kk", owner=world["siti"], request=req)
    pdf = attachments.store(pdf_bytes(), requirement_code="kk", owner=world["siti"], request=req)
    db.session.add(Endorsement(request_id=req.id, level="rt", rt="001", rw="001", year=2026, seq=7,
                               number="007/RT.001/RW.001/XI/2026", endorser_id=world["staff"].id,
                               note="Benar warga kami"))
    db.session.commit()
    html = body(staff_client.get(f"/petugas/permohonan/{req.tracking_number}"))
    assert "ANAK SITI" in html and child.nik in html and world["siti"].resident.nik in html
    assert "Keperluan</dt><dd>Daftar sekolah" in html and "Tanggal kejadian" in html
    assert f'<img class="doc" src="/berkas/{photo.stored_name}"' in html
    assert re.search(rf'<a href="[^"]*{re.escape(pdf.stored_name)}" target="_blank"', html)
    assert "boleh membawa asli" in html
    assert "Tanggal lahir pada NIK (17-05-1990)" in html
    assert "007/RT.001/RW.001/XI/2026" in html and "Benar warga kami" in html
    assert "Anggota keluarga" in html and "SITI AMINAH" in html
    assert "Diajukan — menunggu petugas" in html and "Tenggat" in html and "Sisa" in html
    assert "Saya tangani" in html
    # the image really opens for staff
    opened = staff_client.get(f"/berkas/{photo.stored_name}")
    opened.close()
    assert opened.status_code == 200 and opened.mimetype == "image/jpeg"


def test_review_of_an_unknown_request_is_404(staff_client, world):
    assert staff_client.get("/petugas/permohonan/JGL-2026-999999").status_code == 404
    assert staff_client.post("/petugas/permohonan/JGL-2026-999999/tangani", data={"tangani-version": 1}
                             ).status_code == 404


def test_claim_updates_the_fragment_the_counts_and_notifies(staff_client, world):
    req = recent(world["siti"])
    db.session.commit()
    resp = staff_client.post(f"/petugas/permohonan/{req.tracking_number}/tangani",
                             data={"tangani-version": req.version}, headers=HX)
    html = body(resp)
    assert resp.status_code == 200 and resp.headers["HX-Trigger"] == "notifications-changed"
    assert "<html" not in html and "Permohonan ini sekarang Anda tangani." in html
    assert "Sedang diperiksa" in html and "(Anda)" in html
    assert re.search(r'<nav id="queue-counts"[^>]*hx-swap-oob="true"', html)
    assert "<strong>1</strong> Sedang diperiksa" in html
    db.session.expire_all()
    assert req.status == S.IN_REVIEW and req.claimed_by_id == world["staff"].id


def test_without_htmx_an_action_redirects_back_with_a_message(staff_client, world):
    req = recent(world["siti"])
    db.session.commit()
    resp = staff_client.post(f"/petugas/permohonan/{req.tracking_number}/tangani",
                             data={"tangani-version": req.version})
    assert resp.status_code == 303 and resp.location.endswith(f"/petugas/permohonan/{req.tracking_number}")
    assert "sekarang Anda tangani" in body(staff_client.get(resp.location))


def claimed(world):
    req = recent(world["siti"])
    lifecycle.transition(req, "claim", actor=world["staff"])
    db.session.commit()
    return req


def test_ask_fix_needs_a_reason_and_something_to_fix(staff_client, world):
    req = claimed(world)
    url = f"/petugas/permohonan/{req.tracking_number}/perbaikan"
    resp = staff_client.post(url, data={"perbaikan-version": req.version, "perbaikan-files": "kk"}, headers=HX)
    assert resp.status_code == 422 and "Wajib diisi." in body(resp)
    resp = staff_client.post(url, data={"perbaikan-version": req.version, "perbaikan-reason": "Foto buram"},
                             headers=HX)
    assert resp.status_code == 422 and "Pilih minimal satu isian atau berkas" in body(resp)
    db.session.expire_all()
    assert req.status == S.IN_REVIEW
    resp = staff_client.post(url, data={"perbaikan-version": req.version, "perbaikan-reason": "Foto KK buram",
                                        "perbaikan-files": "kk", "perbaikan-fields": "keperluan"}, headers=HX)
    assert resp.status_code == 200 and "dikembalikan ke warga" in body(resp)
    assert "Isian: Keperluan" in body(resp) and "Berkas: Fotokopi KK" in body(resp)
    db.session.expire_all()
    assert req.status == S.NEEDS_FIX
    assert req.fix_request == {"reason": "Foto KK buram", "fields": ["keperluan"], "files": ["kk"]}


def test_reject_needs_a_reason(staff_client, world):
    req = claimed(world)
    url = f"/petugas/permohonan/{req.tracking_number}/tolak"
    resp = staff_client.post(url, data={"tolak-version": req.version, "tolak-reason": "   "}, headers=HX)
    assert resp.status_code == 422 and "Alasan wajib diisi." in body(resp)
    db.session.expire_all()
    assert req.status == S.IN_REVIEW
    resp = staff_client.post(url, data={"tolak-version": req.version, "tolak-reason": "Bukan warga sini"},
                             headers=HX)
    assert resp.status_code == 200
    db.session.expire_all()
    assert req.status == S.REJECTED and req.rejection_reason == "Bukan warga sini"


def test_forward_to_signing(staff_client, world):
    req = claimed(world)
    resp = staff_client.post(f"/petugas/permohonan/{req.tracking_number}/teruskan",
                             data={"teruskan-version": req.version}, headers=HX)
    assert resp.status_code == 200 and "Menunggu tanda tangan" in body(resp)
    db.session.expire_all()
    assert req.status == S.AWAITING_SIGNATURE


def test_an_action_the_status_does_not_allow_is_refused_clearly(staff_client, world):
    req = recent(world["siti"])  # not claimed yet: cannot be forwarded
    db.session.commit()
    resp = staff_client.post(f"/petugas/permohonan/{req.tracking_number}/teruskan",
                             data={"teruskan-version": req.version}, headers=HX)
    assert resp.status_code == 409
    assert "tidak dapat diteruskan ke penandatangan" in body(resp)


def test_internal_note_is_saved_and_shown(staff_client, world):
    req = recent(world["siti"])
    db.session.commit()
    url = f"/petugas/permohonan/{req.tracking_number}/catatan"
    assert staff_client.post(url, data={"catatan-text": ""}, headers=HX).status_code == 422
    resp = staff_client.post(url, data={"catatan-text": "KK asli dibawa Kamis"}, headers=HX)
    assert resp.status_code == 200 and "KK asli dibawa Kamis" in body(resp)
    assert "Catatan internal disimpan." in body(resp)


def test_two_staff_at_once_the_second_gets_the_conflict_message_and_the_fresh_state(app, world, factory):
    req = recent(world["siti"])
    db.session.commit()
    factory.staff(Role.STAFF, "loket2")
    first, second = app.test_client(), app.test_client()

    def call(client, method, url, **kw):
        # each request in its own app context: its own g (signed-in user) and its own database session
        with app.app_context():
            resp = getattr(client, method)(url, **kw)
            return resp.status_code, body(resp)

    call(first, "post", "/login", data={"identifier": "loket1", "password": PASSWORD})
    call(second, "post", "/login", data={"identifier": "loket2", "password": PASSWORD})
    url = f"/petugas/permohonan/{req.tracking_number}"
    # both open the same screen, rendered at the same version
    _s, page1 = call(first, "get", url)
    _s, page2 = call(second, "get", url)
    v1 = re.search(r'name="tangani-version" type="hidden" value="(\d+)"', page1).group(1)
    v2 = re.search(r'name="tangani-version" type="hidden" value="(\d+)"', page2).group(1)
    assert v1 == v2
    status, _html = call(first, "post", f"{url}/tangani", data={"tangani-version": v1}, headers=HX)
    assert status == 200
    status, html = call(second, "post", f"{url}/tangani", data={"tangani-version": v2}, headers=HX)
    assert status == 409
    assert "Permohonan ini baru saja diubah oleh pengguna lain" in html
    # the fresh state: in review, handled by the first
    assert "Status: Sedang diperiksa" in html and "<dd>Pengguna loket1</dd>" in html
    # a rejection from the stale screen is refused too: nothing overwritten
    status, _html = call(second, "post", f"{url}/tolak", data={"tolak-version": v2, "tolak-reason": "x"},
                         headers=HX)
    assert status == 409
    db.session.expire_all()
    fresh = db.session.get(LetterRequest, req.id)
    assert fresh.status == S.IN_REVIEW and fresh.claimed_by.username == "loket1"
    assert [e.action for e in fresh.events] == ["submit", "claim"]
    # the other staff member sees who handles it, and may still act
    _s, html = call(second, "get", url)
    assert "ditangani oleh Pengguna loket1" in html and "Minta perbaikan" in html


def test_action_forms_carry_csrf_and_are_refused_without_it(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service("domisili", needs_rt=False)
        factory.staff(Role.STAFF, "loketc")
        siti = factory.warga(name="SITI")
        req = recent(siti)
        db.session.commit()
        client = app.test_client()
        token = csrf_from(body(client.get("/login")))
        client.post("/login", data={"identifier": "loketc", "password": PASSWORD, "csrf_token": token})
        html = body(client.get(f"/petugas/permohonan/{req.tracking_number}"))
        assert 'name="tangani-csrf_token"' in html
        url = f"/petugas/permohonan/{req.tracking_number}/tangani"
        assert client.post(url, data={"tangani-version": req.version}).status_code == 400
        token = re.search(r'name="tangani-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        resp = client.post(url, data={"tangani-version": req.version, "tangani-csrf_token": token})
        assert resp.status_code == 303


def test_counts_are_reread_at_once_after_an_action_even_when_page_views_share_them(make_app, factory):
    app = make_app(QUEUE_COUNTS_CACHE_SECONDS=60)
    with app.app_context():
        make_profile()
        make_service("domisili", needs_rt=False)
        factory.staff(Role.STAFF, "lokets")
        siti = factory.warga(name="SITI")
        first = recent(siti, key="a")
        db.session.commit()
        client = app.test_client()
        login(client, "lokets")
        assert "<strong>1</strong> Diajukan" in body(client.get("/petugas/permohonan", headers=HX))
        recent(siti, key="b")  # another worker's change: page views may show the old count for a moment
        db.session.commit()
        assert "<strong>1</strong> Diajukan" in body(client.get("/petugas/permohonan", headers=HX))
        html = body(client.post(f"/petugas/permohonan/{first.tracking_number}/tangani",
                                data={"tangani-version": first.version}, headers=HX))
        assert "<strong>1</strong> Diajukan" in html and "<strong>1</strong> Sedang diperiksa" in html
        assert "<strong>2</strong> terbuka" in html
