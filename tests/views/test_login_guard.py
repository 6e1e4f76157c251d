"""Wrong passwords are throttled per source and per account without locking the owner out
(services/people/login_guard.py): a stranger locks only their own address; many addresses lock unknown clients out
of the account for a while, the owner's devices still get in, and the owner is told.

Requests come from chosen addresses (REMOTE_ADDR) in their own app contexts, as from different people.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sempelmas.extensions import db
from sempelmas.models import AuditEntry, LoginThrottle, Notification, OutboxMessage, Role, User
from sempelmas.models.base import utcnow
from tests.conftest import PASSWORD, Factory, in_db

WRONG = "NIK/nama pengguna atau kata sandi salah."
SOURCE_LOCKED = "Terlalu banyak percobaan gagal dari perangkat ini"
ACCOUNT_LOCKED = "Akun ini sedang dilindungi"
DEVICE_COOKIE = "sempelmas_perangkat"


@pytest.fixture
def served(make_app):
    return make_app(NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim")  # queued only, never sent here


def browser(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client, identifier: str, password: str) -> tuple[int, str]:
    resp = client.post("/login", data={"identifier": identifier, "password": password})
    return resp.status_code, resp.get_data(as_text=True)


def fail(client, identifier: str, times: int) -> list[str]:
    out = []
    for _i in range(times):
        status, html = attempt(client, identifier, "tebakan-salah")
        assert status == 200
        out.append(SOURCE_LOCKED if SOURCE_LOCKED in html else ACCOUNT_LOCKED if ACCOUNT_LOCKED in html
                   else WRONG if WRONG in html else html[:200])
    return out


def spread(app, identifier: str, count: int, first: int = 1) -> list[str]:
    """``count`` wrong passwords from as many addresses as it takes to stay under each one's own limit."""
    per_source = app.config["LOGIN_MAX_FAILURES"] - 1
    out, n = [], first
    while len(out) < count:
        out += fail(browser(app, f"198.51.100.{n}"), identifier, min(per_source, count - len(out)))
        n += 1
    return out


def expire_locks(app, kind: str | None = None):
    def go():
        stmt = update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1))
        if kind:
            stmt = stmt.where(LoginThrottle.kind == kind)
        db.session.execute(stmt)
        db.session.commit()
    in_db(app, go)


@pytest.fixture
def lurah(served):
    """A signing official with a phone, who signed in once from her office computer (a trusted device)."""
    in_db(served, lambda: (Factory().staff(Role.SIGNER, "lurah"), db.session.execute(
        update(User).where(User.username == "lurah").values(phone="+6281230000001")), db.session.commit()))
    office = browser(served, "192.0.2.10")
    assert attempt(office, "lurah", PASSWORD)[0] == 302
    assert office.get_cookie(DEVICE_COOKIE) is not None
    office.post("/logout")
    return office


def test_five_wrong_passwords_lock_only_that_address_not_the_official(served, lurah):
    stranger = browser(served, "198.51.100.66")
    assert fail(stranger, "lurah", 5) == [WRONG] * 5
    status, html = attempt(stranger, "lurah", PASSWORD)
    assert status == 200 and SOURCE_LOCKED in html and "Coba lagi dalam 15 menit" in html
    # the lurah, at home on a device she never used, and at the office: both get in
    assert attempt(browser(served, "203.0.113.5"), "lurah", PASSWORD)[0] == 302
    assert attempt(lurah, "lurah", PASSWORD)[0] == 302


def test_many_addresses_lock_unknown_clients_out_but_the_owners_device_gets_in_and_she_is_told(served, lurah):
    threshold = served.config["LOGIN_ACCOUNT_MAX_FAILURES"]
    assert spread(served, "lurah", threshold) == [WRONG] * threshold
    # now every unknown client is refused, even with the right password, and told what to do
    status, html = attempt(browser(served, "203.0.113.77"), "lurah", PASSWORD)
    assert status == 200 and ACCOUNT_LOCKED in html and "perangkat yang pernah Anda pakai" in html
    assert "kode pemulihan" in html
    # the office computer is a trusted device of the account: it gets in
    assert attempt(lurah, "lurah", PASSWORD)[0] == 302

    def told():
        uid = db.session.scalar(select(User.id).where(User.username == "lurah"))
        bells = db.session.scalars(select(Notification).where(Notification.user_id == uid,
                                                              Notification.kind == "auth.attack")).all()
        outbox = db.session.scalars(select(OutboxMessage)).all()
        locks = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "auth.lockout"))
        return [b.message for b in bells], [(o.channel, o.recipient) for o in outbox], locks

    bells, outbox, locks = in_db(served, told)
    assert len(bells) == 1 and "percobaan masuk yang gagal" in bells[0]
    assert outbox == [("gateway", "+6281230000001")]
    assert locks == 1
    # the attack goes on after the lock: the lock grows, the owner is not told again within the hour
    expire_locks(served)
    assert spread(served, "lurah", threshold, first=100) == [WRONG] * threshold
    status, html = attempt(browser(served, "203.0.113.78"), "lurah", PASSWORD)
    assert ACCOUNT_LOCKED in html and "dalam 30 menit" in html
    assert len(in_db(served, told)[0]) == 1


def test_an_address_that_keeps_failing_waits_longer_each_time(served, lurah):
    stranger = browser(served, "198.51.100.66")
    fail(stranger, "lurah", 5)
    expire_locks(served)
    assert fail(stranger, "lurah", 5)[-1] == WRONG
    assert "dalam 30 menit" in attempt(stranger, "lurah", "x-salah")[1]
    expire_locks(served)
    fail(stranger, "lurah", 5)
    assert "dalam 60 menit" in attempt(stranger, "lurah", "x-salah")[1]


