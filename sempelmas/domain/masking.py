"""Masking personal data for public pages (UU PDP, Adminduk)."""

from __future__ import annotations

BULLET = "\u2022"


def mask_nik(nik: str | None) -> str:
    """``3576034101900001`` → ``3576••••••••0001``: province and regency stay, the rest hides."""
    if not nik:
        return ""
    if len(nik) <= 8:
        return BULLET * len(nik)
    return nik[:4] + BULLET * (len(nik) - 8) + nik[-4:]


def mask_name(name: str | None) -> str:
    """``Budi Santoso`` → ``B*** S******``: first letter of each word stays."""
    if not name:
        return ""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:5] + BULLET * max(len(phone) - 8, 0) + phone[-3:]
