"""The kelurahan certificate authority, and the encryption of private keys (the PKI's errors too).

Certificates of the officials: services.letters.certificates; signing and checking PDFs: services.letters.signing.

Files: ``<PKI_DIR>/ca.pem`` (CA certificate) and ``<PKI_DIR>/ca-key.pem`` (CA key, PKCS#8 encrypted under the
CA passphrase: ``PKI_CA_PASSPHRASE``, or ``<PKI_DIR>/ca-passphrase`` written by ``pki-init`` outside production).

Each signing official has a :class:`SigningCertificate` issued by that CA; the private key is stored PKCS#8
encrypted under the official's own signing passphrase, so the server cannot sign without it.

Private keys are encrypted with PBES2: scrypt (N = 2^PKI_KEY_SCRYPT_LOG_N, default 2^13 = 8 MiB, r = 8, p = 1)
and AES-256-CBC, readable by any PKCS#8 reader (OpenSSL, cryptography). ``cryptography``'s
``BestAvailableEncryption`` would give PBKDF2 with only 2,048 rounds (under 1 ms per guess, no memory cost) and
its PKCS#8 writer has no cost setting. scrypt 2^13 is memory-hard and costs ~25-55 ms per guess on these machines
(2^14: ~50-120 ms, too much of the 150 ms budget for issuing one letter); with passphrases of at least 10
characters and online guessing throttled, that is the balance chosen (bench/bench_sign.py prints the costs).
A signer unlocks its key once and keeps it in memory for the request only (a batch of letters pays it once).

Services do not commit: after :class:`WrongPassphrase` the caller commits so the failure stays counted.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.accountability import audit

CA_YEARS = 10


# ---------------------------------------------------------------------------------------------- errors


class PkiError(Exception):
    """A refusal with an Indonesian message; ``field`` names the form field it belongs to, if any."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class WrongPassphrase(PkiError):
    pass


class CertificateUnusable(PkiError):
    """No certificate, or it is revoked or expired."""


class TooManyAttempts(PkiError):
    def __init__(self, message, wait: timedelta):
        super().__init__(message)
        self.wait = wait


# ---------------------------------------------------------------------------------- key encryption

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def _seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x30" + length + body


def encrypt_private_key(key: ec.EllipticCurvePrivateKey, passphrase: str, *, log_n: int | None = None) -> str:
    """PKCS#8 EncryptedPrivateKeyInfo (PBES2: scrypt + AES-256-CBC) as PEM; any PKCS#8 reader decrypts it."""
    if log_n is None:
        log_n = current_app.config["PKI_KEY_SCRYPT_LOG_N"]
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    salt, iv = os.urandom(16), os.urandom(16)
    n, r, p = 2**log_n, 8, 1
    kek = hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n, dklen=32)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    encrypted = enc.update(data) + enc.finalize()
    scrypt_params = _seq(core.OctetString(salt).dump(), core.Integer(n).dump(), core.Integer(r).dump(),
                         core.Integer(p).dump(), core.Integer(32).dump())
    algorithm = _seq(
        core.ObjectIdentifier(_OID_PBES2).dump(),
        _seq(_seq(core.ObjectIdentifier(_OID_SCRYPT).dump(), scrypt_params),
             _seq(core.ObjectIdentifier(_OID_AES256_CBC).dump(), core.OctetString(iv).dump())),
    )
    der = _seq(algorithm, core.OctetString(encrypted).dump())
    return x509_pem("ENCRYPTED PRIVATE KEY", der)


