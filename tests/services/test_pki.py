"""The kelurahan CA, officials' certificates, PAdES signing and validation (pyHanko and poppler's pdfsig)."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.letters import SigningCertificate, SigningFailure
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import signing as letter_signing
from tests.pki_helpers import (
    PASSPHRASE,
    flip_byte_in_signed_range,
    make_ca,
    make_signer,
    one_page_pdf,
    pdfsig,
    use_pki_dir,
)
from tests.request_factory import make_profile


@pytest.fixture
def ca_dir(app, tmp_path):
    return make_ca(app, tmp_path)


def _sign(user, passphrase=PASSPHRASE, pdf=None):
    return letter_signing.signer_for(user).sign(one_page_pdf() if pdf is None else pdf, passphrase=passphrase,
                                     reason="Surat keterangan", location="Kelurahan Jagalan")


def _actions():
    return [a for (a,) in db.session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]


# ------------------------------------------------------------------------------------------ the CA


def test_ca_is_p256_for_ten_years_named_after_the_kelurahan(ca_dir):
    ca = letter_ca.ca_certificate()
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CA Kelurahan Jagalan"
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Pemerintah Kota Mojokerto"
    assert ca.public_key().curve.name == "secp256r1"
    assert 365 * 10 <= (ca.not_valid_after_utc - ca.not_valid_before_utc).days <= 365 * 10 + 5
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    key_pem = (ca_dir / "ca-key.pem").read_text()
    assert key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(ca_dir / "ca-key.pem").st_mode) == 0o600
    passphrase_file = ca_dir / "ca-passphrase"
    assert stat.S_IMODE(os.stat(passphrase_file).st_mode) == 0o600
    letter_ca.decrypt_private_key(key_pem, passphrase_file.read_text().strip())  # opens with the generated passphrase
    with pytest.raises(letter_ca.WrongPassphrase):
        letter_ca.decrypt_private_key(key_pem, "bukan-passphrase-ca")
    assert letter_ca.ca_pem() == (ca_dir / "ca.pem").read_bytes()


def test_init_ca_never_replaces_an_existing_ca(ca_dir):
    before = (ca_dir / "ca.pem").read_bytes(), (ca_dir / "ca-key.pem").read_bytes()
    created, message = letter_ca.init_ca()
    assert not created and "tidak diganti" in message
    assert ((ca_dir / "ca.pem").read_bytes(), (ca_dir / "ca-key.pem").read_bytes()) == before


def test_configured_ca_passphrase_is_used_and_no_file_is_written(app, tmp_path):
    make_profile()
    path = use_pki_dir(app, tmp_path)
    app.config["PKI_CA_PASSPHRASE"] = "ca-passphrase-dari-konfigurasi"
    assert letter_ca.init_ca()[0]
    assert not (path / "ca-passphrase").exists()
    letter_ca.decrypt_private_key((path / "ca-key.pem").read_bytes(), "ca-passphrase-dari-konfigurasi")


def test_production_without_ca_passphrase_is_a_clear_error(app, tmp_path):
    make_profile()
    path = use_pki_dir(app, tmp_path)
    app.config["ENV"] = "production"
    with pytest.raises(letter_ca.PkiError, match="PKI_CA_PASSPHRASE"):
        letter_ca.init_ca()
    assert not path.exists() or not any(path.iterdir())


def test_no_ca_yet_means_no_download(app, tmp_path):
    use_pki_dir(app, tmp_path)
    with pytest.raises(letter_ca.PkiError):
        letter_ca.ca_certificate()


# -------------------------------------------------------------------------------- certificates


def test_certificate_names_the_official_and_suits_document_signing(ca_dir, factory):
    user, official = make_signer(factory)
    row = letter_certs.active_certificate(user)
    cert = x509.load_pem_x509_certificate(row.cert_pem.encode())
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Budi Santoso, S.Sos"
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Lurah Jagalan"
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "197001011990031001"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Pemerintah Kota Mojokerto"
    assert cert.issuer == letter_ca.ca_certificate().subject
    assert cert.public_key().curve.name == "secp256r1"
    assert 729 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 731
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert row.key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert row.serial == format(cert.serial_number, "x")
    assert row.official_id == official.id
    letter_ca.decrypt_private_key(row.key_pem, PASSPHRASE)
    assert "pki.certificate_issued" in _actions()


def test_passphrase_rules(ca_dir, factory):
    user, official = make_signer(factory, passphrase=None)
    with pytest.raises(letter_ca.PkiError, match="minimal 10"):
        letter_certs.issue_certificate(user, official, "pendek")
    with pytest.raises(letter_ca.PkiError, match="kata sandi akun"):
        letter_certs.issue_certificate(user, official, "rahasia-123")  # the account password (tests' PASSWORD)
    assert db.session.scalar(select(SigningCertificate.id)) is None


def test_a_new_certificate_revokes_the_old_one_as_replaced(ca_dir, factory):
    user, official = make_signer(factory)
    old = letter_certs.active_certificate(user)
    new = letter_certs.issue_certificate(user, official, "passphrase-baru-456")
    db.session.commit()
    assert letter_certs.active_certificate(user).id == new.id
    assert old.revoked_at is not None and old.revocation_reason == "diganti"


def test_setup_signing_needs_the_account_password(ca_dir, factory):
    user, _official = make_signer(factory, passphrase=None)
    with pytest.raises(letter_ca.WrongPassphrase):
        letter_certs.setup_signing(user, "salah-sandi", PASSPHRASE)
    db.session.commit()
    assert letter_certs.active_certificate(user) is None
    assert db.session.query(SigningFailure).count() == 1
    cert = letter_certs.setup_signing(user, "rahasia-123", PASSPHRASE)
    assert letter_certs.active_certificate(user).id == cert.id


# -------------------------------------------------------------------------------------- signing


def test_signed_pdf_validates_in_pyhanko_as_intact_valid_trusted(ca_dir, factory):
    user, _official = make_signer(factory)
    signed = _sign(user)
    result = letter_signing.validate_pdf(signed)
    assert (result.intact, result.valid, result.trusted, result.covers_whole_file) == (True, True, True, True)
    assert result.ok and result.signer_name == "Budi Santoso, S.Sos" and not result.timestamped
    assert abs(result.signed_at - utcnow()) < timedelta(minutes=2)
    assert len(signed) < 120 * 1024


def test_signed_pdf_validates_in_pdfsig_and_is_trusted_once_the_ca_is_imported(ca_dir, factory, tmp_path):
    user, _official = make_signer(factory)
    signed = _sign(user)
    plain = pdfsig(signed, tmp_path)
    assert "Signature is Valid." in plain
    assert "Budi Santoso" in plain and "SHA-256" in plain
    # PAdES B-LT: the validation info (DSS) follows the signature in an incremental update, which pdfsig
    # cannot tell from other additions; pyHanko's diff analysis does (validate_pdf says the file is whole)
    assert "Not total document signed" in plain
    assert letter_signing.validate_pdf(signed).covers_whole_file
    trusted = pdfsig(signed, tmp_path, trust_ca=ca_dir / "ca.pem")
    assert "Signature is Valid." in trusted
    assert "Certificate is Trusted." in trusted


def test_one_flipped_byte_breaks_the_signature_in_both_validators(ca_dir, factory, tmp_path):
    user, _official = make_signer(factory)
    tampered = flip_byte_in_signed_range(_sign(user))
    result = letter_signing.validate_pdf(tampered)
    assert not result.intact and not result.valid and not result.ok
    assert "diubah" in result.message
    out = pdfsig(tampered, tmp_path)
    assert "Signature is Valid." not in out
    assert "Digest Mismatch" in out


def test_a_signature_from_another_ca_is_not_trusted(ca_dir, factory, tmp_path, app):
    user, _official = make_signer(factory)
    signed = _sign(user)
    make_ca(app, tmp_path / "other")  # the kelurahan's CA is now a different one
    result = letter_signing.validate_pdf(signed)
    assert result.intact and result.valid and not result.trusted and not result.ok


@pytest.mark.parametrize("data", [b"", b"bukan pdf", b"%PDF-1.4\n%%EOF", one_page_pdf()])
def test_validate_pdf_answers_bad_input_without_raising(ca_dir, data):
    result = letter_signing.validate_pdf(data)
    assert not result.ok and result.message


def test_wrong_passphrase_signs_nothing_and_is_counted(ca_dir, factory):
    user, _official = make_signer(factory)
    with pytest.raises(letter_ca.WrongPassphrase) as err:
        _sign(user, "passphrase-keliru")
    assert "salah" in err.value.message
    db.session.commit()
    assert db.session.query(SigningFailure).filter_by(user_id=user.id).count() == 1
    assert "pki.passphrase_wrong" in _actions()


def test_throttled_after_five_wrong_passphrases_even_with_the_right_one(ca_dir, factory, app):
    user, _official = make_signer(factory)
    signer = letter_signing.signer_for(user)
    for _ in range(5):
        with pytest.raises(letter_ca.WrongPassphrase):
            signer.sign(one_page_pdf(), passphrase="passphrase-keliru", reason="", location="")
    db.session.commit()
    with pytest.raises(letter_ca.TooManyAttempts) as err:
        signer.sign(one_page_pdf(), passphrase=PASSPHRASE, reason="", location="")
    assert "15 menit" in err.value.message
    assert timedelta(minutes=14) < err.value.wait <= timedelta(minutes=15)
    # failures older than the window no longer count
    for f in db.session.scalars(select(SigningFailure)):
        f.at = utcnow() - timedelta(minutes=16)
    db.session.commit()
    assert letter_signing.validate_pdf(_sign(user)).ok


def test_revoked_and_expired_certificates_refuse_to_sign(ca_dir, factory):
    user, _official = make_signer(factory)
    cert = letter_certs.active_certificate(user)
    signer = letter_signing.signer_for(user)
    letter_certs.revoke_certificate(cert, user, "Kunci bocor")
    db.session.commit()
    with pytest.raises(letter_ca.CertificateUnusable, match="dicabut"):
        signer.sign(one_page_pdf(), passphrase=PASSPHRASE, reason="", location="")
    with pytest.raises(letter_ca.CertificateUnusable):
        letter_signing.signer_for(user)
    assert "pki.certificate_revoked" in _actions()

    other, _o = make_signer(factory, name="Siti Aminah", nip=None)
    cert2 = letter_certs.active_certificate(other)
    signer2 = letter_signing.signer_for(other)
    cert2.not_after = utcnow() - timedelta(days=1)
    db.session.commit()
    assert letter_certs.active_certificate(other) is None
    with pytest.raises(letter_ca.CertificateUnusable, match="kedaluwarsa"):
        signer2.sign(one_page_pdf(), passphrase=PASSPHRASE, reason="", location="")


def test_revoking_needs_a_reason_and_happens_once(ca_dir, factory):
    user, _official = make_signer(factory)
    cert = letter_certs.active_certificate(user)
    with pytest.raises(letter_ca.PkiError, match="Alasan"):
        letter_certs.revoke_certificate(cert, user, "  ")
    letter_certs.revoke_certificate(cert, user, "Pensiun")
    with pytest.raises(letter_ca.PkiError, match="sudah dicabut"):
        letter_certs.revoke_certificate(cert, user, "lagi")


def test_change_passphrase_and_the_old_one_stops_working(ca_dir, factory):
    user, _official = make_signer(factory)
    with pytest.raises(letter_ca.WrongPassphrase):
        letter_certs.change_passphrase(user, "passphrase-keliru", "passphrase-baru-789")
    with pytest.raises(letter_ca.PkiError, match="minimal 10"):
        letter_certs.change_passphrase(user, PASSPHRASE, "pendek")
    letter_certs.change_passphrase(user, PASSPHRASE, "passphrase-baru-789")
    db.session.commit()
    with pytest.raises(letter_ca.WrongPassphrase):
        _sign(user, PASSPHRASE)
    assert letter_signing.validate_pdf(_sign(user, "passphrase-baru-789")).ok
    assert "pki.passphrase_changed" in _actions()


def test_key_is_pkcs8_scrypt_that_openssl_readers_open(ca_dir, factory):
    from asn1crypto import core

    user, _official = make_signer(factory)
    import base64

    pem = letter_certs.active_certificate(user).key_pem
    der = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    outer = core.Sequence.load(der)
    alg = outer[0]
    assert alg[0].native == "1.2.840.113549.1.5.13"  # PBES2
    assert alg[1][0][0].native == "1.3.6.1.4.1.11591.4.11"  # scrypt
    assert alg[1][1][0].native == "2.16.840.1.101.3.4.1.42"  # AES-256-CBC


def _local_tsa(tmp_path):
    """An RFC 3161 timestamp authority on 127.0.0.1 (pyHanko's DummyTimeStamper behind werkzeug), its
    certificate issued by the kelurahan CA."""
    import threading
    from datetime import UTC, datetime

    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    ca = letter_ca.ca_certificate()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's dummy TSA is RSA-only
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TSA Uji")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(letter_ca.ca_private_key(), hashes.SHA256()))
    to_asn1 = asn1_x509.Certificate.load
    stamper = DummyTimeStamper(
        tsa_cert=to_asn1(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(letter_ca.ca_der())]))
    hits = []

    @Request.application
    def tsa(request):
        hits.append(request.content_type)
        resp = stamper.request_tsa_response(tsp.TimeStampReq.load(request.get_data()))
        return Response(resp.dump(), content_type="application/timestamp-reply")

    server = make_server("127.0.0.1", 0, tsa, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def test_with_a_timestamp_authority_the_signature_is_timestamped(ca_dir, factory, app, tmp_path):
    server, hits = _local_tsa(tmp_path)
    try:
        app.config["PKI_TSA_URL"] = f"http://127.0.0.1:{server.server_port}/"
        user, _official = make_signer(factory)
        signed = _sign(user)
    finally:
        server.shutdown()
    # the signature's timestamp, then the document timestamp of B-LTA (its size sampled by one more request)
    assert set(hits) == {"application/timestamp-query"} and 2 <= len(hits) <= 3
    result = letter_signing.validate_pdf(signed)
    assert result.ok and result.timestamped
    assert "Signature is Valid." in pdfsig(signed, tmp_path)


def test_an_unreachable_timestamp_authority_signs_nothing(ca_dir, factory, app):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config["PKI_TSA_URL"] = f"http://127.0.0.1:{port}/"
    user, _official = make_signer(factory)
    with pytest.raises(letter_ca.PkiError, match="cap waktu"):
        _sign(user)


@pytest.mark.parametrize("data", [b"", b"bukan pdf", b"%PDF-1.4\n%%EOF"])
def test_signing_a_broken_pdf_is_a_clear_refusal(ca_dir, factory, data):
    user, _official = make_signer(factory)
    with pytest.raises(letter_ca.PkiError, match="PDF rusak"):
        _sign(user, pdf=data)
    assert db.session.query(SigningFailure).count() == 0
