"""The BSrE root(s) letters signed through the Esign Client validate against: ESIGN_TRUST_ROOTS, the path of a PEM
file (one or more certificates, e.g. BSrE's root and intermediate CA as BSSN publishes them)."""

from __future__ import annotations

import os
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app

_lock = threading.Lock()
#: (path, mtime, size) → DER list: a verification page reads the file once per change, not per request
_cache: dict[tuple[str, float, int], list[bytes]] = {}


class TrustRootsError(Exception):
    """ESIGN_TRUST_ROOTS is set but cannot be read as certificates; the message says which and why."""


def configured_path() -> str:
    return str(current_app.config.get("ESIGN_TRUST_ROOTS") or "").strip()


def load_roots_der(path: str) -> list[bytes]:
    """The certificates in the PEM (or single DER) file at ``path``; TrustRootsError when unreadable."""
    try:
        st = os.stat(path)
        key = (path, st.st_mtime, st.st_size)
        with _lock:
            if key in _cache:
                return _cache[key]
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise TrustRootsError(f"{path}: {e.strerror or e}") from e
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as e:
        raise TrustRootsError(f"{path}: bukan sertifikat PEM/DER ({e})") from e
    ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
    with _lock:
        if len(_cache) > 8:
            _cache.clear()
        _cache[key] = ders
    return ders


def roots_der() -> list[bytes]:
    """The configured BSrE roots as DER; [] when none are configured or the file cannot be read (the doctor's
    ``bsre`` check says why; a letter is then simply not trusted, never wrongly trusted)."""
    path = configured_path()
    if not path:
        return []
    try:
        return load_roots_der(path)
    except TrustRootsError:
        current_app.logger.warning("ESIGN_TRUST_ROOTS cannot be read: %s", path)
        return []
