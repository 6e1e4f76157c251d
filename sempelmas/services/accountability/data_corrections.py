"""The right to have one's data corrected: the resident asks (``request_correction``: which item, the new
value, perhaps a photo as evidence), staff write it (``apply_correction``) or refuse (``data_rights.refuse``).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import phone as phone_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.data_rights import DataRequestKind, DataRequestStatus, DataRightsRequest
from sempelmas.services.accountability import audit
from sempelmas.services.accountability.data_rights import (
    CORRECTABLE,
    DataRightsError,
    open_of,
    require_open,
    tell_resident,
    tell_staff,
)
from sempelmas.services.operations.notice_text import Msg, msg, word
from sempelmas.services.people.accounts import AccountError, check_phone_free

_MAX_LEN = {"full_name": 120, "birth_place": 80, "address": 255, "religion": 30, "marital_status": 30,
            "occupation": 80, "email": 254}


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def current_value(user: User, field_code: str) -> str:
    """The value held now for ``field_code``, as text."""
    where = CORRECTABLE.get(field_code, (None, None))[1]
    if where == "account":
        return getattr(user, field_code) or ""
    if where == "resident" and user.resident is not None:
        value = getattr(user.resident, field_code)
        return value.isoformat() if isinstance(value, date) else (value or "")
    return ""


def clean_value(field_code: str, raw: str | None):
    """The typed value as it is stored, or DataRightsError("...", "value") with the reason."""
    text = (raw or "").strip()
    if field_code == "lainnya":
        return text[:255]
    if not text and field_code not in ("email", "religion", "marital_status", "occupation"):
        raise DataRightsError(_("Tulis data yang benar."), "value")
    limit = _MAX_LEN.get(field_code)
    if limit and len(text) > limit:
        raise DataRightsError(_("Terlalu panjang: paling banyak %(n)d karakter.", n=limit), "value")
    if field_code in ("full_name", "birth_place"):
        return text.upper()
    if field_code == "birth_date":
        for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
            try:
                value = datetime.strptime(text, pattern).date()
            except ValueError:
                continue
            if not date(1900, 1, 1) <= value <= date.today():
                break
            return value
        raise DataRightsError(_("Tanggal lahir tidak valid; tulis seperti 17-05-1990."), "value")
    if field_code == "gender":
        g = {"l": "L", "laki-laki": "L", "laki laki": "L", "p": "P", "perempuan": "P"}.get(text.lower())
        if g is None:
            raise DataRightsError(_("Jenis kelamin: tulis Laki-laki atau Perempuan."), "value")
        return g
    if field_code in ("rt", "rw"):
        number = digit_rules.rt_rw(text)
        if number is None:
            raise DataRightsError(_("RT/RW berupa angka, paling banyak 3 digit (mis. 003)."), "value")
        return number
    if field_code == "phone":
        try:
            return phone_rules.normalise(text)
        except phone_rules.PhoneError as e:
            raise DataRightsError(str(e), "value") from e
    if field_code == "email":
        if text and not _EMAIL.match(text):
            raise DataRightsError(_("Alamat e-mail tidak valid."), "value")
        return text.lower() or None
    return text or None


def _check_phone_free(phone: str | None, user: User) -> None:
    """One phone signs in one account: a number another active account has is refused (accounts rule)."""
    try:
        check_phone_free(phone, user=user)
    except AccountError as e:
        raise DataRightsError(e.message, "value") from e


def _as_text(value) -> str:
    return value.isoformat() if isinstance(value, date) else (value or "")


def request_correction(user: User, field_code: str, value: str | None, explanation: str | None,
                       evidence_photo: str | None = None) -> DataRightsRequest:
    """Open a correction task. Rules: a known item; for "lainnya" an explanation; the value must be valid
    for the item and differ from what is held; an open deletion request blocks new corrections."""
    if field_code not in CORRECTABLE:
        raise DataRightsError(_("Pilih data yang salah."), "field")
    if CORRECTABLE[field_code][1] == "resident" and user.resident is None:
        raise DataRightsError(_("Akun Anda belum terhubung dengan data penduduk."), "field")
    explanation = (explanation or "").strip()
    if field_code == "lainnya" and not explanation:
        raise DataRightsError(_("Jelaskan data mana yang salah dan apa yang benar."), "explanation")
    if len(explanation) > 2000:
        raise DataRightsError(_("Keterangan terlalu panjang: paling banyak 2000 karakter."), "explanation")
    clean = clean_value(field_code, value)
    old = current_value(user, field_code)
    if field_code != "lainnya" and _as_text(clean) == old:
        raise DataRightsError(_("Nilai itu sama dengan yang tercatat sekarang."), "value")
    if field_code == "phone":
        _check_phone_free(clean, user)
    if open_of(user, DataRequestKind.DELETION) is not None:
        raise DataRightsError(_("Anda sudah meminta penghapusan akun; tunggu keputusannya dulu."))
    req = DataRightsRequest(user_id=user.id, kind=DataRequestKind.CORRECTION, field=field_code,
                            old_value=old[:255] or None, requested_value=_as_text(clean)[:255] or None,
                            explanation=explanation or None, evidence_photo=evidence_photo)
    db.session.add(req)
    db.session.flush()
    audit.record("pdp.request", req, actor=user, kind=req.kind, field=field_code, evidence=bool(evidence_photo))
    tell_staff(req)
    return req


def apply_correction(req: DataRightsRequest, actor: User, value: str | None, note: str | None = None) -> None:
    """Write the corrected value (staff may adjust what the resident typed) and close the task.

    Rules: an open correction; the value is checked like the resident's; a name also renames the account;
    "lainnya" is closed with staff's note saying what was changed (the register's own screens change it).
    """
    require_open(req)
    if req.kind != DataRequestKind.CORRECTION:
        raise DataRightsError(_("Ini bukan permintaan koreksi."))
    note = (note or "").strip()[:2000] or None
    user = req.user
    where = CORRECTABLE[req.field][1]
    old = current_value(user, req.field)
    if where is None:
        if not note:
            raise DataRightsError(_("Tulis apa yang sudah diperbaiki."), "note")
        new_text = None
    else:
        clean = clean_value(req.field, value)
        if req.field == "phone":
            _check_phone_free(clean, user)
        if where == "account":
            setattr(user, req.field, clean)
        else:
            setattr(user.resident, req.field, clean)
            if req.field == "full_name":
                user.full_name = clean.title()
        new_text = _as_text(clean)
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.DONE, utcnow(), actor.id
    req.applied_value, req.outcome_note = new_text, note
    db.session.flush()
    audit.record("pdp.correct", req, actor=actor, field=req.field, old=old, new=new_text)
    tell_resident(req, _done_notice(req))


def _done_notice(req: DataRightsRequest) -> Msg:
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    return _("Koreksi data Anda (%(item)s) sudah dilakukan.", item=word(CORRECTABLE[req.field][0]))
