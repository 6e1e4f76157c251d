"""Typed text as it may be stored and printed: no invisible control characters, one form of each letter.

What people paste from chat apps and word processors carries characters nobody meant to type: terminal
escapes, NUL bytes (which PostgreSQL refuses outright), zero-width spaces and right-to-left overrides (which
make a name on a letter read differently from what is stored). They are dropped; line breaks survive only
where the field holds several lines.
"""

from __future__ import annotations

import re
import unicodedata

#: C0/C1 controls except tab and line breaks, which are handled on their own
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
#: format characters that change how text around them is shown without being text themselves: zero-width
#: space, bidirectional marks, embeddings, overrides and isolates, the byte-order mark
_INVISIBLE = re.compile(r"[\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
#: every way of ending a line: CRLF, CR, NEL, line and paragraph separators
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` in NFC with control and invisible formatting characters removed.

    Rules: a tab becomes a space; line breaks become "\\n" in a multi-line field and a space elsewhere
    (a browser's single-line input cannot hold one either); leading and trailing spaces stay (the
    field's own validation strips them where it should).
    """
    if value.isprintable() and unicodedata.is_normalized("NFC", value):
        return value  # the usual case, without a pass of each rule (isprintable is False for every character
        # the rules below touch: controls, line breaks, tabs, format characters)
    text = unicodedata.normalize("NFC", value)
    text = _LINE_BREAKS.sub("\n" if multiline else " ", text)
    text = _CONTROLS.sub("", text).replace("\t", " ")
    return _INVISIBLE.sub("", text)


def has_nul(value: str) -> bool:
    """A NUL byte: never typed by a person, refused by PostgreSQL in any text it stores or compares."""
    return "\x00" in value
