"""The OpenDK connector: each signed letter goes to the kecamatan's OpenDK through the outbox (channel "opendk").

When a letter is signed (``issuing.letter_issued``, sent inside the signing transaction) and the connector is on
(services/integration/opendk_settings.py), ``queue_letter`` adds an outbox row and an ``OpenDkLetter`` log row to
that same transaction: the letter is queued exactly when its signing commits, never lost. A letter OpenDK would
refuse whatever happens (over 2 MB, no 16-digit NIK) is not queued but kept with the reason, for the operator.
The notify worker (services/operations/delivery.py) hands the row to ``send``: it reads the signed PDF exactly as
stored (its SHA-256 checked against the letter's) and posts it (services/integration/opendk_client.py), with the
outbox's retries, backoff and log; OpenDK's answer is kept on the log row.

OpenDK offers no route to withdraw a letter (OpenSID/OpenDK ``routes/api.php``: ``surat/kirim``, ``surat``,
``surat/download`` only), so a letter revoked or replaced after it went is listed for the operator
(``revoked_after_sending``), who tells the kecamatan; one revoked before its turn is not sent at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select

from sempelmas.domain import dates
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.opendk import OpenDkLetter
from sempelmas.services.integration import opendk_client, opendk_settings
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issuing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.operations import channels

CHANNEL = "opendk"


# ----------------------------------------------------------------------------- queueing


def held_reason(letter: Letter, size: int) -> str | None:
    """Why OpenDK would refuse this letter whatever happens (its ``file`` max:2048 KB, ``nik`` digits:16)."""
    if size > opendk_client.MAX_FILE_BYTES:
        return str(_("Berkas surat %(kb)d KB melebihi batas OpenDK 2048 KB; tidak dikirim. Serahkan surat ini ke "
                     "kecamatan dengan cara lain.", kb=(size + 1023) // 1024))
    if not re.fullmatch(r"\d{16}", letter.subject_nik or ""):
        return str(_("Surat tidak memuat NIK 16 angka yang diminta OpenDK; tidak dikirim."))
    return None


def queue_letter(letter: Letter, *, pdf: bytes, **_ignored) -> OpenDkLetter | None:
    """Receiver of ``issuing.letter_issued``: when the connector is on, an outbox row for ``letter`` and its log
    row, in the signing transaction (flushes, never commits); a letter OpenDK would refuse is logged as held."""
    if not opendk_settings.enabled():
        return None
    entry = OpenDkLetter(letter_id=letter.id, held_reason=held_reason(letter, len(pdf)))
    if entry.held_reason is None:
        message = OutboxMessage(channel=CHANNEL, recipient=f"surat:{letter.id}", subject=letter.number[:200],
                                body=json.dumps({"letter_id": letter.id}))
        db.session.add(message)
        db.session.flush()
        entry.outbox_id = message.id
    db.session.add(entry)
    db.session.flush()
    return entry


issuing.letter_issued.connect(queue_letter, weak=False)


# ----------------------------------------------------------------------------- sending


def _fields(letter: Letter, desa_id: str) -> dict[str, str]:
    """The multipart fields of OpenDK's ``surat/kirim``: the letter's number and local date, the subject's NIK,
    and as ``nama`` the letter's title."""
    tanggal = dates.to_local(letter.signed_at, profile_service.tz_name()).date().isoformat()
    return {"desa_id": desa_id, "nik": letter.subject_nik, "tanggal": tanggal, "nomor": letter.number,
            "nama": letter.title}


def send(body: str, uid: str) -> None:
    """Deliver one queued letter (the outbox row's ``body``); raises a channels error on failure. Records OpenDK's
    answer on the letter's log row (committed with the outcome by the notify worker)."""
    letter_id = json.loads(body)["letter_id"]
    letter = db.session.get(Letter, letter_id)
    entry = db.session.scalar(select(OpenDkLetter).where(OpenDkLetter.letter_id == letter_id))
    if letter is None:
        raise channels.Undeliverable(f"surat {letter_id} tidak ada")
    if letter.status != LetterStatus.VALID:
        raise channels.Undeliverable(gettext("Surat sudah dicabut atau diganti sebelum terkirim; tidak dikirim."))
    if not opendk_settings.enabled():
        raise channels.DeliveryError("penghubung OpenDK tidak aktif; dicoba lagi nanti")
    try:
        conn = opendk_settings.connection()
    except opendk_settings.SecretUnreadable as exc:
        raise channels.DeliveryError("kata sandi/token OpenDK tersimpan tidak dapat dibaca (SECRET_KEY berubah?); "
                                     "isi lagi di Pengaturan OpenDK") from exc
    pdf = letter_store.path_of(letter).read_bytes()
    if hashlib.sha256(pdf).hexdigest() != letter.pdf_sha256:
        raise channels.DeliveryError("berkas surat tersimpan tidak cocok dengan sidik SHA-256-nya; tidak dikirim")
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", letter.number).strip("_") + ".pdf"
    try:
        answer = opendk_client.send_letter(conn, _fields(letter, conn.desa_id), filename, pdf)
    except channels.DeliveryError as exc:
        if entry is not None:
            entry.answer, entry.answered_at = str(exc)[:opendk_client.ANSWER_MAX], utcnow()
        raise
    if entry is not None:
        entry.answer, entry.answered_at = f"HTTP {answer.status}: {answer.text}", utcnow()


# ----------------------------------------------------------------------------- the admin's log


@dataclass
class LogRow:
    entry: OpenDkLetter
    letter: Letter
    message: OutboxMessage | None

    @property
    def state(self) -> str:
        if self.entry.held_reason:
            return "ditahan"
        return self.message.status if self.message is not None else "?"


def log(limit: int = 100) -> list[LogRow]:
    """The latest letters for OpenDK with their outbox row (attempts, errors) and OpenDK's answer."""
    rows = db.session.execute(
        select(OpenDkLetter, Letter, OutboxMessage).join(Letter, Letter.id == OpenDkLetter.letter_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == OpenDkLetter.outbox_id)
        .order_by(OpenDkLetter.id.desc()).limit(limit)).all()
    return [LogRow(*r) for r in rows]


def held() -> list[LogRow]:
    """Letters not sent because OpenDK would refuse them (too large, no NIK): for the operator."""
    rows = db.session.execute(
        select(OpenDkLetter, Letter).join(Letter, Letter.id == OpenDkLetter.letter_id)
        .where(OpenDkLetter.held_reason.is_not(None)).order_by(OpenDkLetter.id.desc())).all()
    return [LogRow(e, le, None) for e, le in rows]


def revoked_after_sending() -> list[LogRow]:
    """Letters OpenDK received that were revoked or replaced since: OpenDK has no route to withdraw one, so the
    operator tells the kecamatan."""
    rows = db.session.execute(
        select(OpenDkLetter, Letter, OutboxMessage).join(Letter, Letter.id == OpenDkLetter.letter_id)
        .join(OutboxMessage, OutboxMessage.id == OpenDkLetter.outbox_id)
        .where(OutboxMessage.status == OutboxStatus.SENT, Letter.status != LetterStatus.VALID)
        .order_by(Letter.revoked_at.desc(), OpenDkLetter.id.desc())).all()
    return [LogRow(*r) for r in rows]
