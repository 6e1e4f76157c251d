"""The kelurahan certificate authority and the officials' signing keys (PAdES with pyHanko).

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

import asyncio
import base64
import concurrent.futures
import functools
import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from asn1crypto import core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from flask import current_app
from sqlalchemy import func, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.letters import SigningCertificate, SigningFailure
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.services.accountability import audit

CA_YEARS = 10
CERT_YEARS = 2
MIN_PASSPHRASE = 10
#: extended key usages for document signing: e-mail protection (NSS/poppler check signers against it),
#: RFC 9336 document signing, Microsoft document signing, Adobe Authentic Documents Trust
DOCUMENT_SIGNING_EKUS = (
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
    ObjectIdentifier("1.3.6.1.5.5.7.3.36"),
    ObjectIdentifier("1.3.6.1.4.1.311.10.3.12"),
    ObjectIdentifier("1.2.840.113583.1.1.5"),
)
REASON_REPLACED = "diganti"
#: readable names for the subject attributes that RFC 4514 would print as dotted OIDs
_NAME_LABELS = {NameOID.SERIAL_NUMBER: "serialNumber", NameOID.TITLE: "title"}
#: room for the CMS signature container in the PDF (it is written hex-encoded: twice this in the file)
SIGNATURE_BYTES_RESERVED = 6144
TIMESTAMP_BYTES_RESERVED = 8192


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


def _profile() -> KelurahanProfile | None:
    return db.session.scalar(select(KelurahanProfile).limit(1))


def create_ca(passphrase: str) -> x509.Certificate:
    """Create the CA (ECDSA P-256, 10 years); refuses to replace an existing one."""
    if _ca_cert_path().exists() or _ca_key_path().exists():
        raise PkiError(_("CA kelurahan sudah ada; tidak diganti."))
    profile = _profile()
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
    profile = _profile()
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


def _ca_store():
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


def _ca_key() -> ec.EllipticCurvePrivateKey:
    try:
        return decrypt_private_key(_ca_key_path().read_bytes(), ca_passphrase())
    except WrongPassphrase:
        raise PkiError(_("Passphrase CA tidak cocok dengan kunci CA; periksa PKI_CA_PASSPHRASE.")) from None
    except FileNotFoundError:
        raise PkiError(_("CA kelurahan belum dibuat (jalankan flask pki-init).")) from None


# --------------------------------------------------------------------------------- certificates


def official_for(user) -> Official | None:
    """The active official linked to this account (the profile's officials list)."""
    return db.session.scalar(
        select(Official).where(Official.user_id == user.id, Official.active.is_(True)).order_by(Official.id).limit(1)
    )


def active_certificate(user) -> SigningCertificate | None:
    """The user's certificate that is neither revoked nor expired."""
    now = utcnow()
    return db.session.scalar(
        select(SigningCertificate)
        .where(SigningCertificate.user_id == user.id, SigningCertificate.revoked_at.is_(None),
               SigningCertificate.not_before <= now, SigningCertificate.not_after > now)
        .order_by(SigningCertificate.id.desc()).limit(1)
    )


def certificates_of(user) -> list[SigningCertificate]:
    return list(db.session.scalars(
        select(SigningCertificate).where(SigningCertificate.user_id == user.id)
        .order_by(SigningCertificate.id.desc())
    ))


def certificate_status(cert: SigningCertificate, now: datetime | None = None) -> str:
    """"aktif", "dicabut" or "kedaluwarsa"."""
    now = now or utcnow()
    if cert.revoked_at is not None:
        return "dicabut"
    if cert.not_after <= now:
        return "kedaluwarsa"
    return "aktif"


def validate_passphrase(user, passphrase: str, field: str = "passphrase") -> None:
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise PkiError(_("Passphrase tanda tangan minimal %(n)d karakter.", n=MIN_PASSPHRASE), field)
    from sempelmas.services.people.passwords import check_password

    if check_password(user.password_hash, passphrase):
        raise PkiError(_("Passphrase tanda tangan tidak boleh sama dengan kata sandi akun."), field)


def issue_certificate(user, official: Official, passphrase: str, *, actor=None) -> SigningCertificate:
    """A new key pair and certificate (ECDSA P-256, 2 years) for ``user`` as ``official``; the key is encrypted
    under ``passphrase``. The user's previous active certificate is revoked with reason "diganti"."""
    validate_passphrase(user, passphrase)
    ca_cert = ca_certificate()
    ca_key = _ca_key()
    profile = _profile()
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, government_name(profile))]
    if profile is not None and profile.village_name:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, profile.village_title))
    attrs.append(x509.NameAttribute(NameOID.TITLE, official.position_title[:64]))
    if official.nip:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, official.nip))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, official.name[:64]))
    subject = x509.Name(attrs)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC).replace(microsecond=0)
    not_after = min(now + timedelta(days=365 * CERT_YEARS), ca_cert.not_valid_after_utc)
    serial = x509.random_serial_number()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(DOCUMENT_SIGNING_EKUS)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    actor = actor or user
    previous = active_certificate(user)
    if previous is not None:
        revoke_certificate(previous, actor, REASON_REPLACED)
    row = SigningCertificate(
        user_id=user.id, official_id=official.id, serial=format(serial, "x"),
        subject=subject.rfc4514_string(_NAME_LABELS)[:300],
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem=encrypt_private_key(key, passphrase),
        not_before=cert.not_valid_before_utc.replace(tzinfo=None),
        not_after=cert.not_valid_after_utc.replace(tzinfo=None),
    )
    db.session.add(row)
    db.session.flush()
    audit.record("pki.certificate_issued", row, actor=actor, serial=row.serial, official=official.name,
                 not_after=row.not_after.isoformat())
    return row


