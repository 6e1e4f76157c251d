"""The device cookie: which accounts this browser has signed in to (services/people/login_guard.py trusts it).

Signed with the app's secret (itsdangerous, its own salt), HttpOnly, SameSite=Lax, Secure like the session
cookie. It holds one random device id for the browser and, for up to MAX_ACCOUNTS accounts (a family phone),
the account id with the ``auth_version`` it had at sign-in; a newer auth_version ends the trust. It proves
nothing by itself: it only decides which failure counters an attempt from this browser goes to.
"""

from __future__ import annotations

import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from sempelmas.models.accounts import User

MAX_ACCOUNTS = 5
_SALT = "sempelmas-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _max_age() -> int:
    return current_app.config["DEVICE_COOKIE_DAYS"] * 86400


def _read_raw() -> tuple[str | None, list[list[int]]]:
    raw = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not raw or len(raw) > 2000:
        return None, []
    try:
        data = _serializer().loads(raw, max_age=_max_age())
    except BadSignature:
        return None, []
    device = data.get("d") if isinstance(data, dict) else None
    accounts = data.get("a") if isinstance(data, dict) else None
    if not isinstance(device, str) or not isinstance(accounts, list):
        return None, []
    clean = [[a[0], a[1]] for a in accounts[:MAX_ACCOUNTS]
             if isinstance(a, list) and len(a) == 2 and all(isinstance(x, int) for x in a)]
    return device, clean


def read() -> dict[int, tuple[int, str]]:
    """The accounts this browser vouches for: user id → (auth version at sign-in, device id)."""
    device, accounts = _read_raw()
    return {uid: (version, device) for uid, version in accounts} if device else {}


def remember(response, user: User) -> None:
    """After a successful sign-in (or reset code) of ``user``: this browser becomes a trusted device of it."""
    device, accounts = _read_raw()
    device = device or secrets.token_urlsafe(16)
    accounts = [[user.id, user.auth_version], *[a for a in accounts if a[0] != user.id]][:MAX_ACCOUNTS]
    cfg = current_app.config
    response.set_cookie(
        cfg["DEVICE_COOKIE_NAME"], _serializer().dumps({"d": device, "a": accounts}), max_age=_max_age(),
        httponly=True, samesite="Lax", secure=bool(cfg.get("SESSION_COOKIE_SECURE")), path="/",
    )