def test_a_trusted_device_is_counted_on_its_own(served, lurah):
    assert fail(lurah, "lurah", 5) == [WRONG] * 5  # someone at the office computer
    status, html = attempt(lurah, "lurah", PASSWORD)
    assert SOURCE_LOCKED in html
    # the same address without the device cookie is another client: not locked
    assert attempt(browser(served, "192.0.2.10"), "lurah", PASSWORD)[0] == 302


def test_a_device_cookie_vouches_only_for_its_own_account_and_not_after_a_password_change(served, lurah):
    in_db(served, lambda: Factory().staff(Role.STAFF, "petugas"))
    # the lurah's device cookie, presented for the petugas account, is an untrusted client: counted per address
    assert fail(lurah, "petugas", 5) == [WRONG] * 5
    assert SOURCE_LOCKED in attempt(lurah, "petugas", PASSWORD)[1]
    # a password changed elsewhere ends the trust: the office computer is counted per address again
    phone = browser(served, "203.0.113.9")
    assert attempt(phone, "lurah", PASSWORD)[0] == 302
    assert phone.post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-77",
                                           "password2": "sandi-baru-77"}).status_code == 303
    fail(browser(served, "192.0.2.10"), "lurah", 5)  # the office address, without a cookie
    assert SOURCE_LOCKED in attempt(lurah, "lurah", "sandi-baru-77")[1]
    # the phone that changed it stays trusted: it has its own counter
    phone.post("/logout")
    assert attempt(phone, "lurah", "sandi-baru-77")[0] == 302


def test_unknown_identifiers_are_throttled_exactly_like_accounts(served):
    """The same sequence of answers for a real NIK and one with no account: lockout reveals nothing."""
    real = in_db(served, lambda: Factory().warga().resident.nik)
    unknown = "3576031705900999"
    answers = {}
    for ident in (real, unknown):
        seen = []
        for n in range(6):
            seen += fail(browser(served, f"198.51.100.{n + 1}"), ident, 4)
        seen.append(attempt(browser(served, "198.51.100.99"), ident, "tebakan-salah")[1])
        answers[ident] = [a if len(a) < 100 else ACCOUNT_LOCKED if ACCOUNT_LOCKED in a else a[:50] for a in seen]
    assert answers[real] == answers[unknown]
    assert answers[real][-1] == ACCOUNT_LOCKED
    assert answers[real][:20] == [WRONG] * 20


def test_an_ipv6_subscriber_is_one_source(served, lurah):
    for i in range(5):
        attempt(browser(served, f"2001:db8:1:2::{i + 1:x}"), "lurah", "salah-lagi")
    assert SOURCE_LOCKED in attempt(browser(served, "2001:db8:1:2:ffff::9"), "lurah", PASSWORD)[1]
    assert attempt(browser(served, "2001:db8:1:3::1"), "lurah", PASSWORD)[0] == 302


def test_wrong_reset_codes_count_with_wrong_passwords_and_a_real_code_beats_the_account_lock(served):
    nik, uid = in_db(served, lambda: (lambda w: (w.resident.nik, w.id))(Factory().warga()))
    in_db(served, lambda: Factory().staff(Role.STAFF, "loket"))
    guesser = browser(served, "198.51.100.66")
    for _i in range(5):
        resp = guesser.post("/lupa-sandi", data={"nik": nik, "code": "AAAAA-BBBBB", "password": "sandi-baru-55",
                                                 "password2": "sandi-baru-55"})
        assert "kode pemulihan salah" in resp.get_data(as_text=True)
    assert SOURCE_LOCKED in attempt(guesser, nik, PASSWORD)[1]
    refused = guesser.post("/lupa-sandi", data={"nik": nik, "code": "AAAAA-BBBBB", "password": "sandi-baru-55",
                                                "password2": "sandi-baru-55"})
    assert SOURCE_LOCKED in refused.get_data(as_text=True)
    # many addresses lock the account's unknown clients out …
    for n in range(4):
        fail(browser(served, f"198.51.100.{n + 1}"), nik, 4)
    fail(browser(served, "198.51.100.5"), nik, 4)
    assert ACCOUNT_LOCKED in attempt(browser(served, "203.0.113.5"), nik, PASSWORD)[1]
    # … but the resident who got a code at the office resets from her new phone, which is then trusted
    office = browser(served, "192.0.2.10")
    assert attempt(office, "loket", PASSWORD)[0] == 302
    code = office.post(f"/petugas/akun/{uid}/kode-pemulihan").get_data(as_text=True).split(
        'class="code-big">')[1].split("<")[0].strip()
    new_phone = browser(served, "203.0.113.5")
    resp = new_phone.post("/lupa-sandi", data={"nik": nik, "code": code, "password": "sandi-baru-55",
                                               "password2": "sandi-baru-55"})
    assert resp.status_code == 303
    assert attempt(new_phone, nik, "sandi-baru-55")[0] == 302


def test_the_counts_are_shared_by_every_worker(make_app):
    first = make_app(fresh=True)
    second = make_app(fresh=True)  # another process's app on the same database
    nik = in_db(first, lambda: Factory().warga().resident.nik)
    fail(browser(first, "198.51.100.66"), nik, 5)
    assert SOURCE_LOCKED in attempt(browser(second, "198.51.100.66"), nik, PASSWORD)[1]
