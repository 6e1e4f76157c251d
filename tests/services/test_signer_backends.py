"""Both signer backends sign the same demo letter through the same flow (issuing.issue_letter), and every failure
of the BSrE gateway leaves no half letter: no Letter row, no used number, the request unchanged, no secret kept.

The gateway is tests/esign_fake.py: a real HTTP server on 127.0.0.1 that signs with its own test root."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter
from sempelmas.models.requests import LetterRequest
from sempelmas.services.letters import backends, issuing
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.letters.backends import bsre as bsre_backend
from tests import esign_fake
from tests.bsre_setup import configure_bsre, use_bsre
from tests.signing_setup import LURAH_PASS, Desk, configure, page_text, qr_payloads

BSRE_WORDS = "sertifikat elektronik yang diterbitkan BSrE-BSSN"


@pytest.fixture
def desk(app, factory, tmp_path, esign_gateway):
    configure(app, tmp_path)
    configure_bsre(app, tmp_path, esign_gateway)
    return Desk(factory)


def _state(request_id: int) -> tuple:
    r = db.session.get(LetterRequest, request_id)
    db.session.refresh(r)
    return r.status, r.version, db.session.scalar(select(func.count()).select_from(Letter))


@pytest.mark.parametrize("backend", ["local", "bsre-v1", "bsre-v2", "bsre-v2-totp"])
def test_both_backends_sign_the_same_demo_letter_through_the_same_flow(app, desk, esign_gateway, backend):
    (request,) = desk.awaiting(1)
    passphrase, totp = LURAH_PASS, None
    if backend.startswith("bsre"):
        app.config["ESIGN_API_VERSION"] = "v1" if backend == "bsre-v1" else "v2"
        use_bsre(desk.lurah_official)
        passphrase = esign_fake.PASSPHRASE
        if backend.endswith("totp"):
            passphrase, totp = "", esign_gateway.totp_now()
    letter = issuing.issue_letter(request, desk.lurah, passphrase, totp=totp)
    assert letter.number and letter.sequence == 1 and letter.status == "sah"
    pdf = letter_store.path_of(letter).read_bytes()
    facts = letter_signing.signature_facts(pdf, backends.all_trust_roots_der())
    assert facts["verdict"] == "checked" and facts["intact"] and facts["valid"] and facts["trusted"] and facts["whole"]
    text = page_text(pdf)
    assert issuing.verify_url(letter.verify_code) in qr_payloads(pdf)  # the QR unchanged
    assert backends.backend_for(desk.lurah).footer_text() in text
    if backend == "local":
        assert letter.certificate_id is not None and BSRE_WORDS not in text
        assert "memakai sertifikat elektronik. Sesuai Pasal 5 ayat (1)" in text
        assert not [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]
    else:
        assert letter.certificate_id is None and BSRE_WORDS in text
        assert facts["signer_name"] == esign_fake.NAME
        signs = [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]
        assert len(signs) == 1 and signs[0].fields.get("nik") == esign_fake.NIK
        # the secret went to the gateway and nowhere else: not in the audit log
        secret = totp or passphrase
        audit_text = " ".join(str(e.details) for e in db.session.scalars(select(AuditEntry)))
        assert secret not in audit_text


# kind of failure → how to provoke it; every one happens after the gateway was asked (or refused before a number)
FAILURES = {
    "wrong passphrase": lambda g: None,
    "certificate not active (status)": lambda g: setattr(g.users[esign_fake.NIK], "status", "EXPIRED"),
    "certificate not active (signing)": lambda g: g.fail_next("expired"),
    "gateway down": lambda g: g.stop(),
    "gateway slow": lambda g: setattr(g, "mode", "slow"),
    "gateway 500": lambda g: g.fail_next("500"),
    "not a PDF": lambda g: g.fail_next("not_pdf"),
    "PDF that does not validate": lambda g: g.fail_next("bad_signature"),
    "foreign chain": lambda g: g.fail_next("untrusted"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_each_gateway_failure_leaves_no_half_letter_and_no_used_number(app, desk, esign_gateway, failure):
    app.config["ESIGN_READ_TIMEOUT"] = 1.0
    esign_gateway.slow_seconds = 3.0
    use_bsre(desk.lurah_official)
    (request,) = desk.awaiting(1)
    before = _state(request.id)
    FAILURES[failure](esign_gateway)
    passphrase = "passphrase-salah" if failure == "wrong passphrase" else esign_fake.PASSPHRASE
    with pytest.raises(letter_ca.PkiError) as refused:
        issuing.issue_letter(request, desk.lurah, passphrase)
    db.session.rollback()
    message = refused.value.message
    assert message and "Traceback" not in message and passphrase not in message
    assert message.count("belum ditandatangani") <= 1, message  # said once, however the refusal is composed
    if failure == "wrong passphrase":
        assert isinstance(refused.value, letter_ca.WrongPassphrase) and refused.value.field == "passphrase"
    assert _state(request.id) == before  # no Letter row, the request as it was
    assert not [p for p in letter_store.letter_dir().rglob("*") if p.is_file()]  # no file, pending or not
    # the number was not used: once the gateway is well, the same request gets sequence 1
    esign_gateway.mode = None
    esign_gateway.users[esign_fake.NIK].status = "ISSUE"
    if failure == "gateway down":
        esign_gateway.start()
    letter = issuing.issue_letter(db.session.get(LetterRequest, request.id), desk.lurah, esign_fake.PASSPHRASE)
    assert letter.sequence == 1
    assert passphrase not in " ".join(str(e.details) for e in db.session.scalars(select(AuditEntry)))


def test_a_bsre_official_whose_status_is_not_active_is_refused_before_a_number_is_taken(desk, esign_gateway):
    use_bsre(desk.lurah_official)
    esign_gateway.users[esign_fake.NIK].status = "REVOKE"
    (request,) = desk.awaiting(1)
    with pytest.raises(backends.SigningRefused) as refused:
        issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    assert refused.value.kind == "not_active"
    assert not [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]  # never asked to sign


def test_bsre_without_trust_roots_refuses_before_signing(app, desk, esign_gateway):
    use_bsre(desk.lurah_official)
    app.config["ESIGN_TRUST_ROOTS"] = ""
    (request,) = desk.awaiting(1)
    with pytest.raises(backends.SigningRefused) as refused:
        issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    assert refused.value.kind == "no_roots" and "ESIGN_TRUST_ROOTS" in refused.value.message
    assert not esign_gateway.requests


def test_a_gateway_pdf_that_is_not_the_letter_sent_is_refused(app, desk, esign_gateway):
    use_bsre(desk.lurah_official)
    backend = backends.backend_for(desk.lurah)
    backend.unlock(esign_fake.PASSPHRASE)
    from tests.pki_helpers import one_page_pdf

    sent = one_page_pdf()
    other = backend.sign(one_page_pdf(text="Surat lain"), reason="x", location="y")  # validly signed, not ours
    with pytest.raises(backends.SigningRefused) as refused:
        backend.check_signed(sent, other)
    assert refused.value.kind == "invalid_signature"
    backend.unlock(esign_fake.PASSPHRASE)
    backend.check_signed(sent, backend.sign(sent, reason="x", location="y"))  # ours passes


def test_batch_signing_is_refused_for_a_bsre_official(desk):
    from sempelmas.services.letters import batch_signing

    use_bsre(desk.lurah_official)
    requests = desk.awaiting(2)
    with pytest.raises(letter_ca.CertificateUnusable, match="BSrE"):
        batch_signing.start([r.tracking_number for r in requests], desk.lurah, esign_fake.PASSPHRASE)
    assert backends.capabilities_of(desk.lurah_official).batch is False
    assert backends.capabilities_of(desk.sekretaris_official).batch is True


def test_capabilities_follow_the_api_version(app, desk):
    use_bsre(desk.lurah_official)
    assert backends.capabilities_of(desk.lurah_official).totp is True
    app.config["ESIGN_API_VERSION"] = "v1"
    assert backends.capabilities_of(desk.lurah_official).totp is False


def test_the_admins_status_check_reports_the_gateways_word(desk, esign_gateway):
    use_bsre(desk.lurah_official)
    assert bsre_backend.status_of(desk.lurah_official)[0] is True
    esign_gateway.users[esign_fake.NIK].status = "EXPIRED"
    active, message = bsre_backend.status_of(desk.lurah_official)
    assert active is False and message
    esign_gateway.stop()
    active, message = bsre_backend.status_of(desk.lurah_official)
    assert active is False and message


def test_wrong_bsre_passphrases_are_counted_and_throttled_before_the_gateway_locks_the_certificate(
        app, desk, esign_gateway):
    use_bsre(desk.lurah_official)
    (request,) = desk.awaiting(1)
    limit = app.config["PKI_MAX_FAILURES"]
    for _ in range(limit):
        with pytest.raises(letter_ca.WrongPassphrase):
            issuing.issue_letter(db.session.get(LetterRequest, request.id), desk.lurah, "tebakan-salah")
    asked = len(esign_gateway.requests)
    with pytest.raises(letter_ca.TooManyAttempts):
        issuing.issue_letter(db.session.get(LetterRequest, request.id), desk.lurah, esign_fake.PASSPHRASE)
    assert len(esign_gateway.requests) == asked  # the gateway was not asked again
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 0


def test_no_secret_reaches_the_logs(app, desk, esign_gateway, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    use_bsre(desk.lurah_official)
    requests = desk.awaiting(2)
    with pytest.raises(letter_ca.WrongPassphrase):
        issuing.issue_letter(requests[0], desk.lurah, "rahasia-yang-salah-42")
    esign_gateway.fail_next("echo")  # a careless gateway repeating the secret in its error
    with pytest.raises(letter_ca.PkiError) as refused:
        issuing.issue_letter(db.session.get(LetterRequest, requests[0].id), desk.lurah, esign_fake.PASSPHRASE)
    assert esign_fake.PASSPHRASE not in refused.value.message
    totp = esign_gateway.totp_now()
    issuing.issue_letter(db.session.get(LetterRequest, requests[1].id), desk.lurah, "", totp=totp)
    for secret in ("rahasia-yang-salah-42", esign_fake.PASSPHRASE, totp):
        assert secret not in caplog.text


def test_a_test_letter_and_a_replacement_go_through_bsre_too(app, desk, esign_gateway):
    from sempelmas.services.letters import test_letter

    use_bsre(desk.lurah_official)
    made = test_letter.issue_test_letter(desk.lurah, esign_fake.PASSPHRASE)
    assert made.certificate_id is None
    facts = letter_signing.signature_facts(made.pdf, backends.all_trust_roots_der())
    assert facts["trusted"] and facts["whole"] and BSRE_WORDS in page_text(made.pdf)
    (request,) = desk.awaiting(1)
    first = issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    esign_gateway.fail_next("untrusted")
    with pytest.raises(backends.SigningRefused):
        issuing.issue_replacement(first, desk.lurah, esign_fake.PASSPHRASE, "Salah ketik alamat")
    db.session.rollback()
    assert db.session.get(Letter, first.id).status == "sah"  # the old letter untouched
    new = issuing.issue_replacement(db.session.get(Letter, first.id), desk.lurah, esign_fake.PASSPHRASE,
                                    "Salah ketik alamat")
    assert new.sequence == first.sequence + 1 and db.session.get(Letter, first.id).status != "sah"
