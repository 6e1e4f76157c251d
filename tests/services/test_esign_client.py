"""The BSrE Esign Client Service client against a fake gateway on 127.0.0.1 (tests/esign_fake.py) that really signs
with its own test root: the returned PDFs are checked with pyHanko against that root, and every way the gateway can
fail gives its own EsignError kind and message, without the passphrase or TOTP anywhere but the one request."""

from __future__ import annotations

import logging
import time
import traceback
from types import SimpleNamespace

import pytest

from sempelmas.services.letters import esign_client
from sempelmas.services.letters.esign_client import Appearance, EsignClient, EsignConfig, EsignError, UserStatus
from sempelmas.services.letters.signing import signature_facts
from tests.esign_fake import NAME, NIK, PASSPHRASE, PASSWORD, TOTP_SECRET, USERNAME, FakeUser, totp, totp_ok
from tests.letter_fixtures import unsigned_pdf
from tests.pki_helpers import one_page_pdf

VERSIONS = ["v1", "v2"]
OTHER_NIK = "3578010101800002"


def client(gateway, version="v2", **overrides) -> EsignClient:
    cfg = dict(base_url=gateway.url, username=USERNAME, password=PASSWORD, version=version, connect_timeout=2.0,
               read_timeout=10.0)
    cfg.update(overrides)
    return EsignClient(EsignConfig(**cfg))


def assert_signed_by_bsre_root(pdf: bytes, gateway, name: str = NAME) -> None:
    facts = signature_facts(pdf, [gateway.root_der])
    assert facts["verdict"] == "checked"
    assert facts["intact"] and facts["valid"] and facts["trusted"] and facts["whole"], facts
    assert facts["signer_name"] == name


def failure_of(fn) -> EsignError:
    with pytest.raises(EsignError) as info:
        fn()
    return info.value


def assert_no_secret(error: EsignError, *secrets: str) -> None:
    texts = [str(error), repr(error), error.gateway_message, repr(error.args), str(error.message),
             "".join(traceback.format_exception(error))]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    # raised outside the except block: no requests exception (which holds the request body) hangs on it
    assert error.__cause__ is None and error.__context__ is None


# ----------------------------------------------------------------------------------------------- signing


@pytest.mark.parametrize("version", VERSIONS)
def test_the_gateway_signs_a_pdf_that_validates_against_its_root(esign_gateway, version):
    pdf = one_page_pdf()

    signed = client(esign_gateway, version).sign_pdf(pdf, nik=NIK, passphrase=PASSPHRASE,
                                                     reason="Surat keterangan", location="Jagalan")

    assert signed.startswith(pdf[:8]) and len(signed) > len(pdf)
    assert_signed_by_bsre_root(signed, esign_gateway)
    # the passphrase went in that one request, with the NIK, behind Basic auth
    (sent,) = esign_gateway.requests
    assert sent.auth == (USERNAME, PASSWORD)
    assert sent.fields["nik"] == NIK and sent.fields["passphrase"] == PASSPHRASE
    if version == "v1":
        assert sent.path == "/api/sign/pdf" and sent.fields["tampilan"] == "invisible"
        assert sent.fields["file"] == len(pdf)
    else:
        assert sent.path == "/api/v2/sign/pdf" and "totp" not in sent.fields
        (props,) = sent.fields["signatureProperties"]
        assert props["tampilan"] == "INVISIBLE" and props["reason"] == "Surat keterangan"
        assert props["location"] == "Jagalan" and sent.fields["file"] == [len(pdf)]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pypdf_made_pdf_is_signed_as_well(esign_gateway, version):
    signed = client(esign_gateway, version).sign_pdf(unsigned_pdf(), nik=NIK, passphrase=PASSPHRASE)
    assert_signed_by_bsre_root(signed, esign_gateway)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_visible_signature_sends_the_appearance_the_description_names(esign_gateway, version):
    qr = Appearance(link_qr="https://surat.jagalan.test/v/ABCD1234", page=1, x=400, y=80, width=90, height=90,
                    tag="[qr_bsre]")

    signed = client(esign_gateway, version).sign_pdf(one_page_pdf(), nik=NIK, passphrase=PASSPHRASE,
                                                     appearance=qr)

    assert_signed_by_bsre_root(signed, esign_gateway)
    sent = esign_gateway.requests[-1].fields
    if version == "v1":
        assert sent["tampilan"] == "visible" and sent["image"] == "false"
        assert sent["linkQR"] == qr.link_qr and sent["tag_koordinat"] == "[qr_bsre]"
        assert (sent["page"], sent["xAxis"], sent["yAxis"], sent["width"], sent["height"]) == \
            ("1", "400", "80", "90", "90")
    else:
        (props,) = sent["signatureProperties"]
        # v2 takes an image only: the QR of the link is drawn as a PNG
        assert props["tampilan"] == "VISIBLE" and props["imageBase64"]
        assert (props["page"], props["originX"], props["originY"], props["width"], props["height"]) == \
            (1, 400, 80, 90, 90)
        assert props["tag_koordinat"] == "[qr_bsre]"


