"""Long-term validation of the kelurahan's letters (issue 18): the CA's CRL, PAdES B-LT / B-LTA signing through
the app's real signing flow, the refresh of document timestamps, and what pyHanko's AdES long-term validation
(no fetching, at a date after the signer's certificate expired) and poppler's pdfsig make of the letters.

The timestamp authority and its CRL come from a declared test PKI (tests/pki/ltv.yml) served by Certomancer on
127.0.0.1 (tests/ltv_pki.py)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import ca_public, issuing, ltv, ltv_refresh
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from tests import ltv_pki
from tests.pki_helpers import pdfsig
from tests.signing_setup import LURAH_PASS, Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    return Desk(factory)


@pytest.fixture
def test_pki(tmp_path):
    pki = ltv_pki.serve(tmp_path)
    yield pki
    pki.close()


@pytest.fixture
def with_tsa(app, test_pki):
    app.config.update(PKI_TSA_URL=test_pki.tsa_url, PKI_TSA_TRUST_ROOTS=str(test_pki.root_pem), PKI_TSA_TIMEOUT=5)
    return test_pki


def _sign(desk) -> Letter:
    (request,) = desk.awaiting(1)
    return issuing.issue_letter(request, desk.lurah, LURAH_PASS)


def _roots(test_pki=None) -> list:
    roots = [asn1_x509.Certificate.load(letter_ca.ca_der())]
    if test_pki is not None:
        roots.append(asn1_x509.Certificate.load(test_pki.cert_der("root")))
    return roots


def ltv_verdict(pdf: bytes, roots: list, at: datetime, *, tsa_crl=None):
    """pyHanko's AdES long-term validation (ETSI EN 319 102-1 § 5.6.3, what ``pyhanko sign validate --ltv``
    does in 0.38) of the letter's signature at ``at``: revocation info required, nothing fetched.

    The newest document timestamp is, by design, checked at ``at`` itself: its TSA's revocation status *then*
    (``tsa_crl``, the test TSA root's CRL as published at ``at``) is what any validator fetches on the day;
    everything about the signer comes from the file alone."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        LocalKnowledge,
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer

    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=roots),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=LocalKnowledge(known_crls=[CRLContainer(tsa_crl)] if tsa_crl is not None else [])))
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=True)
    sig = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_regular_signatures[0]
    return asyncio.run(ades_lta_validation(sig, spec, timing_info=timing))


def _passed(result) -> bool:
    from pyhanko.sign.ades.report import AdESPassed

    return result.ades_subindic == AdESPassed.OK


# ------------------------------------------------------------------------------------ signing B-LT(A)


def test_a_letter_signed_today_validates_long_term_after_its_signer_certificate_expired(desk, with_tsa, tmp_path):
    letter = _sign(desk)
    pdf = letter_store.read_pdf(letter)
    later = datetime.now(UTC) + timedelta(days=365 * 5)  # the signer's certificate is valid two years
    signer_cert = x509.load_pem_x509_certificate(letter_certs.active_certificate(desk.lurah).cert_pem.encode())
    assert signer_cert.not_valid_after_utc < later
    result = ltv_verdict(pdf, _roots(with_tsa), later, tsa_crl=with_tsa.crl_at(later))
    assert _passed(result), result.ades_subindic
    assert ltv.last_timestamp(pdf).kind == "document"  # B-LTA
    # the verification page's own check agrees (the TSA trusted for the timestamp), and pdfsig where it can judge
    page_check = letter_signing.validate_pdf(pdf)
    assert page_check.ok and page_check.timestamped
    out = pdfsig(pdf, tmp_path, trust_ca=tmp_path / "pki" / "ca.pem")
    assert out.count("Signature is Valid.") >= 1 and "Digest Mismatch" not in out
    assert "Certificate is Trusted." in out


