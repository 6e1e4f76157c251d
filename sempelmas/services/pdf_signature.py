"""INTERIM signature check of an uploaded PDF, until the PKI part's ``pki.validate_pdf`` is merged.

Same name, arguments and result as the contract's ``pki.validate_pdf(pdf) -> ValidationResult``; the
trust root is the kelurahan CA at ``PKI_DIR/ca.pem`` (default ``instance/pki/ca.pem``). On merge, the one
import in ``sempelmas/services/letters.py`` switches to ``sempelmas.services.pki`` and this file goes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from flask import current_app
from flask_babel import gettext as _


@dataclass(frozen=True)
class ValidationResult:
    intact: bool
    valid: bool
    trusted: bool
    signer_name: str | None
    signed_at: datetime | None
    message: str


def _trust_roots() -> list:
    pki_dir = Path(current_app.config.get("PKI_DIR") or Path(current_app.instance_path) / "pki")
    path = pki_dir / "ca.pem"
    if not path.exists():
        return []
    data = path.read_bytes()
    if pem.detect(data):
        data = pem.unarmor(data)[2]
    return [asn1_x509.Certificate.load(data)]


def validate_pdf(pdf: bytes) -> ValidationResult:
    """Check the last signature of ``pdf`` against the kelurahan CA (pyHanko). Raises on an unreadable PDF."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    sigs = reader.embedded_signatures
    if not sigs:
        return ValidationResult(False, False, False, None, None,
                                _("Berkas ini tidak memiliki tanda tangan elektronik."))
    roots = _trust_roots()
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_signature(sigs[-1], context)
    signer = status.signing_cert.subject.native.get("common_name") if status.signing_cert else None
    valid = bool(status.intact and status.valid)
    if not status.intact:
        message = _("Isi berkas telah diubah setelah ditandatangani: tanda tangan tidak sah.")
    elif not status.valid:
        message = _("Tanda tangan elektronik tidak sah.")
    elif not status.trusted:
        message = _("Tanda tangan utuh, tetapi sertifikatnya tidak diterbitkan oleh CA kelurahan.")
    else:
        message = _("Tanda tangan elektronik sah dan sertifikatnya diterbitkan oleh CA kelurahan.")
    return ValidationResult(bool(status.intact), valid, bool(status.trusted), signer,
                            status.signer_reported_dt, message)
