"""Indonesian phone numbers, normalised to +62… so one number has one spelling."""

from __future__ import annotations

import re
from urllib.parse import quote

from sempelmas.domain import digits
from sempelmas.domain.i18n import lazy as _

_SEPARATORS = re.compile(r"[\s().\-]")


class PhoneError(ValueError):
    pass


def normalise(value: str | None) -> str:
    """Return ``+62…`` for 0812…, 62812…, +62 812-… ; raise PhoneError when it cannot be a number.

    Full-width and superscript digits are read as 0–9 (NFKC); other scripts' digits are refused."""
    raw = _SEPARATORS.sub("", digits.normalise(value))
    if not raw:
        raise PhoneError(_("Nomor HP wajib diisi."))
    if raw.startswith("+"):
        raw = raw[1:]
        if not raw.startswith("62"):
            raise PhoneError(_("Nomor HP harus nomor Indonesia (+62)."))
    if not digits.is_ascii_digits(raw):
        raise PhoneError(_("Nomor HP hanya boleh berisi angka 0–9."))
    if raw.startswith("62"):
        rest = raw[2:]
    elif raw.startswith("0"):
        rest = raw[1:]
    else:
        rest = raw
    if rest.startswith("0"):
        rest = rest[1:]
    if not rest or rest[0] not in "2345678":  # 8… mobile, 2…7 a landline area code
        raise PhoneError(_("Nomor HP tidak dikenal; contoh yang benar: 0812 3456 7890."))
    if not (8 <= len(rest) <= 13):
        raise PhoneError(_("Nomor HP harus 9–14 digit termasuk awalan 0."))
    return "+62" + rest


def looks_like_phone(value: str) -> bool:
    raw = _SEPARATORS.sub("", digits.normalise(value))
    return bool(re.fullmatch(r"(\+?62|0)8[0-9]{7,12}", raw))


def tel_uri(value: str | None) -> str | None:
    """``tel:`` link of a number as an office writes it ("(0321) 495-123", "0812 …"): +62… when it is an
    Indonesian number, else its digits (and a leading +) as typed; None when there are none."""
    if not value:
        return None
    try:
        return "tel:" + normalise(value)
    except PhoneError:
        raw = digits.normalise(value).strip()
        kept = ("+" if raw.startswith("+") else "") + "".join(c for c in raw if c.isascii() and c.isdigit())
        return "tel:" + kept if kept.strip("+") else None


def wa_me(value: str | None, text: str | None = None) -> str | None:
    """The ``https://wa.me/62…`` link that opens a WhatsApp chat with the number (None when it is not one);
    ``text`` prefills the message."""
    if not value:
        return None
    try:
        number = normalise(value)[1:]
    except PhoneError:
        return None
    if text:
        return f"https://wa.me/{number}?text={quote(text)}"
    return f"https://wa.me/{number}"
