"""The test letter ("Surat uji") of an official who signs through BSrE: the page offers the TOTP field on the v2 API,
as the letter's signing page does, and a TOTP signs it; the test letter records the backend that signed it. A
refused code leaves nothing and counts like a wrong passphrase. BSrE is the fake gateway (tests/esign_fake.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import SigningFailure
from sempelmas.models.test_letters import TestLetter
from sempelmas.services.letters import backends
from sempelmas.services.letters import signing as letter_signing
from tests.bsre_setup import configure_bsre, use_bsre
from tests.signing_setup import LURAH_PASS, Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path, esign_gateway):
    configure(app, tmp_path)
    configure_bsre(app, tmp_path, esign_gateway)
    return Desk(factory)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_bsre_official_signs_the_test_letter_with_a_totp(app, client, desk, esign_gateway, login_as):
    use_bsre(desk.lurah_official)
    login_as(desk.lurah)
    page = client.get("/admin/surat-uji").get_data(as_text=True)
    assert 'name="totp"' in page and "Tandatangani surat uji" in page and "BSrE" in page

    resp = client.post("/admin/surat-uji", data={"passphrase": "", "totp": "000000"})
    assert resp.status_code == 422 and _count(TestLetter) == 0  # the gateway refused the code
    assert _count(SigningFailure) == 1  # counted like a wrong passphrase (the PKI throttle)
    assert "TOTP" in resp.get_data(as_text=True)

    code = esign_gateway.totp_now()
    resp = client.post("/admin/surat-uji", data={"passphrase": "", "totp": code})
    assert resp.status_code == 303, resp.get_data(as_text=True)
    made = db.session.scalar(select(TestLetter))
    assert made.signing_backend == "bsre" and made.issuer_cn == "BSrE test root" and made.certificate_id is None
    facts = letter_signing.signature_facts(made.pdf, backends.all_trust_roots_der())
    assert facts["verdict"] == "checked" and facts["valid"] and facts["trusted"] and facts["whole"]
    signs = [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]
    assert signs[-1].fields.get("totp") == code and not signs[-1].fields.get("passphrase")
    audit_text = " ".join(str(e.details) for e in db.session.scalars(select(AuditEntry)))
    assert code not in audit_text


def test_no_totp_field_on_v1_nor_for_a_local_official(app, client, desk, login_as):
    login_as(desk.lurah)
    assert 'name="totp"' not in client.get("/admin/surat-uji").get_data(as_text=True)
    resp = client.post("/admin/surat-uji", data={"passphrase": LURAH_PASS})
    assert resp.status_code == 303
    made = db.session.scalar(select(TestLetter))
    assert made.signing_backend == "local" and made.issuer_cn.startswith("CA ")
    use_bsre(desk.lurah_official)
    app.config["ESIGN_API_VERSION"] = "v1"
    assert 'name="totp"' not in client.get("/admin/surat-uji").get_data(as_text=True)