def setup_signing(user, account_password: str, passphrase: str) -> SigningCertificate:
    """First time (or after revocation): the account password proves it is the official; then a certificate."""
    from sempelmas.services.people.passwords import check_password

    official = official_for(user)
    if official is None:
        raise PkiError(_("Akun Anda belum terhubung dengan data pejabat penandatangan; hubungi admin."))
    if active_certificate(user) is not None:
        raise PkiError(_("Anda sudah memiliki sertifikat aktif; gunakan ganti passphrase."))
    check_not_throttled(user)
    if not check_password(user.password_hash, account_password or ""):
        record_failure(user, kind="account_password")
        raise WrongPassphrase(_("Kata sandi akun salah."), "account_password")
    return issue_certificate(user, official, passphrase, actor=user)


def change_passphrase(user, old: str, new: str) -> SigningCertificate:
    """Re-encrypt the active certificate's key under ``new``; a wrong ``old`` is a counted failure."""
    cert = active_certificate(user)
    if cert is None:
        raise CertificateUnusable(_("Anda belum memiliki sertifikat tanda tangan yang aktif."))
    check_not_throttled(user)
    try:
        key = decrypt_private_key(cert.key_pem, old or "")
    except WrongPassphrase:
        record_failure(user)
        raise WrongPassphrase(_("Passphrase lama salah."), "old_passphrase") from None
    validate_passphrase(user, new, "new_passphrase")
    if new == old:
        raise PkiError(_("Passphrase baru harus berbeda dari yang lama."), "new_passphrase")
    cert.key_pem = encrypt_private_key(key, new)
    audit.record("pki.passphrase_changed", cert, actor=user, serial=cert.serial)
    db.session.flush()
    return cert


def revoke_certificate(cert: SigningCertificate, actor, reason: str) -> None:
    """Revoke: it signs nothing new; letters it signed stay valid unless revoked one by one."""
    reason = (reason or "").strip()
    if not reason:
        raise PkiError(_("Alasan pencabutan wajib diisi."), "reason")
    if cert.revoked_at is not None:
        raise PkiError(_("Sertifikat ini sudah dicabut."))
    cert.revoked_at = utcnow()
    cert.revoked_by_id = getattr(actor, "id", actor)
    cert.revocation_reason = reason[:500]
    audit.record("pki.certificate_revoked", cert, actor=actor, serial=cert.serial, reason=cert.revocation_reason)
    db.session.flush()


# ----------------------------------------------------------------------------------- throttling


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["PKI_FAILURE_WINDOW_MINUTES"])


def check_not_throttled(user) -> None:
    """TooManyAttempts when the user had PKI_MAX_FAILURES wrong passphrases within the window."""
    now = utcnow()
    since = now - _window()
    count, oldest = db.session.execute(
        select(func.count(SigningFailure.id), func.min(SigningFailure.at))
        .where(SigningFailure.user_id == user.id, SigningFailure.at > since)
    ).one()
    limit = current_app.config["PKI_MAX_FAILURES"]
    if count >= limit:
        # the window frees a slot when the oldest failure in it ages out
        rows = db.session.scalars(
            select(SigningFailure.at).where(SigningFailure.user_id == user.id, SigningFailure.at > since)
            .order_by(SigningFailure.at.desc()).limit(limit)
        ).all()
        wait = max(rows[-1] + _window() - now, timedelta(seconds=1))
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise TooManyAttempts(
            _("Terlalu banyak passphrase salah. Coba lagi dalam %(m)d menit.", m=minutes), wait)


def record_failure(user, *, kind: str = "passphrase") -> None:
    """Count a wrong passphrase (SigningFailure) and audit it. The caller commits."""
    db.session.add(SigningFailure(user_id=user.id, at=utcnow()))
    audit.record("pki.passphrase_wrong", user, actor=user, kind=kind)
    db.session.flush()


