"""Signing letters (PAdES with pyHanko, the official's key unlocked by the passphrase) and checking the
signature of a PDF against the kelurahan CA.

A signer unlocks its key once and keeps it in memory for the request only (a batch of letters pays it once).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.letters import SigningCertificate
from sempelmas.services.letters.ca import (
    CertificateUnusable,
    PkiError,
    WrongPassphrase,
    ca_der,
    ca_store,
    decrypt_private_key,
)
from sempelmas.services.letters.certificates import active_certificate, check_not_throttled, record_failure

#: room for the CMS signature container in the PDF (it is written hex-encoded: twice this in the file)
SIGNATURE_BYTES_RESERVED = 6144
TIMESTAMP_BYTES_RESERVED = 8192


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
                                      cert_registry=ca_store())
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
    """PAdES-sign ``pdf`` with an unlocked pyHanko signer: B-LT, or B-LTA when PKI_TSA_URL is set
    (services/letters/ltv.py holds the long-term validation settings)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from sempelmas.services.letters import ltv

    timestamper = ltv.timestamper()
    meta = signers.PdfSignatureMetadata(
        field_name="TandaTanganElektronik", md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, reason=reason or None, location=location or None,
        **ltv.signature_options(),
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
    except Exception as e:
        if ltv.timestamp_failure(e):
            raise ltv.TimestampFailed(ltv.tsa_failed_message()) from e
        raise
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


def tsa_roots_der() -> tuple[bytes, ...]:
    """The timestamp authority's roots (PKI_TSA_TRUST_ROOTS) as DER: trusted for timestamps only, never for
    the official's signature."""
    from sempelmas.services.letters import ltv

    try:
        return tuple(c.dump() for c in ltv.tsa_trust_roots())
    except PkiError:
        return ()


def signature_facts(pdf: bytes, roots_der: list[bytes], tsa_roots_der: tuple[bytes, ...] = ()) -> dict:
    """What pyHanko finds about the last signature of ``pdf``, as plain JSON-able data (no Flask, no
    database, no translated text): safe to run in an isolated child (services/files/isolation.py).

    ``verdict`` is "unreadable", "unsigned", "damaged" or "checked"; for "checked" the flags say the rest."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(der) for der in roots_der]
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        # the official's signature, not the document timestamps a B-LTA letter adds after it
        sigs = reader.embedded_regular_signatures
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - any parse error means "not a readable PDF"
        return {"verdict": "unreadable"}
    if not sigs:
        return {"verdict": "unsigned"}
    try:
        ts_roots = roots + [asn1_x509.Certificate.load(der) for der in tsa_roots_der]
        status = outside_event_loop(validate_pdf_signature, sigs[-1],
                                    ValidationContext(trust_roots=roots, allow_fetching=False),
                                    ts_validation_context=ValidationContext(trust_roots=ts_roots,
                                                                            allow_fetching=False))
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
            "trusted": bool(status.trusted),
            "whole": _covers_whole_file(status, sigs[-1], pdf, SignatureCoverageLevel, ModificationLevel),
            "timestamped": timestamped, "signer_name": name,
            "signed_at": signed_at.isoformat() if signed_at is not None else None}


def _covers_whole_file(status, sig, pdf: bytes, coverage, modification) -> bool:
    """The signature covers the file, or what follows it is only validation info and document timestamps
    (PAdES B-LT/B-LTA, services/letters/ltv.py), which change nothing a reader sees: pyHanko's diff analysis
    finds nothing beyond such updates, and each later revision adds a DSS or a document timestamp (a viewer's
    save, even of mere metadata, still counts as an addition)."""
    if status.coverage == coverage.ENTIRE_FILE:
        return True
    if not (status.coverage == coverage.ENTIRE_REVISION and status.modification_level is not None
            and status.modification_level <= modification.LTA_UPDATES):
        return False
    _a, _b, c, d = (int(x) for x in sig.sig_object["/ByteRange"])
    later = [part for part in pdf[c + d:].split(b"%%EOF") if part.strip()]
    return bool(later) and all(b"/DSS" in part or b"/DocTimeStamp" in part for part in later)


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
    ``upload_check.check_upload``, which bounds the work first."""
    return validation_result(signature_facts(pdf, trust_roots_der(), tsa_roots_der()))