def test_without_a_tsa_a_letter_carries_its_validation_info_but_nothing_proves_its_time(desk, app):
    """Without a TSA the DSS holds the CA and the CRL, so a check that requires revocation info passes today from
    the file alone; but ETSI's B-LT presupposes a signature timestamp (B-T), and without one pyHanko's AdES
    long-term validation cannot place the signature in time: indeterminate today and after expiry."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    letter = _sign(desk)
    pdf = letter_store.read_pdf(letter)
    assert ltv.last_timestamp(pdf).kind == "none"
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = DocumentSecurityStore.read_dss(reader)
    assert len(dss.crls) == 1
    vc = dss.as_validation_context({"trust_roots": _roots(), "allow_fetching": False, "revocation_mode": "require"})
    status = letter_signing.outside_event_loop(validate_pdf_signature, reader.embedded_regular_signatures[0], vc)
    assert status.bottom_line
    assert letter_signing.validate_pdf(pdf).ok
    assert not _passed(ltv_verdict(pdf, _roots(), datetime.now(UTC) + timedelta(days=365 * 5)))


def test_a_letter_signed_before_its_certificate_was_revoked_stays_valid(desk, with_tsa):
    letter = _sign(desk)
    cert = letter_certs.active_certificate(desk.lurah)
    letter_certs.revoke_certificate(cert, desk.staff, "kunci hilang")
    db.session.commit()
    crl = ca_public.current_crl()  # re-made at once: it lists the revocation
    assert int(cert.serial, 16) in {r.serial_number for r in crl}
    report = ltv_refresh.refresh_letters(days=365 * 100)  # the next run: fresh DSS (with that CRL) and timestamp
    assert letter.number in report.refreshed and not report.failed
    pdf = letter_store.read_pdf(letter)
    later = datetime.now(UTC) + timedelta(days=365 * 5)
    result = ltv_verdict(pdf, _roots(with_tsa), later, tsa_crl=with_tsa.crl_at(later))
    assert _passed(result), result.ades_subindic
    assert letter_signing.validate_pdf(pdf).ok


def test_the_tsa_root_is_trusted_for_timestamps_never_for_a_signature(desk, with_tsa):
    """The test PKI's own signer (issued by the TSA's root) signs a PDF: it is not the kelurahan's signature."""
    from asn1crypto import keys as asn1_keys
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from tests.pki_helpers import one_page_pdf

    arch = with_tsa.arch
    key = arch.key_set.get_private_key("signer")
    signer = signers.SimpleSigner(signing_cert=arch.get_cert("signer"),
                                  signing_key=asn1_keys.PrivateKeyInfo.load(key.dump()),
                                  cert_registry=SimpleCertificateStore.from_certs([arch.get_cert("root")]))
    meta = signers.PdfSignatureMetadata(field_name="Sig", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    w = IncrementalPdfFileWriter(io.BytesIO(one_page_pdf()), strict=False)
    pdf = letter_signing.outside_event_loop(signers.sign_pdf, w, meta, signer=signer).getvalue()
    result = letter_signing.validate_pdf(pdf)
    assert result.intact and result.valid and not result.trusted and not result.ok


def test_signing_while_the_tsa_is_down_fails_with_no_letter_and_no_used_number(desk, with_tsa):
    (request,) = desk.awaiting(1)
    with_tsa.fail = True
    with pytest.raises(ltv.TimestampFailed, match="cap waktu"):
        issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    with_tsa.fail = False
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert letter.sequence == 1  # the number the failed attempt would have taken


# ------------------------------------------------------------------------------------------- refresh


def test_refresh_adds_a_document_timestamp_to_a_letter_whose_tsa_certificate_expires_soon(desk, with_tsa, client):
    letter = _sign(desk)
    before = letter_store.read_pdf(letter)
    tsa_until = ltv.last_timestamp(before).tsa_not_after
    assert ltv_refresh.refresh_letters(days=30).refreshed == []  # the test TSA's certificate runs to 2090
    days = (tsa_until - datetime.now(UTC)).days + 1
    report = ltv_refresh.refresh_letters(days=days)
    assert report.refreshed == [letter.number] and report.failed == []
    after = letter_store.read_pdf(letter)
    db.session.refresh(letter)
    assert after.startswith(before) and len(after) > len(before)  # an incremental update
    from pyhanko.pdf_utils.reader import PdfFileReader

    assert len(PdfFileReader(io.BytesIO(after), strict=False).embedded_timestamp_signatures) == 2
    import hashlib

    assert letter.pdf_sha256 == hashlib.sha256(after).hexdigest() and letter.pdf_size == len(after)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "letter.ltv_refresh")).one()
    assert entry.details["old_sha256"] == hashlib.sha256(before).hexdigest()
    assert letter_signing.validate_pdf(after).ok
    later = datetime.now(UTC) + timedelta(days=365 * 5)
    assert _passed(ltv_verdict(after, _roots(with_tsa), later, tsa_crl=with_tsa.crl_at(later)))
    # a reader holding the download from before the refresh: still the issued letter, still SAH
    for data in (before, after):
        resp = client.post(f"/v/{letter.verify_code}", data={"berkas": (io.BytesIO(data), "surat.pdf")},
                           content_type="multipart/form-data")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "sama persis" in html and "Tanda tangan elektronik sah" in html


