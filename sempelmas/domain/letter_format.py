"""How things are written on an Indonesian official letter: dates, Roman months, NIP groups, titles."""

from __future__ import annotations

from datetime import date

from sempelmas.domain import digits

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
          "Oktober", "November", "Desember")
ROMAN_MONTHS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
GENDERS = {"L": "Laki-laki", "P": "Perempuan"}


def long_date(value: date | None) -> str:
    """27 November 2026: always Indonesian, whatever language the screen is in (a letter is a legal text)."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def roman_month(month: int) -> str:
    """11 → XI, as some offices print the month in letter numbers."""
    return ROMAN_MONTHS[month - 1]


def rt_rw_label(rt: str | None, rw: str | None) -> str:
    """"RT 003 / RW 002" (numbers as stored, padded by domain.digits.rt_rw); "-" for a missing one."""
    return f"RT {rt or '-'} / RW {rw or '-'}"


def nip_grouped(nip: str | None) -> str:
    """An 18-digit NIP as printed: 19750101 200003 1 001 (birth date, appointment, sex, serial)."""
    n = (nip or "").strip()
    if len(n) != 18 or not digits.is_ascii_digits(n):
        return n
    return f"{n[:8]} {n[8:14]} {n[14]} {n[15:]}"


def place_name(name: str | None) -> str:
    """"MOJOKERTO" or "mojokerto" → "Mojokerto" (the register writes places in capitals)."""
    return " ".join(w[:1].upper() + w[1:].lower() for w in (name or "").split())
