"""The officials' signing certificates, issued by the kelurahan CA (services.letters.ca): issue, set up,
change the passphrase, revoke; and the throttle on wrong passphrases.

Each signing official has a :class:`SigningCertificate`; the private key is stored PKCS#8 encrypted under the
official's own signing passphrase, so the server cannot sign without it. Services do not commit: after
:class:`WrongPassphrase` the caller commits so the failure stays counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from flask import current_app
from sqlalchemy import func, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.i18n import ngettext
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.letters import SigningCertificate, SigningFailure
from sempelmas.models.profile import Official
from sempelmas.services.accountability import audit
from sempelmas.services.letters import ca_public
from sempelmas.services.letters.ca import (
    CertificateUnusable,
    PkiError,
    TooManyAttempts,
    WrongPassphrase,
    ca_certificate,
    ca_private_key,
    decrypt_private_key,
    encrypt_private_key,
    government_name,
    profile_row,
)

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
    ca_key = ca_private_key()
    profile = profile_row()
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
        .add_extension(ca_public.crl_distribution_point(), critical=False)
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
            ngettext("Terlalu banyak passphrase salah. Coba lagi dalam %(num)d menit.",
                     "Terlalu banyak passphrase salah. Coba lagi dalam %(num)d menit.", minutes), wait)


def record_failure(user, *, kind: str = "passphrase") -> None:
    """Count a wrong passphrase (SigningFailure) and audit it. The caller commits."""
    db.session.add(SigningFailure(user_id=user.id, at=utcnow()))
    audit.record("pki.passphrase_wrong", user, actor=user, kind=kind)
    db.session.flush()
