"""The kelurahan's VAPID key pair (RFC 8292): what identifies this site to the browsers' push services.

The private key is never in the repository: ``VAPID_PRIVATE_KEY`` gives it (PEM text, a path to a PEM file, or
the raw key in base64url, as ``vapid --gen`` prints it), else it is created on first use into
``<PUSH_DIR>/vapid-private.pem`` (mode 600), PUSH_DIR defaulting to PKI_DIR (``<instance>/pki``, beside the
kelurahan CA), so the backups carry it: a new key makes every phone's subscription useless (the push services
refuse a key the subscription was not made with) and residents would have to turn notifications on again.
The public key is served to the page (``applicationServerKey``). ``flask doctor`` reports whether push is ready.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

if TYPE_CHECKING:
    from py_vapid import Vapid02

KEY_FILE = "vapid-private.pem"


class PushNotReady(Exception):
    """Web Push is turned off, or its key cannot be had; the message says why (for the admin)."""


def push_dir() -> Path:
    cfg = current_app.config
    return Path(cfg.get("PUSH_DIR") or cfg.get("PKI_DIR") or Path(current_app.instance_path) / "pki")


def enabled() -> bool:
    return bool(current_app.config.get("WEB_PUSH", True))


def _from_setting(value: str) -> Vapid02:
    from py_vapid import Vapid02  # here: py_vapid is only needed once a key is read (memory, issue 17)

    text = value.strip()
    if text.startswith("-----BEGIN"):
        return Vapid02.from_pem(text.encode())
    if os.path.sep in text or text.endswith(".pem"):
        return Vapid02.from_pem(Path(text).read_bytes())
    return Vapid02.from_string(text)


def _create(path: Path) -> None:
    """Write a new P-256 key to ``path`` once (O_EXCL: two workers starting together keep the first one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def key(*, create: bool = True) -> Vapid02:
    """The VAPID key: configured, else the instance file, created when missing (``create``). Cached per app
    and setting. Raises PushNotReady when push is off or the key cannot be read or made."""
    if not enabled():
        raise PushNotReady("WEB_PUSH dimatikan")
    setting = current_app.config.get("VAPID_PRIVATE_KEY")
    cache = current_app.extensions.setdefault("sempelmas.vapid", {})
    cache_key = setting or str(push_dir())
    if cache_key in cache:
        return cache[cache_key]
    from py_vapid import Vapid02  # here: py_vapid is only needed once a key is read (memory, issue 17)

    try:
        if setting:
            vapid = _from_setting(setting)
        else:
            path = push_dir() / KEY_FILE
            if not path.exists():
                if not create:
                    raise PushNotReady(f"kunci VAPID belum dibuat ({path})")
                _create(path)
            vapid = Vapid02.from_pem(path.read_bytes())
    except PushNotReady:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad setting or an unreadable file: say which
        raise PushNotReady(f"kunci VAPID tidak dapat dibaca: {type(exc).__name__}: {exc}") from exc
    cache[cache_key] = vapid
    return vapid


def public_key(*, create: bool = True) -> str:
    """The public key as the page's ``applicationServerKey``: the uncompressed point, base64url without padding."""
    raw = key(create=create).public_key.public_bytes(serialization.Encoding.X962,
                                                     serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subject() -> str:
    """The VAPID ``sub`` claim: how a push service reaches the site's operator. VAPID_SUBJECT (mailto: or
    https:), else the sender address of e-mail, else PUBLIC_URL."""
    cfg = current_app.config
    if cfg.get("VAPID_SUBJECT"):
        return str(cfg["VAPID_SUBJECT"])
    sender = cfg.get("MAIL_FROM") or cfg.get("MAIL_USERNAME") or ""
    address = sender.rpartition("<")[2].rstrip(">").strip()
    if "@" in address:
        return f"mailto:{address}"
    return str(cfg.get("PUBLIC_URL") or "mailto:admin@localhost").rstrip("/")


def readiness() -> tuple[bool, list[str]]:
    """(ready, notes) for ``flask doctor``: whether push notifications can be sent, and what the admin should
    know. Creates the key file when it is missing (as the first page asking for it would)."""
    notes: list[str] = []
    if not enabled():
        return False, ["WEB_PUSH dimatikan: tombol notifikasi HP tidak ditampilkan."]
    try:
        key()
    except PushNotReady as exc:
        return False, [str(exc)]
    where = "VAPID_PRIVATE_KEY" if current_app.config.get("VAPID_PRIVATE_KEY") else str(push_dir() / KEY_FILE)
    notes.append(f"kunci VAPID: {where} (simpan dalam cadangan: kunci baru membatalkan semua langganan)")
    sub = subject()
    if "localhost" in sub or not sub.startswith(("mailto:", "https://")):
        notes.append(f"VAPID_SUBJECT sebaiknya alamat mailto: atau https:// yang dapat dihubungi (kini {sub!r})")
    public = str(current_app.config.get("PUBLIC_URL") or "")
    if not public.startswith("https://"):
        notes.append("PUBLIC_URL bukan https://: peramban hanya mengizinkan push di situs https (atau localhost)")
    return True, notes