# ----------------------------------------------------------------------------------------- signing


class Signer(Protocol):
    def sign(self, pdf: bytes, *, passphrase: str, reason: str, location: str) -> bytes: ...


def _check_usable(cert: SigningCertificate | None) -> SigningCertificate:
    if cert is None:
        raise CertificateUnusable(_("Anda belum memiliki sertifikat tanda tangan; buat di halaman Kunci Tanda "
                                    "Tangan."))
    now = utcnow()
    if cert.revoked_at is not None:
        raise CertificateUnusable(_("Sertifikat tanda tangan sudah dicabut; buat passphrase baru untuk "
                                    "sertifikat baru."))
    if cert.not_after <= now or cert.not_before > now:
        raise CertificateUnusable(_("Sertifikat tanda tangan sudah kedaluwarsa; minta admin mencabutnya lalu "
                                    "buat yang baru."))
    return cert


class KelurahanCASigner:
    """The built-in backend: the official's key from the kelurahan CA, unlocked by the passphrase.

    The unlocked key lives in this object only (one request); ``unlock`` first lets the signing flow check the
    passphrase before it takes a letter number."""

    def __init__(self, certificate: SigningCertificate):
        self.certificate = certificate
        self._unlocked: tuple[str, object] | None = None

    def unlock(self, passphrase: str):
        """Check usability, throttling and the passphrase; returns pyHanko's signer (cached per passphrase)."""
        cert = _check_usable(self.certificate)
        if self._unlocked is not None and secrets.compare_digest(self._unlocked[0], passphrase or ""):
            return self._unlocked[1]
        from sempelmas.models.accounts import User

        user = db.session.get(User, cert.user_id)
        check_not_throttled(user)
        try:
            key = decrypt_private_key(cert.key_pem, passphrase or "")
        except WrongPassphrase:
            record_failure(user)
            raise
        from pyhanko.sign import signers

        signing_cert = _asn1_certificate(cert.cert_pem)
        key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        signer = signers.SimpleSigner(signing_cert=signing_cert, signing_key=key_info,
                                      cert_registry=_ca_store())
        self._unlocked = (passphrase, signer)
        return signer

    def sign(self, pdf: bytes, *, passphrase: str, reason: str, location: str) -> bytes:
        return _sign_pdf(self.unlock(passphrase), pdf, reason, location)

    def held(self) -> HeldSigner:
        """The key unlocked by ``unlock`` for a batch's own process: it signs without the passphrase, which
        it does not keep (services/letters/batch_signing.py). Call ``unlock`` first."""
        if self._unlocked is None:
            raise CertificateUnusable(_("Kunci tanda tangan belum dibuka."))
        return HeldSigner(self.certificate.id, self._unlocked[1])


class HeldSigner:
    """An official's key already unlocked with their passphrase, kept only in the memory of the process that
    signs a batch (never stored): each letter re-reads the certificate, so one revoked meanwhile stops the
    rest of the batch."""

    def __init__(self, certificate_id: int, signer):
        self.certificate_id = certificate_id
        self._signer = signer

    @property
    def certificate(self) -> SigningCertificate | None:
        return db.session.get(SigningCertificate, self.certificate_id)

    def sign(self, pdf: bytes, *, passphrase: str | None = None, reason: str, location: str) -> bytes:
        _check_usable(self.certificate)
        return _sign_pdf(self._signer, pdf, reason, location)


def _sign_pdf(signer, pdf: bytes, reason: str, location: str) -> bytes:
    """PAdES-sign ``pdf`` with an unlocked pyHanko signer (and the TSA's timestamp when PKI_TSA_URL is set)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    timestamper = None
    tsa = current_app.config.get("PKI_TSA_URL")
    if tsa:
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(tsa)
    meta = signers.PdfSignatureMetadata(
        field_name="TandaTanganElektronik", md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason=reason or None, location=location or None,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as e:  # noqa: BLE001 - pyHanko raises several types for a broken PDF
        raise PkiError(_("Berkas PDF rusak; tidak dapat ditandatangani.")) from e
    # a fixed reservation spares pyHanko a dry-run signature to estimate the size (half the signing time);
    # ECDSA signature + two certificates take ~3.5 KB, a timestamp token ~4 KB more
    reserved = SIGNATURE_BYTES_RESERVED + (TIMESTAMP_BYTES_RESERVED if timestamper else 0)
    try:
        out = outside_event_loop(signers.sign_pdf, writer, meta, signer=signer, timestamper=timestamper,
                                 bytes_reserved=reserved)
    except TimestampRequestError as e:
        raise PkiError(_("Layanan cap waktu (TSA) tidak dapat dihubungi; surat belum ditandatangani. "
                         "Coba lagi nanti.")) from e
    return out.getvalue()


@functools.lru_cache(maxsize=64)
def _asn1_certificate(cert_pem: str) -> asn1_x509.Certificate:
    """The parsed certificate for pyHanko, kept per process: asn1crypto parses lazily and pyHanko reads many
    fields, which costs more than the signature itself on a fresh object (public data: safe to keep)."""
    return asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER))


def signer_for(user) -> Signer:
    """The signer of the user's active certificate; CertificateUnusable when there is none."""
    return KelurahanCASigner(_check_usable(active_certificate(user)))


