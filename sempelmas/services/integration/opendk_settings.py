"""The OpenDK connector's settings: reading them (secrets decrypted) and saving what the admin typed.

Secrets (the OpenDK account's password, the registered token) are stored in the database, encrypted with Fernet
(AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY by HKDF-SHA256: a database dump or backup alone does
not give them away. Changing SECRET_KEY makes them unreadable: the connector then says so and the admin types them
again. They are never shown back: the form leaves their fields empty ("kosongkan bila tidak diubah").
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.opendk import OpenDkSettings
from sempelmas.services.accountability import audit

DESA_ID = re.compile(r"^[0-9][0-9.]{0,19}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SettingsError(Exception):
    """A refused setting; ``field`` names the form field, ``message`` is for the admin (Indonesian)."""

    def __init__(self, field: str | None, message):
        super().__init__(str(message))
        self.field = field
        self.message = str(message)


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (SECRET_KEY changed)."""


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sempelmas", info=b"opendk-secrets").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("stored OpenDK secret cannot be decrypted (SECRET_KEY changed?)") from exc


@dataclass(frozen=True)
class Connection:
    """What the sender needs, secrets in clear (never logged, never rendered)."""

    base_url: str
    email: str
    password: str
    api_key: str
    desa_id: str


def row() -> OpenDkSettings | None:
    return db.session.scalar(select(OpenDkSettings).order_by(OpenDkSettings.id).limit(1))


def enabled() -> bool:
    """On only when the admin turned it on and it has an address, a desa code and some way to authenticate."""
    r = row()
    return bool(r and r.enabled and r.base_url and r.desa_id and (r.api_key_enc or (r.email and r.password_enc)))


def connection() -> Connection:
    """The settings for sending; raises SecretUnreadable when a stored secret no longer decrypts."""
    r = row()
    if r is None:
        return Connection("", "", "", "", "")
    return Connection(r.base_url.rstrip("/"), r.email, decrypt(r.password_enc), decrypt(r.api_key_enc), r.desa_id)


def save(actor: User, *, enabled: bool, base_url: str, email: str, password: str, api_key: str, clear_api_key: bool,
         desa_id: str) -> OpenDkSettings:
    """Store the admin's settings; an empty password or token keeps the stored one. Refuses (SettingsError) an
    address that is not http(s), a malformed e-mail or desa code, and turning it on without a way to log in.
    Audited (which fields changed; never the secrets' values). Flushes."""
    base_url = (base_url or "").strip().rstrip("/")
    email = (email or "").strip()
    desa_id = (desa_id or "").strip()
    if base_url and not re.match(r"^https?://[^\s/]+", base_url, re.I):
        raise SettingsError("base_url", _("Alamat OpenDK harus diawali http:// atau https://."))
    if email and not EMAIL.match(email):
        raise SettingsError("email", _("Alamat e-mail akun OpenDK tidak valid."))
    if desa_id and not DESA_ID.match(desa_id):
        raise SettingsError("desa_id", _("Kode desa hanya berisi angka dan titik, paling panjang 20."))
    r = row()
    if r is None:
        r = OpenDkSettings(enabled=False, base_url="", email="", desa_id="")
        db.session.add(r)
    changed = [name for name, new, old in (("enabled", enabled, r.enabled), ("base_url", base_url, r.base_url),
                                           ("email", email, r.email), ("desa_id", desa_id, r.desa_id)) if new != old]
    r.enabled, r.base_url, r.email, r.desa_id = enabled, base_url, email, desa_id
    if password:
        r.password_enc = encrypt(password)
        changed.append("password")
    if clear_api_key and r.api_key_enc:
        r.api_key_enc = None
        changed.append("api_key")
    elif api_key.strip():
        r.api_key_enc = encrypt(api_key.strip())
        changed.append("api_key")
    if enabled:
        if not base_url:
            raise SettingsError("base_url", _("Isi alamat OpenDK untuk mengaktifkan penghubung."))
        if not desa_id:
            raise SettingsError("desa_id", _("Isi kode desa/kelurahan seperti yang terdaftar di OpenDK."))
        if not r.api_key_enc and not (email and r.password_enc):
            raise SettingsError("email", _("Isi e-mail dan kata sandi akun OpenDK, atau token terdaftar dari OpenDK."))
    r.updated_at = utcnow()
    r.updated_by_id = actor.id
    db.session.flush()
    audit.record("opendk.settings", r, actor=actor, changed=changed, enabled=enabled,
                 auth="token" if r.api_key_enc else "login")
    return r
