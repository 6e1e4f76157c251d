"""How much work a PDF will be, counted on its bytes before any parser reads it.

A parser's cost grows with the revisions (incremental updates: pyHanko's check of a signed file grows with
their square) and with the objects it must read. Both are counted here with plain byte searches: linear,
a few milliseconds for 15 MB, no allocation beyond the file. The counts can be fooled (objects inside
compressed object streams, names written with #-escapes): they catch the crude files cheaply, and what gets
past them is still parsed under a time and memory budget (services/files/isolation.py).
"""

from __future__ import annotations

import re

_OBJECT = re.compile(rb"\d[\x00\t\n\x0c\r ]+obj\b")


def revisions(data: bytes) -> int:
    """Revisions of the file: every update ends with ``startxref``/``%%EOF`` and, as a classic table, has
    a ``trailer``; as an xref stream it points back with ``/Prev``. The largest of those counts."""
    return max(1, data.count(b"%%EOF"), data.count(b"startxref"), data.count(b"trailer"),
               data.count(b"/Prev") + 1)


def objects(data: bytes) -> int:
    """Indirect objects written in the open (``12 0 obj``), over every revision."""
    return sum(1 for _m in _OBJECT.finditer(data))
