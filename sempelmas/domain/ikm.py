"""Indeks Kepuasan Masyarakat (PermenPANRB 14/2017): the nine elements and the computation. No Flask, no database.

Per element, NRR (nilai rata-rata) = the sum of its answers / the respondents. IKM = Σ NRR × 1/9 (1.00–4.00);
the converted score = IKM × 25 (25–100). The quality category comes from the converted score, rounded to two
decimals (half up) first: the official intervals (25.00–64.99 D, 65.00–76.60 C, 76.61–88.30 B, 88.31–100.00 A)
then leave no gap. Sums are kept as exact fractions; only what is shown is rounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def _(message: str) -> str:
    """Marks a text for extraction (pybabel -k _); screens translate it when shown: ``gettext(element.name)``."""
    return message


ANSWERS = (1, 2, 3, 4)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Element:
    """One unsur of the survey: its code (U1…U9), name, question and the labels of answers 1–4."""

    code: str
    name: str
    question: str
    labels: tuple[str, str, str, str]


#: the nine elements in the order of PermenPANRB 14/2017, with the questions of its sample questionnaire
ELEMENTS: tuple[Element, ...] = (
    Element("u1", _("Persyaratan"),
            _("Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"),
            (_("Tidak sesuai"), _("Kurang sesuai"), _("Sesuai"), _("Sangat sesuai"))),
    Element("u2", _("Sistem, Mekanisme dan Prosedur"),
            _("Bagaimana pemahaman Anda tentang kemudahan prosedur pelayanan di unit ini?"),
            (_("Tidak mudah"), _("Kurang mudah"), _("Mudah"), _("Sangat mudah"))),
    Element("u3", _("Waktu Penyelesaian"),
            _("Bagaimana pendapat Anda tentang kecepatan waktu dalam memberikan pelayanan?"),
            (_("Tidak cepat"), _("Kurang cepat"), _("Cepat"), _("Sangat cepat"))),
    Element("u4", _("Biaya/Tarif"),
            _("Bagaimana pendapat Anda tentang kewajaran biaya/tarif dalam pelayanan?"),
            (_("Sangat mahal"), _("Cukup mahal"), _("Murah"), _("Gratis"))),
    Element("u5", _("Produk Spesifikasi Jenis Pelayanan"),
            _("Bagaimana pendapat Anda tentang kesesuaian produk pelayanan antara yang tercantum dalam standar "
              "pelayanan dengan hasil yang diberikan?"),
            (_("Tidak sesuai"), _("Kurang sesuai"), _("Sesuai"), _("Sangat sesuai"))),
    Element("u6", _("Kompetensi Pelaksana"),
            _("Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas dalam pelayanan?"),
            (_("Tidak kompeten"), _("Kurang kompeten"), _("Kompeten"), _("Sangat kompeten"))),
    Element("u7", _("Perilaku Pelaksana"),
            _("Bagaimana pendapat Anda tentang perilaku petugas dalam pelayanan terkait kesopanan dan keramahan?"),
            (_("Tidak sopan dan ramah"), _("Kurang sopan dan ramah"), _("Sopan dan ramah"),
             _("Sangat sopan dan ramah"))),
    Element("u8", _("Penanganan Pengaduan, Saran dan Masukan"),
            _("Bagaimana pendapat Anda tentang penanganan pengaduan, saran dan masukan pengguna layanan?"),
            (_("Tidak ada"), _("Ada tetapi tidak berfungsi"), _("Berfungsi kurang maksimal"),
             _("Dikelola dengan baik"))),
    Element("u9", _("Sarana dan Prasarana"),
            _("Bagaimana pendapat Anda tentang kualitas sarana dan prasarana pelayanan (termasuk aplikasi ini)?"),
            (_("Buruk"), _("Cukup"), _("Baik"), _("Sangat baik"))),
)
CODES = tuple(e.code for e in ELEMENTS)

#: (lowest converted score of the interval, category, mutu pelayanan), highest first
CATEGORIES = (
    (Decimal("88.31"), "A", _("Sangat Baik")),
    (Decimal("76.61"), "B", _("Baik")),
    (Decimal("65.00"), "C", _("Kurang Baik")),
    (Decimal("25.00"), "D", _("Tidak Baik")),
)


def bands() -> list[tuple[str, str, Decimal, Decimal]]:
    """(letter, label, lowest, highest converted score) of each category, A first: A 88.31–100.00, …"""
    out, upper = [], Decimal("100.00")
    for lowest, letter, label in CATEGORIES:
        out.append((letter, label, lowest, upper))
        upper = lowest - CENT
    return out


def round2(value: Fraction | Decimal | int) -> Decimal:
    """Two decimals, half up (as the report prints them)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def category(converted: Fraction | Decimal | int) -> tuple[str, str]:
    """(letter, label) of a converted score 25–100, e.g. 82.64 → ("B", "Baik"); rounded to 2 decimals first."""
    score = round2(converted)
    if not Decimal(25) <= score <= Decimal(100):
        raise ValueError(f"converted IKM score out of range: {score}")
    for lowest, letter, label in CATEGORIES:
        if score >= lowest:
            return letter, label
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ElementResult:
    element: Element
    total: int
    nrr: Fraction
    #: NRR × 25, the element's own converted score, and its category
    converted: Decimal
    category: str
    lowest: bool

    @property
    def nrr_shown(self) -> Decimal:
        return round2(self.nrr)

    @property
    def weighted(self) -> Decimal:
        """NRR tertimbang (NRR × 1/9), four decimals."""
        value = self.nrr / 9
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass(frozen=True)
class IkmResult:
    respondents: int
    elements: tuple[ElementResult, ...]
    #: Σ NRR / 9, exact
    ikm: Fraction
    converted: Decimal
    category: str
    category_label: str

    @property
    def ikm_shown(self) -> Decimal:
        """The IKM (1–4) with four decimals, as the official tables print it."""
        return (Decimal(self.ikm.numerator) / Decimal(self.ikm.denominator)).quantize(Decimal("0.0001"),
                                                                                      ROUND_HALF_UP)

    @property
    def lowest(self) -> list[ElementResult]:
        return [e for e in self.elements if e.lowest]


