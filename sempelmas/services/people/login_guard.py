"""Throttling wrong passwords and reset codes per source and per account, without locking the owner out.

Before, five wrong passwords from anywhere locked any account (officials included) for everyone. Now, after
OWASP's "device cookies":

* A browser that signed in to an account carries a signed device cookie for it (``sempelmas/web/devices.py``):
  it is a *trusted device* of that account while the account's ``auth_version`` is unchanged (a password
  change or reset, "log out everywhere" and disabling end that trust).
* Failures from a trusted device count for (account, that device) only.
* Failures from any other client count for (account, its source address; an IPv6 /64 counts as one
  address) and for (account, every untrusted client).
* A key locks when its failures reach its threshold: LOGIN_MAX_FAILURES for one source or device,
  LOGIN_ACCOUNT_MAX_FAILURES for the untrusted clients of an account. Each lockout within the window doubles
  the next one (up to LOGIN_LOCKOUT_MAX_MINUTES); LOGIN_FAILURE_WINDOW_HOURS without a failure forgets it.
* So one attacker locks only their own address; many addresses together lock unknown clients out of that
  account for a growing while, yet the owner's trusted devices still get in, and the owner is told (bell,
  and e-mail/WhatsApp when configured).
* An identifier without an account is throttled exactly the same way: lockout reveals nothing.
* A success clears that source's or device's key. The account key is left to expire: an attack goes on
  counting while the owner signs in.

Counts live in the database (``login_throttles``), so every worker sees them; a failure is one atomic
upsert. Flask-Limiter's per-address limit on the login form stays in front of all this.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sempelmas.domain import digits
from sempelmas.domain import phone as phone_rules
from sempelmas.domain.i18n import ngettext
from sempelmas.extensions import db
from sempelmas.models.accounts import LoginThrottle, User
from sempelmas.models.base import utcnow
from sempelmas.services.accountability import audit
from sempelmas.services.operations import outbox
from sempelmas.services.operations.notice_text import msg

SOURCE = "sumber"
DEVICE = "perangkat"
ACCOUNT = "akun"
#: the account page, where the owner sees the signed-in devices and can change the password
ACCOUNT_URL = "/akun/sandi"


@dataclass(frozen=True)
class Client:
    """Who is trying: the client's address (ProxyFix has put the real one in remote_addr) and the accounts
    this browser's device cookie vouches for (user id → (auth version, device id))."""

    address: str | None = None
    devices: Mapping[int, tuple[int, str]] = field(default_factory=dict)

    def trusted_device(self, user: User | None) -> str | None:
        """This browser's device id when it is a trusted device of ``user``."""
        entry = self.devices.get(user.id) if user is not None else None
        return entry[1] if entry and entry[0] == user.auth_version else None


@dataclass(frozen=True)
class _Key:
    kind: str
    hash: str
    threshold: int
    base_minutes: int


@dataclass(frozen=True)
class Guard:
    """The keys one attempt on one account (or unknown identifier) from one client is counted against."""

    user: User | None
    keys: tuple[_Key, ...]

    def key(self, kind: str) -> _Key | None:
        return next((k for k in self.keys if k.kind == kind), None)


def source_of(address: str | None) -> str:
    """The unit a source is counted in: an IPv4 address, or the /64 network of an IPv6 one (one
    subscriber's phone gets a whole /64 and can change addresses within it at will)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "?"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def account_of(user: User | None, identifier: str) -> str:
    """The account a login names: its id, or for an unknown identifier the identifier in one spelling."""
    if user is not None:
        return f"u:{user.id}"
    text = digits.normalise(identifier).strip().lower()
    if phone_rules.looks_like_phone(text):
        return "p:" + phone_rules.normalise(text)
    cleaned = digits.clean(text)
    return "i:" + (cleaned if digits.is_ascii_digits(cleaned) else text)[:64]


def _hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def guard_for(user: User | None, identifier: str, client: Client) -> Guard:
    """The keys for an attempt: a trusted device is counted on its own; any other client per source and
    with every other untrusted client of the account."""
    cfg = current_app.config
    account = account_of(user, identifier)
    device = client.trusted_device(user)
    per_client = cfg["LOGIN_MAX_FAILURES"]
    base = cfg["LOGIN_LOCKOUT_MINUTES"]
    if device:
        return Guard(user, (_Key(DEVICE, _hash(DEVICE, account, device), per_client, base),))
    return Guard(user, (
        _Key(SOURCE, _hash(SOURCE, account, source_of(client.address)), per_client, base),
        _Key(ACCOUNT, _hash(ACCOUNT, account), cfg["LOGIN_ACCOUNT_MAX_FAILURES"],
             cfg["LOGIN_ACCOUNT_LOCKOUT_MINUTES"]),
    ))


def _minutes_left(until: datetime, now: datetime) -> int:
    return max(1, -(-int((until - now).total_seconds()) // 60))


def refusal(guard: Guard, *, account_wide: bool = True) -> str | None:
    """The message for an attempt refused because one of its keys is locked, else None. ``account_wide``
    False leaves out the lock of an account's untrusted clients (a reset code from the office beats it)."""
    now = utcnow()
    kinds = [k.kind for k in guard.keys if account_wide or k.kind != ACCOUNT]
    locked = dict(db.session.execute(
        select(LoginThrottle.kind, LoginThrottle.locked_until).where(
            LoginThrottle.key.in_([k.hash for k in guard.keys if k.kind in kinds]),
            LoginThrottle.locked_until > now)).all())
    if ACCOUNT in locked:
        return ngettext("Akun ini sedang dilindungi karena banyak percobaan masuk yang gagal. Masuklah dari "
                        "perangkat yang pernah Anda pakai untuk masuk, coba lagi dalam %(num)d menit, atau minta "
                        "kode pemulihan di kantor kelurahan.",
                        "Akun ini sedang dilindungi karena banyak percobaan masuk yang gagal. Masuklah dari "
                        "perangkat yang pernah Anda pakai untuk masuk, coba lagi dalam %(num)d menit, atau minta "
                        "kode pemulihan di kantor kelurahan.", _minutes_left(locked[ACCOUNT], now))
    until = locked.get(SOURCE) or locked.get(DEVICE)
    if until:
        return ngettext("Terlalu banyak percobaan gagal dari perangkat ini. Coba lagi dalam %(num)d menit. Lupa "
                        "kata sandi? Minta kode pemulihan di kantor kelurahan.",
                        "Terlalu banyak percobaan gagal dari perangkat ini. Coba lagi dalam %(num)d menit. Lupa "
                        "kata sandi? Minta kode pemulihan di kantor kelurahan.", _minutes_left(until, now))
    return None


