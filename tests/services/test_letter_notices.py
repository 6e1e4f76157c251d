"""A revoked or replaced letter is news for its applicant and their pendamping (issue 12, section 5): the bell,
and e-mail/WhatsApp as configured, with a link to the request page on the site's public address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import issuing
from tests.conftest import Factory
from tests.signing_setup import LURAH_PASS, Desk, configure

REASON = "Alamat pada surat keliru"


@pytest.fixture
def desk(app, tmp_path):
    configure(app, tmp_path, public_url="https://layanan.jagalan.go.id")
    app.config.update(MAIL_SERVER="smtp.jagalan.test", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim")
    desk = Desk(Factory())
    helper = Factory().staff(Role.ASSISTANT, "pendamping1")
    desk.warga.assisted_by_id = helper.id
    desk.warga.email = "budi@jagalan.test"
    desk.warga.phone = "+6281234500001"
    desk.helper = helper
    db.session.commit()
    (request,) = desk.awaiting(1)
    desk.letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    return desk


def _bell(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)
                                   .order_by(Notification.user_id)))


def _outbox(notifications: list[Notification]) -> list[OutboxMessage]:
    ids = [n.id for n in notifications]
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.notification_id.in_(ids))
                                   .order_by(OutboxMessage.id)))


def test_revoking_a_letter_tells_the_applicant_and_pendamping_by_bell_email_and_whatsapp(desk):
    letter = desk.letter
    tracking = letter.request.tracking_number
    letters.revoke(letter, desk.lurah, REASON)
    db.session.commit()

    bell = _bell("letter.revoke")
    assert {n.user_id for n in bell} == {desk.warga.id, desk.helper.id}
    for n in bell:
        assert n.url == f"/warga/permohonan/{tracking}" and n.request_id == letter.request_id
        assert f"Surat {letter.number}" in n.message and "DICABUT" in n.message and REASON in n.message
    out = _outbox(bell)
    assert {(m.channel, m.recipient) for m in out} == {("email", "budi@jagalan.test"),
                                                       ("gateway", "+6281234500001")}
    for m in out:
        assert m.subject == f"Surat {letter.number} dicabut"
        assert m.body.endswith(f"\n\nhttps://layanan.jagalan.go.id/warga/permohonan/{tracking}")
        assert REASON in m.body


def test_a_replacement_tells_the_applicant_side_the_new_number(desk):
    old = desk.letter
    new = issuing.issue_replacement(old, desk.lurah, LURAH_PASS, "Nama ibu salah eja")
    bell = _bell("letter.replace")
    assert {n.user_id for n in bell} == {desk.warga.id, desk.helper.id}
    for n in bell:
        assert f"Surat {old.number}" in n.message and f"surat baru nomor {new.number}" in n.message
        assert "Nama ibu salah eja" in n.message
    assert {m.channel for m in _outbox(bell)} == {"email", "gateway"}
    assert _bell("letter.revoke") == []


def test_a_refused_revocation_tells_nobody(desk):
    with pytest.raises(letters.LetterError):
        letters.revoke(desk.letter, desk.lurah, "   ")
    db.session.rollback()
    assert _bell("letter.revoke") == []
