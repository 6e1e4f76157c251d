"""API clients and their keys: create (the key is shown once), rotate, revoke, change scopes; check a key.

A key is ``spm_<prefix>_<secret>``: the prefix (12 hex digits) finds the row, the SHA-256 of the whole key is
compared in constant time. Only the hash is stored. Every change is audited; the caller commits."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from limits import parse as parse_limit
from sqlalchemy import select, update

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.integration import ApiClient
from sempelmas.services.accountability import audit
from sempelmas.services.integration import scopes as scope_list

KEY_PREFIX = "spm"
NAME_MAX = 80


class ClientError(ValueError):
    """Input an admin can fix; ``field`` names the form field, the message is Indonesian."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    """What an admin chooses for a client."""

    name: str
    scopes: list[str]
    allowed_sources: list[str]
    rate_limit: str | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    """(prefix, key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = (key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def find_by_key(key: str) -> ApiClient | None:
    """The client whose current key this is (revoked ones included: the caller says why it refuses), else None."""
    prefix = split_key(key)
    if prefix is None:
        return None
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_prefix == prefix))
    if client is None or not hmac.compare_digest(client.key_hash, hash_key(key)):
        return None
    return client


# ------------------------------------------------------------------ checking what an admin typed

def parse_sources(text: str) -> list[str]:
    """CIDR networks, one per line or comma-separated; a bare address becomes /32 (/128). ClientError if any
    line is not an address or network."""
    out: list[str] = []
    for raw in (text or "").replace(",", "\n").splitlines():
        item = raw.strip()
        if not item:
            continue
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ClientError("allowed_sources", _("Alamat sumber tidak valid: %(item)s", item=item[:60])) from None
        if str(net) not in out:
            out.append(str(net))
    return out


def check_rate_limit(text: str | None) -> str | None:
    """A Flask-Limiter limit ("600/minute", "10 per second") or None for the default; ClientError if unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        parse_limit(text)
    except ValueError:
        raise ClientError("rate_limit", _("Batas laju tidak dikenali. Contoh: 120/minute atau 10/second.")) from None
    if len(text) > 40:
        raise ClientError("rate_limit", _("Batas laju terlalu panjang."))
    return text


def _check(settings: Settings, client: ApiClient | None = None) -> Settings:
    name = " ".join((settings.name or "").split())
    if not name:
        raise ClientError("name", _("Nama klien wajib diisi."))
    if len(name) > NAME_MAX:
        raise ClientError("name", _("Nama klien paling panjang %(n)d karakter.", n=NAME_MAX))
    other = db.session.scalar(select(ApiClient.id).where(ApiClient.name == name))
    if other is not None and (client is None or other != client.id):
        raise ClientError("name", _("Nama klien sudah dipakai klien lain."))
    unknown = [s for s in settings.scopes if not scope_list.is_scope(s)]
    if unknown:
        raise ClientError("scopes", _("Cakupan tidak dikenal: %(codes)s", codes=", ".join(unknown)[:80]))
    return Settings(name=name, scopes=scope_list.known(settings.scopes),
                    allowed_sources=list(settings.allowed_sources), rate_limit=check_rate_limit(settings.rate_limit))


# ------------------------------------------------------------------ the admin's actions

def create_client(settings: Settings, *, actor) -> tuple[ApiClient, str]:
    """A new client and its key (returned once, never stored). ClientError for bad input; audited."""
    s = _check(settings)
    prefix, key = _new_key()
    client = ApiClient(name=s.name, key_prefix=prefix, key_hash=hash_key(key), scopes=s.scopes,
                       allowed_sources=s.allowed_sources, rate_limit=s.rate_limit, created_at=utcnow(),
                       created_by_id=getattr(actor, "id", None))
    db.session.add(client)
    db.session.flush()
    audit.record("api_client.create", client, actor=actor, name=s.name, scopes=s.scopes,
                 allowed_sources=s.allowed_sources, rate_limit=s.rate_limit, key_prefix=prefix)
    return client, key


def update_client(client: ApiClient, settings: Settings, *, actor) -> None:
    """Change name, scopes, allowed addresses, rate limit; the key stays. Audited with what changed."""
    s = _check(settings, client)
    changed = {}
    for attr in ("name", "scopes", "allowed_sources", "rate_limit"):
        old, new = getattr(client, attr), getattr(s, attr)
        if old != new:
            changed[attr] = {"dari": old, "ke": new}
            setattr(client, attr, new)
    if changed:
        audit.record("api_client.update", client, actor=actor, name=client.name, changes=changed)


def rotate_key(client: ApiClient, *, actor) -> str:
    """A new key for ``client`` (returned once); the old one stops working at once. A revoked client gets none."""
    if client.revoked_at is not None:
        raise ClientError("key", _("Klien ini sudah dicabut; buat klien baru."))
    old_prefix = client.key_prefix
    client.key_prefix, key = _new_key()
    client.key_hash = hash_key(key)
    client.rotated_at = utcnow()
    audit.record("api_client.rotate", client, actor=actor, name=client.name, old_key_prefix=old_prefix,
                 key_prefix=client.key_prefix)
    return key


def revoke_client(client: ApiClient, *, actor) -> None:
    """No key of ``client`` opens anything from now on (the row stays: the audit log names it)."""
    if client.revoked_at is not None:
        return
    client.revoked_at = utcnow()
    audit.record("api_client.revoke", client, actor=actor, name=client.name, key_prefix=client.key_prefix)


def list_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.revoked_at.is_not(None), ApiClient.name)))


# ------------------------------------------------------------------ calls

def source_allowed(client: ApiClient, address: str | None) -> bool:
    """Whether a call from ``address`` may use ``client``'s key (no list: any address)."""
    if not client.allowed_sources:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in client.allowed_sources
               if ipaddress.ip_network(net, strict=False).version == ip.version)


def touch(client: ApiClient, *, interval_seconds: int, now: datetime | None = None) -> bool:
    """Write ``last_used_at`` when it is older than ``interval_seconds``: one UPDATE, skipped without a query
    most of the time (a write per call would take the write lock on every read). True if written: the caller
    commits it (the API's authentication does, before the view runs)."""
    now = now or utcnow()
    if client.last_used_at is not None and now - client.last_used_at < timedelta(seconds=interval_seconds):
        return False
    db.session.execute(update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=now)
                       .execution_options(synchronize_session=False))
    client.last_used_at = now
    return True
