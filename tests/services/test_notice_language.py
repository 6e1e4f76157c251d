"""Notices in their reader's language: stored as a key plus values, rendered when shown or queued (issue 15).

The bell page itself: tests/views/test_notice_language_views.py."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.services.operations import delivery, notify
from sempelmas.services.operations.notice_text import shown
from sempelmas.services.requests.lifecycle import transition
from tests.notify_helpers import inbox, make_people
from tests.request_factory import submit
from tests.services.test_delivery import smtp_server  # noqa: F401 - the local SMTP server fixture


@pytest.fixture
def people(app, factory):
    p = make_people(factory)
    name_in_english("Domicile letter")
    return p


def name_in_english(name_en: str) -> None:
    """The domisili service with an English name (in the version snapshot a request keeps)."""
    from sempelmas.models.catalogue import Service, ServiceVersion

    service = db.session.scalars(select(Service).where(Service.code == "domisili")).one()
    service.name_en = name_en
    for version in db.session.scalars(select(ServiceVersion).where(ServiceVersion.service_id == service.id)):
        version.snapshot = {**version.snapshot, "name_en": name_en}
    db.session.commit()


def test_the_bell_row_keeps_key_and_codes_and_reads_in_either_language(people):
    with force_locale("id"):  # the resident's own screen is in Indonesian when submitting
        req = submit(people["applicant"])
    db.session.commit()
    row = inbox(people["applicant"])[0]
    assert row.message_key == "Permohonan %(tn)s (%(service)s) sudah kami terima. Status: %(status)s."
    assert set(row.message_values["status"]) == {"status"}  # a code, not a label
    assert row.message_values["service"] == {"service": {"name": "Surat domisili", "name_en": "Domicile letter"}}
    # the stored Indonesian text, as before
    assert "sudah kami terima" in row.message and "Surat domisili" in row.message
    with force_locale("en"):
        english = shown(row)
    assert english == (f"We have received request {req.tracking_number} (Domicile letter). "
                       "Status: Awaiting RT/RW cover letter.")
    with force_locale("id"):
        assert shown(row) == row.message


def test_an_event_while_staff_use_english_reads_in_indonesian_and_a_reason_follows_in_the_readers_language(people):
    p = people
    with force_locale("en"):  # the staff member's screen is in English
        req = submit(p["applicant"])
        transition(req, "endorse", actor=p["rt"])
        transition(req, "claim", actor=p["staff"])
        transition(req, "ask_fix", actor=p["staff"], note="Foto KK buram", fields=["keperluan"])
    db.session.commit()
    row = inbox(p["applicant"])[-1]
    with force_locale("id"):
        text = shown(row)
    assert text == (f"Status permohonan {req.tracking_number} (Surat domisili) sekarang: Perlu perbaikan. "
                    "Alasan: Foto KK buram")
    assert row.message == text  # the stored text is Indonesian whatever the actor's language
    with force_locale("en"):
        english = shown(row)
    assert english == (f"The status of request {req.tracking_number} (Domicile letter) is now: Needs correction. "
                       "Reason: Foto KK buram")


def test_an_old_row_without_a_key_shows_its_stored_text(people):
    row = Notification(user_id=people["applicant"].id, kind="request.submit", message="Teks lama tersimpan.")
    db.session.add(row)
    db.session.commit()
    with force_locale("en"):
        assert shown(row) == "Teks lama tersimpan."


def test_an_email_to_a_resident_who_chose_english_is_in_english(app, people, smtp_server):  # noqa: F811
    people["applicant"].lang = "en"
    db.session.commit()
    with force_locale("id"):  # the event happens while the office works in Indonesian
        req = submit(people["applicant"])
    db.session.commit()
    assert delivery.deliver_due()["sent"] == 2
    by_rcpt = {rcpt[0]: message_from_bytes(content, policy=policy.default)
               for _from, rcpt, content in smtp_server.messages}
    mine, helper = by_rcpt["siti@example.org"], by_rcpt["pendamping@example.org"]
    assert mine["Subject"] == f"Request {req.tracking_number}: Awaiting RT/RW cover letter"
    body = mine.get_content()
    assert "We have received request" in body and "Domicile letter" in body and "sudah kami terima" not in body
    # the pendamping kept Indonesian
    assert helper["Subject"] == f"Permohonan {req.tracking_number}: Menunggu pengantar RT/RW"
    assert "sudah kami terima" in helper.get_content() and "Surat domisili" in helper.get_content()


def test_account_decision_and_gateway_text_follow_the_recipients_language_and_hold_no_name(app, people):
    app.config["NOTIFY_GATEWAY_URL"] = "http://127.0.0.1:9/kirim"
    applicant = people["applicant"]
    applicant.lang = "en"
    db.session.commit()
    with force_locale("id"):
        notify.account_decided(applicant)
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == applicant.phone)).all()
    assert len(rows) == 1
    assert "SITI" not in rows[0].body and "verified" in rows[0].body and "diverifikasi" not in rows[0].body
    bell = inbox(applicant)[-1]
    assert bell.message_key and "diverifikasi" in bell.message


def test_a_translatable_label_is_stored_as_its_msgid_and_read_in_the_readers_language(app):
    from sempelmas.models.data_rights import DATA_REQUEST_KIND_LABELS, DataRequestKind
    from sempelmas.services.operations.notice_text import msg, word

    with force_locale("en"):  # made while the staff member's screen is in English
        text = msg("%(kind)s Anda ditolak. Alasan: %(reason)s",
                   kind=word(DATA_REQUEST_KIND_LABELS[DataRequestKind.CORRECTION]), reason="Tidak jelas")
        stored = text.to_json()
    assert stored["kind"] == {"word": "Koreksi data"}
    with force_locale("id"):
        assert str(text) == "Koreksi data Anda ditolak. Alasan: Tidak jelas"
    with force_locale("en"):
        assert "Koreksi" not in str(text) and "Tidak jelas" in str(text)


def test_a_translation_that_does_not_fit_its_values_falls_back_to_indonesian(app, monkeypatch):
    from sempelmas.services.operations import notice_text

    real = notice_text.babel_gettext

    def broken(key, **values):
        from flask_babel import get_locale

        if get_locale().language == "en":
            return "Broken %(missing)s" % values  # noqa: UP031 - a catalogue entry, formatted as gettext does
        return real(key, **values)

    monkeypatch.setattr(notice_text, "babel_gettext", broken)
    text = notice_text.msg("Permohonan %(tn)s: jawaban petugas", tn="X-1")
    assert notice_text.in_lang(text, "en") == "Permohonan X-1: jawaban petugas"
    row = notice_text.fill(Notification(user_id=1, kind="question.reply"), text)
    with force_locale("en"):
        assert notice_text.shown(row) == "Permohonan X-1: jawaban petugas"
