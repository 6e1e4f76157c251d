"""Test-only signed letters: a throwaway CA (made with ``cryptography``) and pyHanko signatures, plus
``make_letter`` to put a Letter row with its stored PDF in the database and ``issue_letter`` for a resident's
done request with its valid signed letter.

The CA is written to the app's ``PKI_DIR/ca.pem``, where the signature check looks for its trust root
(the kelurahan CA the PKI part creates lives at the same place)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import current_app
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfWriter

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.profile import Official
from sempelmas.models.requests import RequestStatus
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import store as letter_store
from sempelmas.services.letters.signing import outside_event_loop
from tests.request_factory import submit


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kelurahan Uji"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@cache
def test_pki():
    """(CA certificate, signer certificate, signer key): made once per test session."""
    now = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("CA Uji")).issuer_name(_name("CA Uji"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("BUDI LURAH")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return ca, cert, key


def install_test_ca(app=None) -> Path:
    """Write the throwaway CA where the signature check reads its trust root."""
    app = app or current_app
    pki_dir = Path(app.config.get("PKI_DIR") or Path(app.instance_path) / "pki")
    pki_dir.mkdir(parents=True, exist_ok=True)
    path = pki_dir / "ca.pem"
    path.write_bytes(test_pki()[0].public_bytes(serialization.Encoding.PEM))
    return path


def unsigned_pdf(text: str = "Surat uji") -> bytes:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.add_metadata({"/Title": text})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@cache
def _signer() -> signers.SimpleSigner:
    ca, cert, key = test_pki()
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]),
    )


def signed_pdf(text: str = "Surat uji") -> bytes:
    """A one-page PDF with a PAdES signature by the throwaway CA's signer."""
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned_pdf(text)))
    meta = signers.PdfSignatureMetadata(field_name="TandaTangan", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = outside_event_loop(signers.sign_pdf, writer, meta, signer=_signer())
    return out.getvalue()


_seq = [0]


def make_letter(request, signer, *, official=None, pdf: bytes | None = None, status=LetterStatus.VALID,
                code: str | None = None, number: str | None = None, signed_at: datetime | None = None,
                **fields) -> Letter:
    """A Letter row for ``request`` with its PDF stored through letter_store (a real signed one by default)."""
    import hashlib

    pdf = pdf if pdf is not None else signed_pdf()
    _seq[0] += 1
    seq = _seq[0]
    letter = Letter(
        request_id=request.id, number=number or f"470/{seq:03d}/417.604.3/2026", scope="semua", year=2026,
        sequence=seq, verify_code=code or letter_store.new_verify_code(), service_code="domisili",
        title="Surat Keterangan Domisili", signed_at=signed_at or datetime(2026, 3, 4, 3, 15),
        signer_user_id=signer.id, official_id=official.id if official else None,
        stored_name=letter_store.new_stored_name(), pdf_sha256=hashlib.sha256(pdf).hexdigest(), pdf_size=len(pdf),
        status=status, **{**letters.facts_as_printed(request, official, signer), **fields})
    db.session.add(letter)
    db.session.flush()
    letter_store.stage_pdf(letter.stored_name, pdf)  # as issuing does: staged, committed, published
    db.session.commit()
    letter_store.publish_pdf(letter.stored_name)
    return letter


def issue_letter(app, factory, applicant) -> dict:
    """``applicant``'s request, done, with a valid letter (a real signature the test CA vouches for) signed by
    the account "lurah" as Drs. SUGENG RAHARJO, Lurah Jagalan. The profile and the service must exist.

    Returns the applicant, request, signer, official and letter by name."""
    install_test_ca(app)
    req = submit(applicant)
    req.status = RequestStatus.DONE
    signer = factory.staff(Role.SIGNER, "lurah")
    official = Official(name="Drs. SUGENG RAHARJO", position="lurah", position_title="Lurah Jagalan",
                        user_id=signer.id)
    db.session.add(official)
    db.session.commit()
    letter = make_letter(req, signer, official=official)
    return {"applicant": applicant, "request": req, "signer": signer, "official": official, "letter": letter}
