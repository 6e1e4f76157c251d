"""A letter records how it was signed (Letter.signing_backend, Letter.issuer_cn) and its public verification page
says so in plain words: certified (BSrE) or uncertified (the kelurahan CA), as PP 71/2019 distinguishes them.
Real signing through issuing.issue_letter; BSrE is the fake gateway (tests/esign_fake.py) on 127.0.0.1."""

from __future__ import annotations

import pytest

from sempelmas.extensions import db
from sempelmas.models.letters import Letter
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issuing
from tests import esign_fake
from tests.bsre_setup import configure_bsre, use_bsre
from tests.signing_setup import LURAH_PASS, Desk, configure

CERTIFIED = ("Tanda tangan elektronik tersertifikasi — sertifikat dari BSrE-BSSN "
             "(Balai Sertifikasi Elektronik, Badan Siber dan Sandi Negara)")
UNCERTIFIED = "Tanda tangan elektronik tidak tersertifikasi — sertifikat dari CA "
UNCERTIFIED_TAIL = "sah sebagai tanda tangan elektronik (UU ITE), dapat diperiksa di halaman ini"


@pytest.fixture
def desk(app, factory, tmp_path, esign_gateway):
    configure(app, tmp_path)
    configure_bsre(app, tmp_path, esign_gateway)
    return Desk(factory)


def _kind(client, code: str) -> str:
    resp = client.get(f"/v/{code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    start = html.index('id="signature-kind">') + len('id="signature-kind">')
    return html[start:html.index("</dd>", start)]


def test_a_bsre_letter_records_its_backend_and_its_page_says_certified(client, desk, esign_gateway):
    (request,) = desk.awaiting(1)
    use_bsre(desk.lurah_official)
    letter = issuing.issue_letter(request, desk.lurah, esign_fake.PASSPHRASE)
    row = db.session.get(Letter, letter.id)
    db.session.refresh(row)
    assert row.signing_backend == "bsre"
    assert row.issuer_cn == "BSrE test root"  # the fake gateway's CA (tests/esign_fake.py), read from the PDF
    kind = _kind(client, letter.verify_code)
    assert kind == CERTIFIED and "tidak tersertifikasi" not in kind
    assert 'id="ca-link"' not in client.get(f"/v/{letter.verify_code}").get_data(as_text=True)


def test_a_local_letter_records_the_kelurahan_ca_and_its_page_says_uncertified(client, desk, esign_gateway):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    row = db.session.get(Letter, letter.id)
    db.session.refresh(row)
    assert row.signing_backend == "local"
    assert row.issuer_cn.startswith("CA ")  # the kelurahan CA's CN (services/letters/ca.py)
    kind = _kind(client, letter.verify_code)
    assert kind.startswith(UNCERTIFIED) and kind.endswith(UNCERTIFIED_TAIL)
    assert f"sertifikat dari {row.issuer_cn};" in kind
    assert 'id="ca-link"' in client.get(f"/v/{letter.verify_code}").get_data(as_text=True)
    assert "tersertifikasi — sertifikat dari BSrE" not in kind
    assert not [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]


def test_a_letter_from_before_the_column_names_the_kelurahan_ca_from_the_profile(client, desk):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    row = db.session.get(Letter, letter.id)
    row.issuer_cn = None  # as migration 0037 leaves an older letter
    db.session.commit()
    kind = _kind(client, letter.verify_code)
    profile_ca = "CA " + desk_profile_title()
    assert kind == f"{UNCERTIFIED}{profile_ca[3:]}; {UNCERTIFIED_TAIL}"


def desk_profile_title() -> str:
    return profile_service.current_profile().village_title