def test_a_letter_signed_before_a_tsa_was_configured_gets_its_first_timestamp(desk, app, test_pki):
    letter = _sign(desk)  # B-LT, no timestamp
    before = letter_store.read_pdf(letter)
    app.config.update(PKI_TSA_URL=test_pki.tsa_url, PKI_TSA_TRUST_ROOTS=str(test_pki.root_pem))
    report = ltv_refresh.refresh_letters(days=30)
    assert report.refreshed == [letter.number]
    after = letter_store.read_pdf(letter)
    assert after.startswith(before) and ltv.last_timestamp(after).kind == "document"
    assert letter_signing.validate_pdf(after).ok
    from pyhanko.sign.ades.report import AdESIndeterminate

    # the document timestamp proves the letter (signature and DSS) existed from today; but pyHanko's AdES
    # validation insists on a *signature* timestamp (B-T) and stays indeterminate: only letters signed with the
    # TSA configured are fully B-LTA (README, "Long-term validation")
    soon = datetime.now(UTC) + timedelta(days=1)
    result = ltv_verdict(after, _roots(test_pki), soon, tsa_crl=test_pki.crl_at(soon))
    assert result.ades_subindic == AdESIndeterminate.SIG_CONSTRAINTS_FAILURE


def test_a_letter_the_tsa_cannot_refresh_is_reported_logged_and_audited(desk, with_tsa, caplog):
    letter = _sign(desk)
    before = letter_store.read_pdf(letter)
    with_tsa.fail = True
    report = ltv_refresh.refresh_letters(days=365 * 100)
    assert report.refreshed == [] and [n for n, _why in report.failed] == [letter.number]
    assert "cap waktu" in report.failed[0][1]
    assert letter_store.read_pdf(letter) == before
    assert any("LTV refresh" in r.getMessage() for r in caplog.records)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "letter.ltv_refresh_failed")).one()
    assert entry.details["number"] == letter.number


def test_the_ltv_run_command_prints_what_it_did(desk, with_tsa, app):
    letter = _sign(desk)
    with_tsa.fail = True
    result = app.test_cli_runner().invoke(args=["ltv", "run", "--days", "36500"])
    assert result.exit_code == 1, result.output
    assert letter.number in result.output and "gagal" in result.output
    with_tsa.fail = False
    result = app.test_cli_runner().invoke(args=["ltv", "run", "--days", "36500"])
    assert result.exit_code == 0, result.output
    assert "diperbarui: 1" in result.output


# ----------------------------------------------------------------------------------- CRL and certificates


def test_the_crl_is_signed_by_the_ca_lists_revocations_and_is_served(desk, client, app):
    cert = letter_certs.active_certificate(desk.sekretaris)
    letter_certs.revoke_certificate(cert, desk.staff, "pindah tugas")
    db.session.commit()
    resp = client.get("/pki/kelurahan.crl")
    assert resp.status_code == 200 and resp.content_type == "application/pkix-crl"
    assert "max-age=600" in resp.headers["Cache-Control"]
    crl = x509.load_der_x509_crl(resp.data)
    ca = letter_ca.ca_certificate()
    assert crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(int(cert.serial, 16))
    assert entry is not None and entry.revocation_date_utc.replace(tzinfo=None) == cert.revoked_at.replace(
        microsecond=0)
    assert timedelta(days=6) < crl.next_update_utc - crl.last_update_utc <= timedelta(days=7)
    lurah = letter_certs.active_certificate(desk.lurah)
    assert crl.get_revoked_certificate_by_serial_number(int(lurah.serial, 16)) is None


def test_a_stale_crl_is_made_again(desk):
    old = ca_public.publish_crl(datetime.now(UTC) - timedelta(days=2))
    assert not ca_public.crl_is_current(old)
    assert ca_public.current_crl().last_update_utc > old.last_update_utc


