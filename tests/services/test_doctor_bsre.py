"""`flask doctor`'s bsre check, each fault made to happen for real against the fake Esign Client on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from sempelmas.services.operations import doctor
from tests import esign_fake
from tests.bsre_setup import configure_bsre, use_bsre
from tests.signing_setup import Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path, esign_gateway):
    configure(app, tmp_path)
    configure_bsre(app, tmp_path, esign_gateway)
    return Desk(factory)


def bsre(**_) -> list[doctor.Finding]:
    return doctor.run(only=("bsre",))


def levels(findings) -> list[str]:
    return [f.level for f in findings]


def test_nobody_on_bsre_is_ok_even_without_a_gateway(app, desk):
    app.config["ESIGN_URL"] = ""
    assert levels(bsre()) == ["OK"]


def test_all_well_is_ok_and_names_the_roots_and_the_certificate(desk):
    use_bsre(desk.lurah_official)
    found = bsre()
    assert set(levels(found)) == {"OK"} and len(found) == 2
    assert "aktif" in found[1].message


def test_an_official_on_bsre_without_esign_url_is_a_fault(app, desk):
    use_bsre(desk.lurah_official)
    app.config["ESIGN_URL"] = ""
    (f,) = bsre()
    assert f.level == "FAULT" and "ESIGN_URL" in f.message and "ESIGN_URL=" in f.fix


def test_missing_or_unreadable_trust_roots_are_faults(app, desk, tmp_path):
    use_bsre(desk.lurah_official)
    app.config["ESIGN_TRUST_ROOTS"] = ""
    assert bsre()[0].level == "FAULT" and "ESIGN_TRUST_ROOTS" in bsre()[0].fix
    app.config["ESIGN_TRUST_ROOTS"] = str(tmp_path / "tidak-ada.pem")
    assert bsre()[0].level == "FAULT" and "tidak dapat dibaca" in bsre()[0].message
    junk = tmp_path / "bukan.pem"
    junk.write_text("bukan sertifikat")
    app.config["ESIGN_TRUST_ROOTS"] = str(junk)
    assert bsre()[0].level == "FAULT"


def test_a_gateway_that_does_not_answer_is_a_fault(desk, esign_gateway):
    use_bsre(desk.lurah_official)
    esign_gateway.stop()
    found = bsre()
    assert found[-1].level == "FAULT" and "tidak menjawab" in found[-1].message and found[-1].fix


def test_wrong_gateway_credentials_are_a_fault(app, desk):
    use_bsre(desk.lurah_official)
    app.config["ESIGN_PASSWORD"] = "salah"
    found = bsre()
    assert found[-1].level == "FAULT" and "ESIGN_PASSWORD" in found[-1].fix


def test_an_inactive_certificate_or_a_missing_nik_is_a_warning(desk, esign_gateway):
    use_bsre(desk.lurah_official)
    esign_gateway.users[esign_fake.NIK].status = "EXPIRED"
    assert levels(bsre())[-1] == "WARN"
    esign_gateway.users[esign_fake.NIK].status = "ISSUE"
    use_bsre(desk.sekretaris_official, nik="")  # and the sekretaris' account has no NIK
    found = bsre()
    assert levels(found)[-2:] == ["OK", "WARN"] and "NIK" in found[-1].message


def test_the_cli_reports_the_bsre_check(app, desk):
    use_bsre(desk.lurah_official)
    app.config["ESIGN_URL"] = ""
    result = app.test_cli_runner().invoke(args=["doctor", "--json", "--only", "bsre"])
    findings = json.loads(result.stdout)["findings"]
    assert [f["level"] for f in findings if f["check"] == "bsre"] == ["FAULT"]
