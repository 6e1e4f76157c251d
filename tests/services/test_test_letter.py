"""The test letter ("Surat uji") of going live: really signed with the official's key, its own number series,
watermarked, and never a letter for the register, the API, statistics, webhooks or OpenDK."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter, LetterCounter
from sempelmas.models.notifications import OutboxMessage
from sempelmas.models.test_letters import TestLetter
from sempelmas.models.webhooks import WebhookEvent
from sempelmas.services.accountability import report_export, service_stats
from sempelmas.services.accountability.periods import Period
from sempelmas.services.integration import letters as api_letters
from sempelmas.services.integration import opendk, opendk_settings
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import issued, issuing, test_letter
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.operations import webhooks
from tests.signing_setup import BASE_URL, LURAH_PASS, Desk, configure, page_text, qr_payloads

PHONE = ("Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Mobile Safari/537.36")
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    app.config["API_REGISTER_SETTLE_SECONDS"] = 0
    return Desk(factory)


def _counter(scope: str) -> int:
    return db.session.scalar(select(LetterCounter.last).where(LetterCounter.scope == scope)) or 0


def test_a_test_letter_is_signed_with_the_officials_key_and_carries_the_watermark_and_its_qr(desk):
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)

    assert made.number == f"UJI/001/417.604.3/{made.year}" and made.sequence == 1
    assert (made.signer_name, made.capacity) == (desk.lurah_official.name, "")
    pdf = made.pdf
    assert len(pdf) == made.pdf_size
    result = letter_signing.validate_pdf(pdf)
    assert result.intact and result.valid and result.trusted, result.message
    text = page_text(pdf)
    assert "SURAT UJI — TIDAK BERLAKU" in text and "UJI" in text.split()
    assert made.number in text and "KELURAHAN JAGALAN" in text.upper()
    assert qr_payloads(pdf) == [f"{BASE_URL}/v/{made.verify_code}"]
    if shutil.which("pdfsig"):
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "uji.pdf"
            f.write_bytes(pdf)
            out = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60).stdout
        assert "Signature is Valid." in out
    # tampering one byte of the signed content breaks it
    at = pdf.index(b"/Type /Page")
    tampered = pdf[:at] + b"/Type /Pagf" + pdf[at + 11:]
    assert not letter_signing.validate_pdf(tampered).intact
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letter.test_issue"))
    assert entry.actor_id == desk.lurah.id and entry.object_id == str(made.id)


def test_the_test_series_leaves_the_real_numbering_untouched(desk):
    test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    second = test_letter.issue_test_letter(desk.sekretaris, "sekretaris-ttd-uji-123")
    assert second.sequence == 2 and second.number.startswith("UJI/002/")
    assert _counter("semua") == 0

    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert (letter.sequence, letter.number) == (1, f"470/001/417.604.3/{letter.year}")
    assert (_counter("semua"), _counter(test_letter.SCOPE)) == (1, 2)


def test_a_wrong_passphrase_or_a_non_signer_gets_no_test_letter_and_no_number(desk):
    with pytest.raises(letter_ca.WrongPassphrase):
        test_letter.issue_test_letter(desk.lurah, "salah-passphrase-123")
    with pytest.raises(issuing.IssueError):
        test_letter.issue_test_letter(desk.staff, LURAH_PASS)
    assert db.session.scalar(select(func.count(TestLetter.id))) == 0
    assert _counter(test_letter.SCOPE) == 0
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    assert made.sequence == 1  # nothing was taken by the refused ones


def test_a_test_letter_is_no_letter_for_the_register_api_stats_webhooks_or_opendk(desk):
    admin = desk.factory.staff(Role.ADMIN, "admin-uji")
    webhooks.create_endpoint("https://data.example.org/hook", ["letter.signed", "letter.revoked"], admin)
    opendk_settings.save(admin, enabled=True, base_url="https://opendk.example.org", email="desa@kec.test",
                         password="rahasia-opendk", api_key="", clear_api_key=False, desa_id="35.76.03.1004")
    db.session.commit()
    today = date.today()
    period = Period(today - timedelta(days=1), today + timedelta(days=1), "Asia/Jakarta", "uji")
    before = service_stats.period_stats(period, services=False, areas=False)

    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)

    assert db.session.scalar(select(func.count(Letter.id))) == 0
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0  # no letter.signed event
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.channel == opendk.CHANNEL)) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0  # nobody is told anything
    assert api_letters.register_page(api_letters.Filters()).items == []
    assert api_letters.verification(made.verify_code) is None
    assert db.session.execute(issued.register_query({})).all() == []
    assert list(report_export.register(period).rows()) == []
    after = service_stats.period_stats(period, services=False, areas=False)
    assert (after.received, after.total.completed) == (before.received, before.total.completed)

    # the same install's real letter does go everywhere (the check above is not vacuous)
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.channel == opendk.CHANNEL)) == 1
    assert [i["number"] for i in api_letters.register_page(api_letters.Filters()).items] == [letter.number]


def test_the_first_opening_and_the_first_from_a_phone_are_recorded(desk):
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    assert not test_letter.test_letter_verified(made) and not test_letter.test_letter_opened(made)
    assert test_letter.record_view(made, DESKTOP)
    db.session.refresh(made)
    assert test_letter.test_letter_opened(made) and not test_letter.test_letter_verified(made)
    assert made.first_view_agent == DESKTOP
    assert not test_letter.record_view(made, DESKTOP)  # later desktop openings write nothing
    assert test_letter.record_view(made, PHONE)
    db.session.refresh(made)
    assert test_letter.test_letter_verified(made) and made.phone_view_agent == PHONE
    assert made.first_view_agent == DESKTOP
    assert test_letter.any_test_letter_verified() and test_letter.latest().id == made.id


@pytest.mark.parametrize(("agent", "phone"), [(PHONE, True), (DESKTOP, False), (None, False), ("", False),
                                              ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
                                               "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 "
                                               "Safari/604.1", True)])
def test_phone_agents(agent, phone):
    assert test_letter.is_phone_agent(agent) is phone


def test_the_watermark_survives_a_layout_that_leaves_every_block_out(desk):
    from sempelmas.models.letters import LetterTemplate

    db.session.add(LetterTemplate(name="_base", source="<html><body><p>{{ kop.village }}</p>"
                                                        "{% if qr %}<img src=\"{{ qr }}\" width=\"80\" height=\"80\">"
                                                        "{% endif %}</body></html>"))
    db.session.commit()
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    text = page_text(made.pdf)
    assert "KELURAHAN JAGALAN" in text and "Surat ini adalah surat uji" not in text  # the admin's layout
    assert text.count("SURAT UJI — TIDAK BERLAKU") == 2 and "UJI" in text.split()  # the stamp, top and bottom
    assert letter_signing.validate_pdf(made.pdf).valid
    assert qr_payloads(made.pdf) == [f"{BASE_URL}/v/{made.verify_code}"]
