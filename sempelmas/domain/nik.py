"""NIK (Nomor Induk Kependudukan) and KK number rules, without Flask.

NIK = province(2) + regency(2) + district(2) + DDMMYY (women: day + 40) + serial(4).
Hard errors make a NIK unusable; a date that does not exist or disagrees with what the person
typed is only a warning for staff, because real NIKs carry such dates and are never reissued.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from sempelmas.domain import digits
from sempelmas.domain.i18n import lazy as _

# Kemendagri province codes (Permendagri 72/2019 and the 2022 Papua split).
PROVINCES: dict[str, str] = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung", "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau", "31": "DKI Jakarta", "32": "Jawa Barat", "33": "Jawa Tengah",
    "34": "DI Yogyakarta", "35": "Jawa Timur", "36": "Banten", "51": "Bali",
    "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur", "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah", "63": "Kalimantan Selatan", "64": "Kalimantan Timur",
    "65": "Kalimantan Utara", "71": "Sulawesi Utara", "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara", "75": "Gorontalo", "76": "Sulawesi Barat",
    "81": "Maluku", "82": "Maluku Utara", "91": "Papua", "92": "Papua Barat", "93": "Papua Selatan",
    "94": "Papua Tengah", "95": "Papua Pegunungan", "96": "Papua Barat Daya",
}

MALE = "L"
FEMALE = "P"


class NikError(ValueError):
    """A NIK that cannot be right; ``part`` names the wrong part."""

    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part
        self.message = message


@dataclass
class NikInfo:
    nik: str
    province_code: str
    region_code: str  # 6 digits: where the NIK was first issued
    gender: str  # "L" or "P"
    day: int
    month: int
    year2: int
    serial: str
    birth_date: date | None  # None when the encoded date does not exist (e.g. 31-02)
    warnings: list[str] = field(default_factory=list)

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province_code]


def clean_digits(value: str | None) -> str:
    """NFKC-normalised (full-width and superscript digits become 0–9), without the spaces, dots and dashes
    people type between digit groups. Callers still check ``digits.is_ascii_digits``: other scripts' digits
    stay as they are."""
    return digits.clean(value)


def check_format(value: str | None) -> str:
    """Return the cleaned 16-digit NIK or raise NikError naming the wrong part."""
    nik = clean_digits(value)
    if not nik:
        raise NikError("length", str(_("NIK wajib diisi.")))
    if not digits.is_ascii_digits(nik):
        raise NikError("length", str(_("NIK hanya boleh berisi angka 0–9.")))
    if len(nik) != 16:
        raise NikError(
            "length", str(_("NIK harus 16 digit (yang diisi %(n)d digit).", n=len(nik)))
        )
    if nik[:2] not in PROVINCES:
        raise NikError(
            "province",
            str(_("Kode provinsi %(code)s pada 2 digit pertama NIK tidak dikenal.", code=nik[:2])),
        )
    day = int(nik[6:8])
    month = int(nik[8:10])
    if not (1 <= month <= 12):
        raise NikError(
            "month", str(_("Bulan lahir pada NIK (digit 9–10) harus 01–12, bukan %(m)s.", m=nik[8:10]))
        )
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise NikError(
            "day",
            str(_("Tanggal lahir pada NIK (digit 7–8) harus 01–31 atau 41–71 untuk perempuan, "
                  "bukan %(d)s.", d=nik[6:8])),
        )
    if nik[12:] == "0000":
        raise NikError("serial", str(_("Nomor urut NIK (4 digit terakhir) tidak boleh 0000.")))
    return nik


def _century_year(year2: int, today: date) -> int:
    """Pick the century that gives an age of 0–110 years."""
    year = 2000 + year2
    if year > today.year:
        year -= 100
    return year


def parse(value: str | None, today: date | None = None) -> NikInfo:
    """Validate a NIK and derive gender and birth date; warnings note an impossible date."""
    today = today or date.today()
    nik = check_format(value)
    day = int(nik[6:8])
    gender = FEMALE if day > 40 else MALE
    if gender == FEMALE:
        day -= 40
    month = int(nik[8:10])
    year2 = int(nik[10:12])
    year = _century_year(year2, today)
    warnings: list[str] = []
    birth: date | None
    if day > calendar.monthrange(year, month)[1]:
        birth = None
        warnings.append(
            str(_("Tanggal lahir pada NIK (%(d)02d-%(m)02d-%(y)d) tidak ada di kalender.",
                  d=day, m=month, y=year))
        )
    else:
        birth = date(year, month, day)
        if birth > today:
            warnings.append(str(_("Tanggal lahir pada NIK ada di masa depan.")))
    return NikInfo(
        nik=nik, province_code=nik[:2], region_code=nik[:6], gender=gender, day=day, month=month,
        year2=year2, serial=nik[12:], birth_date=birth, warnings=warnings,
    )


def compare_with_declared(info: NikInfo, gender: str | None, birth_date: date | None) -> list[str]:
    """Warnings for staff where the NIK disagrees with the gender or birth date typed."""
    warnings = list(info.warnings)
    if gender and gender != info.gender:
        warnings.append(
            str(_("Jenis kelamin pada NIK (%(nik)s) berbeda dengan yang diisi (%(typed)s).",
                  nik=gender_label(info.gender), typed=gender_label(gender)))
        )
    if birth_date:
        if info.birth_date is not None and info.birth_date != birth_date:
            warnings.append(
                str(_("Tanggal lahir pada NIK (%(nik)s) berbeda dengan yang diisi (%(typed)s).",
                      nik=info.birth_date.strftime("%d-%m-%Y"),
                      typed=birth_date.strftime("%d-%m-%Y")))
            )
        elif info.birth_date is None and (birth_date.day, birth_date.month) != (info.day, info.month):
            warnings.append(str(_("Tanggal lahir pada NIK berbeda dengan yang diisi.")))
    return warnings


def gender_label(code: str) -> str:
    return str(_("Perempuan")) if code == FEMALE else str(_("Laki-laki"))


def check_kk(value: str | None) -> str:
    """Return the cleaned 16-digit KK number or raise NikError naming the wrong part."""
    kk = clean_digits(value)
    if not kk:
        raise NikError("length", str(_("Nomor KK wajib diisi.")))
    if not digits.is_ascii_digits(kk):
        raise NikError("length", str(_("Nomor KK hanya boleh berisi angka 0–9.")))
    if len(kk) != 16:
        raise NikError("length", str(_("Nomor KK harus 16 digit (yang diisi %(n)d digit).", n=len(kk))))
    if kk[:2] not in PROVINCES:
        raise NikError(
            "province",
            str(_("Kode provinsi %(code)s pada 2 digit pertama nomor KK tidak dikenal.", code=kk[:2])),
        )
    if kk[12:] == "0000":
        raise NikError("serial", str(_("Nomor urut KK (4 digit terakhir) tidak boleh 0000.")))
    return kk