# --------------------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ValidationResult:
    intact: bool
    valid: bool
    trusted: bool
    signer_name: str | None
    signed_at: datetime | None
    message: str
    #: the signature covers the whole file (nothing appended after signing)
    covers_whole_file: bool = False
    #: a timestamp authority's token is embedded (PAdES B-T) and checks out
    timestamped: bool = False

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_whole_file


def outside_event_loop(fn, *args, **kwargs):
    """Call one of pyHanko's synchronous entry points, which run their own event loop (asyncio.run).

    That fails in a thread where a loop is already running (an async server, or Playwright's sync API
    in the same test process); there the call is made in a short-lived worker thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def trust_roots_der() -> list[bytes]:
    """The kelurahan CA as DER, the only trust root of a signature check (none before ``pki-init``)."""
    try:
        return [ca_der()]
    except PkiError:
        return []


def signature_facts(pdf: bytes, roots_der: list[bytes]) -> dict:
    """What pyHanko finds about the last signature of ``pdf``, as plain JSON-able data (no Flask, no
    database, no translated text): safe to run in an isolated child (services/files/isolation.py).

    ``verdict`` is "unreadable", "unsigned", "damaged" or "checked"; for "checked" the flags say the rest."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(der) for der in roots_der]
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - any parse error means "not a readable PDF"
        return {"verdict": "unreadable"}
    if not sigs:
        return {"verdict": "unsigned"}
    try:
        status = outside_event_loop(validate_pdf_signature, sigs[-1],
                                    ValidationContext(trust_roots=roots, allow_fetching=False))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - a damaged signature dictionary or CMS blob
        return {"verdict": "damaged"}
    name = None
    try:
        name = status.signing_cert.subject.native.get("common_name")
    except Exception:  # noqa: BLE001  # pragma: no cover
        name = None
    signed_at = status.signer_reported_dt
    ts = status.timestamp_validity
    timestamped = bool(ts is not None and ts.intact and ts.valid)
    if timestamped and ts.timestamp is not None:
        signed_at = ts.timestamp
    if signed_at is not None and signed_at.tzinfo is not None:
        signed_at = signed_at.astimezone(UTC).replace(tzinfo=None)
    return {"verdict": "checked", "intact": bool(status.intact), "valid": bool(status.valid),
            "trusted": bool(status.trusted), "whole": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
            "timestamped": timestamped, "signer_name": name,
            "signed_at": signed_at.isoformat() if signed_at is not None else None}


def validation_result(facts: dict) -> ValidationResult:
    """The verdict of ``signature_facts`` with its message in the reader's language."""
    verdict = facts["verdict"]
    if verdict != "checked":
        if verdict == "unreadable":
            message = _("Berkas bukan PDF yang dapat dibaca.")
        elif verdict == "unsigned":
            message = _("PDF tidak memuat tanda tangan elektronik.")
        else:
            message = _("Tanda tangan elektronik rusak.")
        return ValidationResult(False, False, False, None, None, str(message))
    intact = facts["intact"]
    valid = facts["valid"] and intact
    trusted = facts["trusted"] and valid
    whole = facts["whole"]
    if not intact:
        message = _("Isi PDF telah diubah setelah ditandatangani: tanda tangan tidak sah.")
    elif not valid:
        message = _("Tanda tangan elektronik tidak sah.")
    elif not trusted:
        message = _("Tanda tangan utuh, tetapi sertifikatnya tidak diterbitkan oleh CA kelurahan ini.")
    elif not whole:
        message = _("Tanda tangan sah, tetapi PDF ditambah setelah ditandatangani.")
    else:
        message = _("Tanda tangan elektronik sah dan dokumen tidak berubah sejak ditandatangani.")
    signed_at = datetime.fromisoformat(facts["signed_at"]) if facts["signed_at"] else None
    return ValidationResult(intact, valid, trusted, facts["signer_name"], signed_at, str(message), whole,
                            facts["timestamped"])


def validate_pdf(pdf: bytes) -> ValidationResult:
    """Check the last signature of ``pdf`` with the kelurahan CA as the only trust root; never raises for bad
    input (not a PDF, broken, unsigned): the result says so.

    In-process, without a budget: for the app's own letters. A file from outside goes through
    ``letters.check_upload``, which bounds the work first."""
    return validation_result(signature_facts(pdf, trust_roots_der()))
