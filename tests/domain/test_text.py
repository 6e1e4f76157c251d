"""Typed text as it may be stored: control and invisible characters dropped, line breaks only where allowed."""

import pytest

from sempelmas.domain.text import clean_text, has_nul


@pytest.mark.parametrize(("typed", "stored"), [
    ("Budi Hartono", "Budi Hartono"),
    ("Bu\x00di\x07 \x1b[31mHartono\x7f", "Budi [31mHartono"),
    ("\u202eonotraH idiuB", "onotraH idiuB"),  # a right-to-left override would show the name reversed
    ("Jl.\u200bPemuda\ufeff", "Jl.Pemuda"),
    ("baris satu\r\nbaris dua", "baris satu baris dua"),
    ("kolom\tdua", "kolom dua"),
    ("Jose\u0301", "José"),  # one form of each letter (NFC): the same name compares equal
    ("Rp 10.000 👍🏽", "Rp 10.000 👍🏽"),
])
def test_a_single_line_keeps_what_a_person_typed_and_nothing_else(typed, stored):
    assert clean_text(typed) == stored


def test_several_lines_keep_their_breaks_in_one_form():
    assert clean_text("satu\r\ndua\rtiga\u2028empat\x85lima", multiline=True) == "satu\ndua\ntiga\nempat\nlima"


def test_a_nul_byte_is_recognised():
    assert has_nul("ab\x00c") and not has_nul("abc")
