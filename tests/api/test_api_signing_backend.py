"""The API says how each letter was signed (``signing_backend``: local or bsre), in the register and in a letter's
verification, as the public page does. Real signing through issuing.issue_letter; BSrE is the fake gateway."""

from __future__ import annotations

import pytest

from sempelmas.services.letters import issuing
from tests import esign_fake
from tests.api.conftest import bearer
from tests.bsre_setup import configure_bsre, use_bsre
from tests.signing_setup import LURAH_PASS, Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path, esign_gateway):
    configure(app, tmp_path)
    configure_bsre(app, tmp_path, esign_gateway)
    app.config["API_REGISTER_SETTLE_SECONDS"] = 0
    return Desk(factory)


def test_register_and_verification_name_the_backend_that_signed(client, desk, api_client_factory):
    local_request, bsre_request = desk.awaiting(2)
    local = issuing.issue_letter(local_request, desk.lurah, LURAH_PASS)
    use_bsre(desk.lurah_official)
    certified = issuing.issue_letter(bsre_request, desk.lurah, esign_fake.PASSPHRASE)
    _c, key = api_client_factory(scopes=["letters:read"])
    items = client.get("/api/v1/letters", headers=bearer(key)).json["items"]
    assert {i["number"]: i["signing_backend"] for i in items} == {local.number: "local", certified.number: "bsre"}
    for letter, backend in ((local, "local"), (certified, "bsre")):
        body = client.get(f"/api/v1/letters/verify/{letter.verify_code}", headers=bearer(key)).json
        assert body["signing_backend"] == backend