def _insert(table):
    return (postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def record_failure(guard: Guard) -> None:
    """Count one failure on each key of ``guard`` (atomically: concurrent workers lose none), lock the keys
    that reached their threshold, and tell the owner when their untrusted clients get locked out."""
    cfg = current_app.config
    now = utcnow()
    window_start = now - timedelta(hours=cfg["LOGIN_FAILURE_WINDOW_HOURS"])
    table = LoginThrottle.__table__
    user_id = guard.user.id if guard.user is not None else None
    db.session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < window_start,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
    ).execution_options(synchronize_session=False))
    for key in guard.keys:
        stale = table.c.last_failure_at < window_start
        stmt = _insert(table).values(key=key.hash, kind=key.kind, user_id=user_id, failures=1, lockouts=0,
                                     last_failure_at=now)
        db.session.execute(stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": case((stale, 1), else_=table.c.failures + 1),
            "lockouts": case((stale, 0), else_=table.c.lockouts),
            "last_failure_at": now,
        }))
        failures, lockouts = db.session.execute(
            select(LoginThrottle.failures, LoginThrottle.lockouts).where(LoginThrottle.key == key.hash)).one()
        if failures < key.threshold:
            continue
        minutes = min(key.base_minutes * 2 ** min(lockouts, 20), cfg["LOGIN_LOCKOUT_MAX_MINUTES"])
        locked = db.session.execute(
            update(LoginThrottle).where(LoginThrottle.key == key.hash, LoginThrottle.failures >= key.threshold)
            .values(locked_until=now + timedelta(minutes=minutes), lockouts=LoginThrottle.lockouts + 1, failures=0)
            .execution_options(synchronize_session=False)).rowcount
        if locked:
            audit.record("auth.lockout", guard.user, actor=None, kind=key.kind, minutes=minutes)
            if key.kind == ACCOUNT and guard.user is not None:
                _tell_owner(guard.user, key, minutes, now)


def _tell_owner(user: User, key: _Key, minutes: int, now: datetime) -> None:
    """The bell, and e-mail/WhatsApp when configured: someone is trying the account's password. At most once
    per LOGIN_NOTICE_MINUTES, however long the attack goes on."""
    quiet = now - timedelta(minutes=current_app.config["LOGIN_NOTICE_MINUTES"])
    told = db.session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key.hash,
                                    or_(LoginThrottle.notified_at.is_(None), LoginThrottle.notified_at < quiet))
        .values(notified_at=now).execution_options(synchronize_session=False)).rowcount
    if not told:
        return
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    message = _(
        "Ada banyak percobaan masuk yang gagal ke akun Anda dari perangkat yang belum pernah Anda pakai. "
        "Selama %(m)d menit akun ini hanya dapat dimasuki dari perangkat yang pernah Anda pakai untuk masuk. "
        "Bila itu bukan Anda, kata sandi Anda tetap aman selama tidak diketahui orang lain; bila ragu, "
        "ganti kata sandi atau minta bantuan di kantor kelurahan.", m=minutes)
    subject = _("Percobaan masuk ke akun Anda")
    outbox.tell(user, kind="auth.attack", message=message, url=ACCOUNT_URL, subject=subject)


def record_success(guard: Guard) -> None:
    """A right password (or reset code): forget this source's or device's failures."""
    hashes = [k.hash for k in guard.keys if k.kind != ACCOUNT]
    if hashes:
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(hashes))
                           .execution_options(synchronize_session=False))
