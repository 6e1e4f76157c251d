"""The bell: the unread count fragment, the list, mark as read; each user sees only their own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification
from sempelmas.services.requests.lifecycle import transition
from tests.conftest import PASSWORD, csrf_from
from tests.request_factory import make_profile, make_service, submit


def add(user, message, url="/warga/", *, read=False, ago=0):
    n = Notification(user_id=user.id, kind="request.submit", message=message, url=url,
                     created_at=utcnow() - timedelta(minutes=ago), read_at=utcnow() if read else None)
    db.session.add(n)
    db.session.commit()
    return n


def test_bell_count_and_list_show_only_own_notifications(client, factory, login_as):
    me, other = factory.warga(), factory.warga()
    add(me, "Pesan lama sudah dibaca", read=True, ago=30)
    add(me, "Pesan pertama untuk saya", ago=20)
    add(me, "Pesan kedua untuk saya", ago=10)
    add(other, "Rahasia orang lain")
    login_as(me)

    bell = client.get("/notifikasi/jumlah", headers={"HX-Request": "true"})
    assert bell.status_code == 200 and bell.headers["Cache-Control"] == "no-store"
    html = bell.get_data(as_text=True)
    assert '<span class="badge bell-count">2</span>' in html and "belum dibaca" in html

    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "Rahasia orang lain" not in page
    # newest first, unread marked
    assert page.index("Pesan kedua") < page.index("Pesan pertama") < page.index("Pesan lama")
    assert page.count("Baru</span>") == 2 and "2 belum dibaca" in page


def test_no_badge_without_unread_notifications(client, factory, login_as):
    me = factory.staff(Role.STAFF)
    add(me, "Sudah dibaca", read=True)
    login_as(me)
    assert "bell-count" not in client.get("/notifikasi/jumlah").get_data(as_text=True)
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "Sudah dibaca" in page and "Baru</span>" not in page and "Tandai semua" not in page


def test_empty_list_says_so(client, factory, login_as):
    login_as(factory.staff(Role.SIGNER))
    assert "Belum ada notifikasi" in client.get("/notifikasi/").get_data(as_text=True)


def test_every_page_loads_the_bell_by_htmx_instead_of_counting_while_rendering(client, factory, login_as):
    login_as(factory.warga())
    page = client.get("/warga/").get_data(as_text=True)
    assert 'hx-get="/notifikasi/jumlah"' in page
    assert 'hx-trigger="load, every 60s, notifications-changed from:body"' in page
    assert 'href="/notifikasi/"' in page
    client.post("/logout")
    assert "/notifikasi/jumlah" not in client.get("/").get_data(as_text=True)


def test_reading_a_notification_marks_it_read_and_opens_its_page(client, factory, login_as):
    me = factory.warga()
    n = add(me, "Status berubah", url="/warga/permohonan/JGL-2026-000001")
    login_as(me)
    resp = client.post(f"/notifikasi/{n.id}/baca")
    assert resp.status_code == 303 and resp.location == "/warga/permohonan/JGL-2026-000001"
    db.session.expire_all()
    assert db.session.get(Notification, n.id).read_at is not None
    assert "bell-count" not in client.get("/notifikasi/jumlah").get_data(as_text=True)


def test_a_stored_url_never_redirects_off_site(client, factory, login_as):
    me = factory.warga()
    n = add(me, "Aneh", url="//evil.example/x")
    login_as(me)
    resp = client.post(f"/notifikasi/{n.id}/baca")
    assert resp.status_code == 303 and resp.location == "/notifikasi/"


def test_reading_another_users_notification_is_404_and_changes_nothing(client, factory, login_as):
    me, other = factory.warga(), factory.warga()
    theirs = add(other, "Bukan milik saya")
    login_as(me)
    assert client.post(f"/notifikasi/{theirs.id}/baca").status_code == 404
    assert client.post("/notifikasi/999999/baca").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_mark_all_read_touches_only_own(client, factory, login_as):
    me, other = factory.warga(), factory.warga()
    add(me, "Satu")
    add(me, "Dua")
    theirs = add(other, "Tiga")
    login_as(me)
    resp = client.post("/notifikasi/baca-semua", follow_redirects=True)
    assert "2 notifikasi ditandai sudah dibaca" in resp.get_data(as_text=True)
    db.session.expire_all()
    unread = db.session.scalars(select(Notification).where(Notification.read_at.is_(None))).all()
    assert [n.id for n in unread] == [theirs.id]


def test_list_is_paginated(client, factory, login_as):
    me = factory.warga()
    for i in range(25):
        add(me, f"Pesan nomor {i:02d}", ago=100 - i)
    login_as(me)
    first = client.get("/notifikasi/").get_data(as_text=True)
    assert "Pesan nomor 24" in first and "Pesan nomor 04" not in first and "Halaman 1 dari 2" in first
    second = client.get("/notifikasi/?page=2").get_data(as_text=True)
    assert "Pesan nomor 04" in second and "Pesan nomor 24" not in second


def test_a_status_change_reaches_the_residents_bell(client, factory, login_as):
    make_profile()
    make_service()
    applicant = factory.warga()
    rt = factory.staff(Role.RT_HEAD, "rtbell", rt="001", rw="001")
    req = submit(applicant)
    transition(req, "return_to_resident", actor=rt, note="KK belum dilampirkan")
    db.session.commit()
    login_as(applicant)
    assert '<span class="badge bell-count">2</span>' in client.get("/notifikasi/jumlah").get_data(as_text=True)
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert req.tracking_number in page and "Alasan: KK belum dilampirkan" in page


def test_mark_read_needs_csrf(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        me = factory.warga()
        n = add(me, "Perlu token")
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post("/login", data={"identifier": me.resident.nik, "password": PASSWORD, "csrf_token": token})
        assert c.post(f"/notifikasi/{n.id}/baca").status_code == 400
        page = c.get("/notifikasi/").get_data(as_text=True)
        resp = c.post(f"/notifikasi/{n.id}/baca", data={"csrf_token": csrf_from(page)})
        assert resp.status_code == 303
