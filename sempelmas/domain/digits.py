"""Digits as people type them: one rule for every number field (NIK, KK, phone, RT/RW, NIP, postcode,
service answers, tracking numbers, page numbers in a query string).

Phone keyboards and copy-paste bring full-width (１２３), superscript (²) and other scripts' digits (٣).
Python's ``str.isdigit`` and ``\\d`` accept all of them, ``int()`` accepts some: a full-width NIK made a
second account for an existing one, a superscript digit crashed ``int()``. So every digit field is first
normalised with Unicode NFKC (full-width and superscript digits become 0–9) and then accepts ASCII 0–9
only; digits of other scripts get a clear message instead of being stored in another spelling.
"""

from __future__ import annotations

import re
import unicodedata

#: what people type between digit groups: spaces, dots, dashes (after NFKC: a full-width space is a space)
_SEPARATORS = re.compile(r"[\s.\-]")
#: a number large enough for any id, year or page, small enough for every database's integer column
MAX_INT = 2**31 - 1


def normalise(value: str | None) -> str:
    """The NFKC form: full-width and superscript digits (and letters) become their ASCII spelling."""
    return unicodedata.normalize("NFKC", value or "")


def is_ascii_digits(text: str) -> bool:
    """Only 0–9 (``str.isdigit`` alone also says yes to ², １ and ٣)."""
    return bool(text) and text.isascii() and text.isdigit()


def clean(value: str | None) -> str:
    """Normalised, without the spaces, dots and dashes people type between digit groups."""
    return _SEPARATORS.sub("", normalise(value))


def to_int(value: str | None, *, low: int = 0, high: int = MAX_INT) -> int | None:
    """An ASCII (after NFKC) whole number within ``low``–``high``; None for anything else."""
    text = normalise(value).strip()
    if not is_ascii_digits(text) or len(text) > len(str(high)):
        return None
    number = int(text)
    return number if low <= number <= high else None


def rt_rw(value: str | None) -> str | None:
    """An RT or RW number as printed, three digits ("1" → "001"); None unless it is 1–3 digits, not zero."""
    text = normalise(value).strip()
    if not is_ascii_digits(text) or len(text) > 3 or int(text) == 0:
        return None
    return text.zfill(3)


def fixed_length(value: str | None, length: int) -> str | None:
    """Exactly ``length`` digits (NIP, postcode), separators dropped; None otherwise."""
    text = clean(value)
    return text if is_ascii_digits(text) and len(text) == length else None


def query_int(args, name: str, default: int | None = None, *, low: int = 1, high: int = MAX_INT) -> int | None:
    """A whole number from a query string (a page, a year, an id): ``default`` for anything else, so a
    hand-edited address (², ٣, a 30-digit page) never reaches the database as a number it cannot hold."""
    value = to_int(args.get(name), low=low, high=high)
    return default if value is None else value


def code(value: str | None) -> str:
    """A code people copy or type (a tracking number, a complaint code): NFKC, trimmed, in capitals, so
    "ｊｇｌ-２０２６-０００００１" finds JGL-2026-000001."""
    return normalise(value).strip().upper()