def validate(answers: Sequence[int]) -> None:
    if len(answers) != len(ELEMENTS) or any(a not in ANSWERS for a in answers):
        raise ValueError(f"a response has nine answers 1–4, got {list(answers)!r}")


def compute(responses: Iterable[Sequence[int]]) -> IkmResult | None:
    """The IKM of ``responses`` (each the nine answers U1…U9, 1–4), or None without any response.

    Lowest elements: those whose NRR (exact) equals the smallest of the nine, ties included.
    """
    totals = [0] * len(ELEMENTS)
    n = 0
    for answers in responses:
        validate(answers)
        n += 1
        for i, a in enumerate(answers):
            totals[i] += a
    return from_totals(n, totals)


def from_totals(respondents: int, totals: Sequence[int]) -> IkmResult | None:
    """The IKM from the number of respondents and the sum of each element's answers (as SQL adds them up)."""
    n = respondents
    if n == 0:
        return None
    if len(totals) != len(ELEMENTS) or any(not n <= t <= 4 * n for t in totals):
        raise ValueError(f"element sums out of range for {n} respondents: {list(totals)!r}")
    nrrs = [Fraction(int(t), n) for t in totals]
    low = min(nrrs)
    elements = []
    for element, total, nrr in zip(ELEMENTS, totals, nrrs, strict=True):
        converted = round2(nrr * 25)
        elements.append(ElementResult(element, int(total), nrr, converted, category(converted)[0], nrr == low))
    ikm = sum(nrrs, Fraction(0)) / 9
    converted = round2(ikm * 25)
    letter, label = category(converted)
    return IkmResult(n, tuple(elements), ikm, converted, letter, label)
