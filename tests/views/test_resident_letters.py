"""What the applicant side sees of a revoked or replaced letter (issue 12, section 5): the request page, the
request list and the download say so, and nobody is handed the revoked PDF as their letter."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import store as letter_store
from tests.letter_fixtures import issue_letter, make_letter, signed_pdf
from tests.request_factory import make_profile, make_service

REASON = "Alamat pada surat keliru (RT 002, seharusnya RT 001)"


@pytest.fixture
def issued(app, factory, tmp_path):
    make_profile().verify_offers_pdf = True  # the public page hands out valid letters: the resident's may too
    make_service()
    app.config["PKI_DIR"] = str(tmp_path / "pki")  # not the shared app's instance folder (restored afterwards)
    applicant = factory.warga(name="BUDI SANTOSO")
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    applicant.assisted_by_id = helper.id
    return {**issue_letter(app, factory, applicant), "helper": helper}


def _pages(client, tracking: str) -> tuple[str, str]:
    detail = client.get(f"/warga/permohonan/{tracking}")
    listing = client.get("/warga/permohonan")
    assert detail.status_code == 200 and listing.status_code == 200
    return detail.get_data(as_text=True), listing.get_data(as_text=True)


def _status_label(html: str) -> str:
    return re.search(r'id="status-label">([^<]*)<', html).group(1)


def test_a_valid_letter_is_offered_for_download(client, issued, login_as):
    tracking = issued["request"].tracking_number
    login_as(issued["applicant"])
    detail, listing = _pages(client, tracking)
    assert _status_label(detail) == "Selesai — surat terbit"
    assert f'href="/warga/permohonan/{tracking}/surat"' in detail and 'id="letter-revoked"' not in detail
    assert "Selesai — surat terbit" in listing and "Surat dicabut" not in listing
    assert client.get(f"/warga/permohonan/{tracking}/surat").data == letter_store.read_pdf(issued["letter"])
    assert client.get(f"/v/{issued['letter'].verify_code}/unduh").status_code == 200


def test_a_revoked_letter_is_shown_revoked_on_the_request_page_and_list_and_no_longer_offered(
        client, issued, login_as):
    letters.revoke(issued["letter"], issued["signer"], REASON)
    db.session.commit()
    tracking = issued["request"].tracking_number
    login_as(issued["applicant"])
    detail, listing = _pages(client, tracking)
    assert _status_label(detail) == "Surat dicabut — tidak berlaku lagi"
    block = re.search(r'<div class="warning" id="letter-revoked".*?</div>', detail, re.S).group(0)
    assert f"Surat nomor {issued['letter'].number} dicabut oleh kelurahan pada" in block
    assert REASON in block
    revoked_at = issued["letter"].revoked_at
    assert f"{revoked_at.year}" in block and "WIB" in block  # the date and time, in the kelurahan's zone
    assert f"/warga/permohonan/{tracking}/surat" not in detail and "Unduh surat (PDF)" not in detail
    assert detail.count(f"Surat nomor {issued['letter'].number} dicabut") == 1  # said once, in its block
    item = re.search(rf"{tracking}.*?</li>", listing, re.S).group(0)
    assert "Surat dicabut — tidak berlaku lagi" in item and "Selesai — surat terbit" not in item


def test_the_download_of_a_revoked_letter_explains_itself_and_hands_out_nothing(client, issued, login_as):
    """Like the public verification page (/v/<code>/unduh), which refuses a revoked letter."""
    letters.revoke(issued["letter"], issued["signer"], REASON)
    db.session.commit()
    tracking = issued["request"].tracking_number
    login_as(issued["applicant"])
    resp = client.get(f"/warga/permohonan/{tracking}/surat")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 410 and resp.mimetype == "text/html"
    assert letter_store.read_pdf(issued["letter"]) not in resp.data
    assert "Surat ini sudah dicabut" in html and REASON in html
    assert f'href="/warga/permohonan/{tracking}"' in html
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "letter.resident_download")) == 0
    assert client.get(f"/v/{issued['letter'].verify_code}/unduh").status_code == 404  # the public page agrees


def test_a_replaced_letter_points_to_its_replacement_which_is_the_one_downloaded(client, issued, login_as):
    old = issued["letter"]
    new = make_letter(issued["request"], issued["signer"], number="470/099/417.604.3/2026",
                      pdf=signed_pdf("Pengganti"))
    letters.mark_replaced(old, new, issued["signer"], reason="Nama ibu salah eja")
    db.session.commit()
    tracking = issued["request"].tracking_number
    login_as(issued["applicant"])
    detail, listing = _pages(client, tracking)
    assert _status_label(detail) == "Selesai — surat terbit"  # a valid letter exists: the replacement
    download = re.search(r'<p id="letter-download">.*?</p>', detail, re.S).group(0)
    assert f"Nomor {new.number}" in download and old.number not in download
    withdrawn = re.search(r'<ul class="list" id="withdrawn-letters">.*?</ul>', detail, re.S).group(0)
    assert f"Surat nomor {old.number} diganti dengan surat nomor {new.number} pada" in withdrawn
    assert "surat lama tidak berlaku lagi" in withdrawn
    assert client.get(f"/warga/permohonan/{tracking}/surat").data == letter_store.read_pdf(new)
    assert "Surat dicabut" not in listing


def test_a_revoked_replacement_leaves_the_request_without_a_letter(client, issued, login_as):
    old = issued["letter"]
    new = make_letter(issued["request"], issued["signer"], number="470/099/417.604.3/2026",
                      pdf=signed_pdf("Pengganti"))
    letters.mark_replaced(old, new, issued["signer"])
    letters.revoke(new, issued["signer"], REASON)
    db.session.commit()
    tracking = issued["request"].tracking_number
    login_as(issued["applicant"])
    detail, _listing = _pages(client, tracking)
    assert f"Surat nomor {new.number} dicabut oleh kelurahan" in detail
    assert f"Surat nomor {old.number} diganti dengan surat nomor {new.number}" in detail
    assert client.get(f"/warga/permohonan/{tracking}/surat").status_code == 410


def test_the_pendamping_acting_for_the_resident_sees_the_revocation_too(client, issued, login_as):
    letters.revoke(issued["letter"], issued["signer"], REASON)
    db.session.commit()
    tracking = issued["request"].tracking_number
    login_as(issued["helper"])
    assert client.post(f"/warga/pendamping/{issued['applicant'].id}/bertindak").status_code == 303
    detail, listing = _pages(client, tracking)
    assert 'id="letter-revoked"' in detail and REASON in detail and "Unduh surat (PDF)" not in detail
    assert "Surat dicabut — tidak berlaku lagi" in listing
    assert client.get(f"/warga/permohonan/{tracking}/surat").status_code == 410


def test_staff_see_on_the_request_page_that_its_letter_was_revoked(client, issued, factory, login_as):
    """The counter answers a resident's call from the request page: it must not read "surat terbit" alone."""
    letters.revoke(issued["letter"], issued["signer"], REASON)
    db.session.commit()
    login_as(factory.staff(Role.STAFF, "petugas1"))
    html = client.get(f"/petugas/permohonan/{issued['request'].tracking_number}").get_data(as_text=True)
    entry = re.search(rf'<dd id="letter-{issued["letter"].id}">(.*?)</dd>', html, re.S).group(1)
    assert issued["letter"].number in entry and "Dicabut" in entry and REASON in entry
    assert f'href="/petugas/surat/{issued["letter"].id}"' in entry