def test_v1_sends_an_image_as_the_imagettd_file(esign_gateway):
    png = esign_client._qr_png("https://surat.jagalan.test/v/X")

    client(esign_gateway, "v1").sign_pdf(one_page_pdf(), nik=NIK, passphrase=PASSPHRASE,
                                         appearance=Appearance(image=png, x=10, y=10, width=80, height=80))

    sent = esign_gateway.requests[-1].fields
    assert sent["image"] == "true" and sent["imageTTD"] == len(png) and "linkQR" not in sent


# ----------------------------------------------------------------------------------------------- TOTP


def test_totp_follows_rfc_6238():
    # RFC 6238 appendix B, SHA-1, the last 6 of its 8 digits
    assert totp(TOTP_SECRET, 59) == "287082"
    assert totp(TOTP_SECRET, 1111111109) == "081804"
    assert totp_ok(TOTP_SECRET, totp(TOTP_SECRET, 1000 - 30), at=1000)  # one step of clock drift
    assert not totp_ok(TOTP_SECRET, totp(TOTP_SECRET, 1000 - 90), at=1000)


def test_v2_signs_with_a_right_totp_instead_of_the_passphrase(esign_gateway):
    code = esign_gateway.totp_now()

    signed = client(esign_gateway).sign_pdf(one_page_pdf(), nik=NIK, totp=code)

    assert_signed_by_bsre_root(signed, esign_gateway)
    sent = esign_gateway.requests[-1].fields
    assert sent["totp"] == code and "passphrase" not in sent