def x509_pem(label: str, der: bytes) -> str:
    b64 = base64.encodebytes(der).decode().replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def decrypt_private_key(pem: str | bytes, passphrase: str) -> ec.EllipticCurvePrivateKey:
    """Raises WrongPassphrase when the passphrase does not open the key."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, passphrase.encode())
    except (ValueError, TypeError) as e:
        raise WrongPassphrase(_("Passphrase tanda tangan salah."), "passphrase") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):  # pragma: no cover - only ever written by this module
        raise PkiError(_("Kunci tanda tangan tidak dikenal."))
    return key


# ----------------------------------------------------------------------------------------- the CA


def pki_dir() -> Path:
    return Path(current_app.config["PKI_DIR"])


def _ca_cert_path() -> Path:
    return pki_dir() / "ca.pem"


def _ca_key_path() -> Path:
    return pki_dir() / "ca-key.pem"


def _ca_passphrase_path() -> Path:
    return pki_dir() / "ca-passphrase"


def has_ca() -> bool:
    return _ca_cert_path().exists() and _ca_key_path().exists()


def _is_production() -> bool:
    return current_app.config.get("ENV") == "production"


def ca_passphrase() -> str:
    """The configured CA passphrase, else the generated file; raises PkiError when neither exists."""
    value = current_app.config.get("PKI_CA_PASSPHRASE")
    if value:
        return value
    path = _ca_passphrase_path()
    if path.exists():
        return path.read_text().strip()
    raise PkiError(_("Passphrase CA belum diatur: isi PKI_CA_PASSPHRASE."))


def ensure_ca_passphrase() -> tuple[str, bool]:
    """The CA passphrase; outside production a random one is written once to <PKI_DIR>/ca-passphrase (600).

    Returns (passphrase, generated)."""
    try:
        return ca_passphrase(), False
    except PkiError:
        if _is_production():
            raise PkiError(
                "PKI_CA_PASSPHRASE belum diatur: di produksi isi variabel lingkungan PKI_CA_PASSPHRASE (atau "
                "instance/config.py) dengan passphrase acak yang panjang, lalu jalankan pki-init lagi."
            ) from None
    path = _ca_passphrase_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value, True


def government_name(profile: KelurahanProfile | None) -> str:
    """E.g. "Pemerintah Kota Mojokerto"."""
    if profile is None or not profile.regency_name:
        return "Pemerintah Daerah"
    return f"Pemerintah {profile.regency_kind.capitalize()} {profile.regency_name}"


def profile_row() -> KelurahanProfile | None:
    return db.session.scalar(select(KelurahanProfile).limit(1))


def create_ca(passphrase: str) -> x509.Certificate:
    """Create the CA (ECDSA P-256, 10 years); refuses to replace an existing one."""
    if _ca_cert_path().exists() or _ca_key_path().exists():
        raise PkiError(_("CA kelurahan sudah ada; tidak diganti."))
    profile = profile_row()
    village = profile.village_title if profile is not None and profile.village_name else "Kelurahan"
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, government_name(profile)),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, village),
        x509.NameAttribute(NameOID.COMMON_NAME, f"CA {village}"),
    ])
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS + 2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = pki_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_pem = encrypt_private_key(key, passphrase)
    fd = os.open(_ca_key_path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key_pem)
    _ca_cert_path().write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    audit.record("pki.ca_created", object_type="pki", object_id=format(cert.serial_number, "x"),
                 subject=cert.subject.rfc4514_string())
    return cert


def init_ca() -> tuple[bool, str]:
    """What ``pki-init`` does: create the CA if absent, never replace one. Returns (created, message)."""
    if has_ca():
        cert = ca_certificate()
        return False, (f"CA sudah ada, tidak diganti: {cert.subject.rfc4514_string()}, berlaku sampai "
                       f"{cert.not_valid_after_utc:%Y-%m-%d} ({_ca_cert_path()})")
    if _ca_cert_path().exists() or _ca_key_path().exists():
        raise PkiError(f"CA di {pki_dir()} tidak lengkap (ca.pem atau ca-key.pem hilang): periksa manual; "
                       "tidak ada yang diganti.")
    profile = profile_row()
    if profile is None or not profile.village_name:
        return False, ("Profil kelurahan belum diisi: CA belum dibuat (namanya diambil dari profil dan tidak "
                       "pernah diganti). Isi profil di menu Admin, lalu jalankan pki-init lagi.")
    passphrase, generated = ensure_ca_passphrase()
    cert = create_ca(passphrase)
    lines = [f"CA dibuat: {cert.subject.rfc4514_string()}, berlaku sampai "
             f"{cert.not_valid_after_utc:%Y-%m-%d} ({_ca_cert_path()})"]
    if generated:
        lines.append(f"Passphrase CA dibuat di {_ca_passphrase_path()} (mode 600)")
    return True, "\n".join(lines)


_CA_CACHE: dict[str, tuple[float, x509.Certificate]] = {}


def ca_certificate() -> x509.Certificate:
    """The CA certificate (re-read when the file changes); PkiError when there is no CA yet."""
    path = _ca_cert_path()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise PkiError(_("CA kelurahan belum dibuat (jalankan flask pki-init).")) from None
    hit = _CA_CACHE.get(str(path))
    if hit is None or hit[0] != mtime:
        hit = (mtime, x509.load_pem_x509_certificate(path.read_bytes()))
        _CA_CACHE[str(path)] = hit
    return hit[1]


_STORE_CACHE: dict[str, tuple[x509.Certificate, object]] = {}


def ca_store():
    """pyHanko's certificate store holding the CA (built once per CA: indexing it costs several ms)."""
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    ca = ca_certificate()
    key = str(_ca_cert_path())
    hit = _STORE_CACHE.get(key)
    if hit is None or hit[0] is not ca:
        der = ca.public_bytes(serialization.Encoding.DER)
        hit = (ca, SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(der)]))
        _STORE_CACHE[key] = hit
    return hit[1]


def ca_pem() -> bytes:
    return ca_certificate().public_bytes(serialization.Encoding.PEM)


def ca_der() -> bytes:
    return ca_certificate().public_bytes(serialization.Encoding.DER)


def ca_private_key() -> ec.EllipticCurvePrivateKey:
    try:
        return decrypt_private_key(_ca_key_path().read_bytes(), ca_passphrase())
    except WrongPassphrase:
        raise PkiError(_("Passphrase CA tidak cocok dengan kunci CA; periksa PKI_CA_PASSPHRASE.")) from None
    except FileNotFoundError:
        raise PkiError(_("CA kelurahan belum dibuat (jalankan flask pki-init).")) from None