def test_signing_certificates_name_the_crl_and_carry_the_key_usages_validators_expect(desk, app):
    cert = x509.load_pem_x509_certificate(letter_certs.active_certificate(desk.lurah).cert_pem.encode())
    dps = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for dp in dps for n in dp.full_name] == [app.config["PUBLIC_URL"] + "/pki/kelurahan.crl"]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment  # non-repudiation
    assert not ku.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku


# ---------------------------------------------------------------------------------- trusting the CA


def test_the_ca_is_offered_as_cer_and_as_an_adobe_fdf_with_steps(desk, client):
    der = letter_ca.ca_der()
    cer = client.get("/ca-kelurahan.cer")
    assert cer.status_code == 200 and cer.content_type == "application/pkix-cert"
    assert x509.load_der_x509_certificate(cer.data) == letter_ca.ca_certificate()
    fdf = client.get("/ca-kelurahan.fdf")
    assert fdf.status_code == 200 and fdf.content_type == "application/vnd.fdf"
    assert fdf.data.startswith(b"%FDF-1.2") and der in fdf.data and b"/Contacts" in fdf.data
    assert b"/TrustFlags 3" in fdf.data
    page = client.get("/ca-kelurahan")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Adobe" in html
    assert 'href="/ca-kelurahan.fdf"' in html and 'href="/ca-kelurahan.cer"' in html
    fingerprint = letter_ca.ca_certificate().fingerprint(__import__("cryptography.hazmat.primitives.hashes",
                                                                     fromlist=["SHA256"]).SHA256())
    assert fingerprint.hex(":").upper() in html


def test_the_verification_page_links_the_steps(desk, client):
    letter = _sign(desk)
    html = client.get(f"/v/{letter.verify_code}").get_data(as_text=True)
    assert 'href="/ca-kelurahan"' in html and 'href="/ca-kelurahan.pem"' in html


def test_without_a_ca_the_pages_are_not_found(client, app, tmp_path):
    configure(app, tmp_path)
    for path in ("/ca-kelurahan", "/ca-kelurahan.cer", "/ca-kelurahan.fdf", "/pki/kelurahan.crl"):
        assert client.get(path).status_code == 404, path


# ------------------------------------------------------------------------------------------ doctor


def _ltv_findings(**kw):
    from sempelmas.services.operations import doctor

    return [f for f in doctor.run(only=("ltv",), **kw)]


def test_doctor_ltv_is_ok_with_a_fresh_crl_and_no_tsa(desk):
    found = _ltv_findings()
    assert {f.level for f in found} == {"OK"}, found
    assert any("CRL berlaku" in f.message for f in found) and any("Tanpa TSA" in f.message for f in found)


def test_doctor_warns_about_a_crl_past_its_next_update_and_makes_it_again(desk):
    ca_public.publish_crl(datetime.now(UTC) - timedelta(days=8))
    found = _ltv_findings()
    assert [f.level for f in found if "CRL" in f.message] == ["WARN"]
    assert ca_public.crl_is_current(ca_public.load_crl())


def test_doctor_warns_about_an_unreachable_tsa(desk, app):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config.update(PKI_TSA_URL=f"http://127.0.0.1:{port}/tsa", PKI_TSA_TIMEOUT=2)
    found = _ltv_findings()
    assert any(f.level == "WARN" and "tidak dapat dihubungi" in f.message for f in found), found


def test_doctor_lists_the_letters_the_last_run_could_not_refresh(desk, with_tsa):
    letter = _sign(desk)
    with_tsa.fail = True
    ltv_refresh.refresh_letters(days=365 * 100)
    with_tsa.fail = False
    found = _ltv_findings()
    warn = [f for f in found if f.level == "WARN"]
    assert len(warn) == 1 and letter.number in warn[0].message and "ltv run" in warn[0].fix
    ltv_refresh.refresh_letters(days=365 * 100)
    assert {f.level for f in _ltv_findings()} == {"OK"}


def test_doctor_warns_when_the_ltv_run_has_not_run_with_a_tsa(desk, with_tsa):
    found = _ltv_findings()
    assert any(f.level == "WARN" and "tidak berjalan" in f.message for f in found), found