def test_a_wrong_totp_is_refused_as_a_totp_error(esign_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = f"{(int(esign_gateway.totp_now()) + 500_000) % 1_000_000:06d}"

    error = failure_of(lambda: client(esign_gateway).sign_pdf(one_page_pdf(), nik=NIK, totp=wrong))

    assert error.kind == "totp" and "TOTP" in str(error) and "kedaluwarsa" in str(error)
    assert_no_secret(error, wrong)
    assert all(wrong not in r.getMessage() for r in caplog.records)


def test_v1_does_not_take_a_totp_and_sends_nothing(esign_gateway):
    error = failure_of(lambda: client(esign_gateway, "v1").sign_pdf(one_page_pdf(), nik=NIK, totp="123456"))
    assert error.kind == "rejected" and "v1" in str(error)
    assert esign_gateway.requests == []


@pytest.mark.parametrize("secrets", [{}, {"passphrase": ""}, {"passphrase": PASSPHRASE, "totp": "123456"}])
def test_exactly_one_secret_is_required(esign_gateway, secrets):
    error = failure_of(lambda: client(esign_gateway).sign_pdf(one_page_pdf(), nik=NIK, **secrets))
    assert error.kind == "passphrase" and esign_gateway.requests == []


# ----------------------------------------------------------------------------------------------- user status


@pytest.mark.parametrize("version", VERSIONS)
def test_user_status_says_whether_the_official_can_sign(esign_gateway, version):
    esign_gateway.users[OTHER_NIK] = FakeUser("ENDAH PRATIWI", "lain-123", TOTP_SECRET, "EXPIRED")
    gateway = client(esign_gateway, version)

    active = gateway.user_status(NIK)
    expired = gateway.user_status(OTHER_NIK)
    unknown = gateway.user_status("3578019999999999")

    assert active == UserStatus(True, active.message) and "ISSUE" in active.message
    assert not expired.active and "EXPIRED" in expired.message
    assert not unknown.active and "NOT_REGISTERED" in unknown.message
    if version == "v1":
        assert esign_gateway.requests[0].path == f"/api/user/status/{NIK}"
    else:
        assert esign_gateway.requests[0].path == "/api/v2/user/check/status"
        assert esign_gateway.requests[0].fields == {"nik": NIK}


def test_a_nik_that_is_not_16_digits_is_refused_before_any_request(esign_gateway):
    for nik in ("12345", "3578010101800001/../../x", "35780101018000０1"):
        error = failure_of(lambda nik=nik: client(esign_gateway, "v1").user_status(nik))
        assert error.kind == "rejected" and "16 angka" in str(error)
    assert esign_gateway.requests == []


# ----------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_passphrase_is_a_passphrase_error_that_never_shows_it(esign_gateway, version, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "salah-sekali-987"

    error = failure_of(lambda: client(esign_gateway, version).sign_pdf(one_page_pdf(), nik=NIK, passphrase=wrong))

    assert error.kind == "passphrase" and error.http_status == 400
    assert str(error) == "Passphrase sertifikat elektronik BSrE salah. Surat belum ditandatangani."
    assert error.gateway_message == "Passphrase anda salah"
    assert_no_secret(error, wrong)
    assert caplog.records and all(wrong not in r.getMessage() for r in caplog.records)


def _signing_failure(gateway, version, *, passphrase=PASSPHRASE, nik=NIK, **overrides) -> EsignError:
    return failure_of(lambda: client(gateway, version, **overrides).sign_pdf(one_page_pdf(), nik=nik,
                                                                             passphrase=passphrase))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_nik_the_gateway_does_not_know_is_not_active(esign_gateway, version):
    error = _signing_failure(esign_gateway, version, nik=OTHER_NIK)
    assert error.kind == "not_active" and "tidak terdaftar di BSrE" in str(error)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("status", ["EXPIRED", "REVOKE", "SUSPEND"])
def test_a_certificate_that_is_not_active_stops_signing(esign_gateway, version, status):
    esign_gateway.users[NIK].status = status
    error = _signing_failure(esign_gateway, version)
    assert error.kind == "not_active" and "tidak aktif" in str(error) and status in error.gateway_message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_certificate_the_gateway_finds_expired_while_signing_is_not_active(esign_gateway, version):
    esign_gateway.fail_next("expired")
    error = _signing_failure(esign_gateway, version)
    assert error.kind == "not_active" and "EXPIRED" in error.gateway_message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_gateway_that_is_down_is_unavailable(esign_gateway, version, caplog):
    caplog.set_level(logging.DEBUG)
    esign_gateway.stop()

    error = _signing_failure(esign_gateway, version)

    assert error.kind == "unavailable" and "tidak dapat dihubungi" in str(error) and esign_gateway.url in str(error)
    assert_no_secret(error, PASSPHRASE)
    assert all(PASSPHRASE not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_500_is_unavailable(esign_gateway, version):
    esign_gateway.fail_next("500")
    error = _signing_failure(esign_gateway, version)
    assert error.kind == "unavailable" and "HTTP 500" in str(error)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_slow_gateway_times_out_within_the_read_timeout(esign_gateway, version):
    esign_gateway.slow_seconds = 5
    esign_gateway.fail_next("slow")

    started = time.monotonic()
    error = _signing_failure(esign_gateway, version, read_timeout=1.0)
    took = time.monotonic() - started

    assert error.kind == "timeout" and "tidak menjawab dalam 1 detik" in str(error)
    assert took < 1.0 + 1.0
    assert_no_secret(error, PASSPHRASE)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_gateway_trickling_its_answer_cannot_hold_the_worker(esign_gateway, version):
    """Every read gets a byte within the read timeout; the whole exchange is bounded all the same."""
    esign_gateway.slow_seconds = 10
    esign_gateway.fail_next("trickle")

    started = time.monotonic()
    error = _signing_failure(esign_gateway, version, connect_timeout=0.5, read_timeout=1.0)
    took = time.monotonic() - started

    assert error.kind == "timeout" and took < 0.5 + 1.0 + 1.0


@pytest.mark.parametrize("version", VERSIONS)
def test_a_success_that_is_not_a_pdf_is_a_bad_response(esign_gateway, version):
    esign_gateway.fail_next("not_pdf")
    error = _signing_failure(esign_gateway, version)
    assert error.kind == "bad_response" and "bukan berkas PDF" in str(error)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_answer_beyond_the_cap_is_a_bad_response(esign_gateway, version, monkeypatch):
    monkeypatch.setattr(esign_client, "MAX_RESPONSE_BYTES", 1024)
    error = _signing_failure(esign_gateway, version)
    assert error.kind == "bad_response" and "terlalu besar" in str(error)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_application_account_is_rejected(esign_gateway, version):
    error = _signing_failure(esign_gateway, version, password="bukan-ini")
    assert error.kind == "rejected" and "ESIGN_USERNAME" in str(error) and error.http_status == 401


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_application_account_at_the_status_call_is_rejected_not_an_inactive_certificate(esign_gateway,
                                                                                               version):
    error = failure_of(lambda: client(esign_gateway, version, password="bukan-ini").user_status(NIK))
    assert error.kind == "rejected" and "ESIGN_USERNAME" in str(error) and error.http_status == 401


@pytest.mark.parametrize("version", VERSIONS)
def test_a_gateway_that_repeats_the_secret_in_its_error_has_it_blanked(esign_gateway, version, caplog):
    caplog.set_level(logging.DEBUG)
    esign_gateway.fail_next("echo")

    error = _signing_failure(esign_gateway, version)

    assert error.kind == "rejected" and "HTTP 422" in str(error)
    assert "***" in error.gateway_message
    assert_no_secret(error, PASSPHRASE)
    assert all(PASSPHRASE not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_redirect_is_not_followed_so_the_secret_goes_nowhere_else(esign_gateway, version):
    esign_gateway.fail_next("redirect")

    error = _signing_failure(esign_gateway, version)

    assert error.kind == "rejected" and "ESIGN_URL" in str(error) and error.http_status == 307
    assert [r.path for r in esign_gateway.requests] == ["/api/sign/pdf" if version == "v1" else "/api/v2/sign/pdf"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("failure", "broken"), [("bad_signature", "intact"), ("untrusted", "trusted")])
def test_a_pdf_whose_signature_does_not_hold_comes_back_for_the_caller_to_refuse(esign_gateway, version, failure,
                                                                                broken):
    """The client hands back what the gateway signed; validating it against the BSrE root is the signing flow's
    job (and the fake can produce both failures for it)."""
    esign_gateway.fail_next(failure)

    signed = client(esign_gateway, version).sign_pdf(one_page_pdf(), nik=NIK, passphrase=PASSPHRASE)

    facts = signature_facts(signed, [esign_gateway.root_der])
    assert facts["verdict"] == "checked" and not facts[broken]


# ----------------------------------------------------------------------------------------------- verify, config


def test_v2_verify_returns_the_gateways_report(esign_gateway):
    gateway = client(esign_gateway)
    signed = gateway.sign_pdf(one_page_pdf(), nik=NIK, passphrase=PASSPHRASE)

    report = gateway.verify_pdf(signed)

    assert report["conclusion"] == "VALID"
    assert report["signatureInformations"][0]["signerName"] == NAME


def test_verify_is_v2_only(esign_gateway):
    error = failure_of(lambda: client(esign_gateway, "v1").verify_pdf(one_page_pdf()))
    assert error.kind == "rejected" and esign_gateway.requests == []


def test_config_comes_from_the_esign_settings():
    app = SimpleNamespace(config={"ESIGN_URL": "http://10.0.0.5:8080/", "ESIGN_USERNAME": "u",
                                  "ESIGN_PASSWORD": "rahasia-akun", "ESIGN_API_VERSION": "V1",
                                  "ESIGN_CONNECT_TIMEOUT": "3", "ESIGN_READ_TIMEOUT": 30})

    cfg = EsignConfig.from_app(app)

    assert cfg == EsignConfig("http://10.0.0.5:8080", "u", "rahasia-akun", "v1", 3.0, 30.0)
    assert "rahasia-akun" not in repr(cfg)
    assert EsignConfig.from_app(SimpleNamespace(config={"ESIGN_URL": ""})) is None
    assert EsignConfig.from_app(SimpleNamespace(config={})) is None
    with pytest.raises(ValueError):
        EsignConfig("http://x", "u", "p", "v3")


def test_error_repr_names_kind_and_message_only():
    error = EsignError("timeout", "Esign Client Service tidak menjawab.", gateway_message="x")
    assert repr(error) == "EsignError(kind='timeout', message='Esign Client Service tidak menjawab.')"
    with pytest.raises(AssertionError):
        EsignError("other", "x")


def test_the_officials_message_follows_their_language(esign_gateway, app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        error = _signing_failure(esign_gateway, "v2", passphrase="salah-sekali-987")
    assert error.kind == "passphrase"
    assert str(error) == "Wrong passphrase for the BSrE electronic certificate. The letter has not been signed."
