"""The IKM computation of PermenPANRB 14/2017 against a worked example done by hand."""

from decimal import Decimal
from fractions import Fraction

import pytest

from sempelmas.domain import ikm

# Four respondents, answers U1…U9. Column sums: 14 14 11 16 13 13 16 9 13 (total 119).
WORKED = [
    (4, 4, 3, 4, 3, 3, 4, 2, 3),
    (3, 4, 3, 4, 3, 4, 4, 3, 3),
    (3, 3, 2, 4, 3, 3, 4, 2, 4),
    (4, 3, 3, 4, 4, 3, 4, 2, 3),
]


def test_worked_example_gives_nrr_ikm_converted_score_and_category():
    r = ikm.compute(WORKED)
    assert r.respondents == 4
    assert [e.total for e in r.elements] == [14, 14, 11, 16, 13, 13, 16, 9, 13]
    assert [e.nrr_shown for e in r.elements] == [Decimal(x) for x in
                                                 ("3.50", "3.50", "2.75", "4.00", "3.25", "3.25", "4.00", "2.25",
                                                  "3.25")]
    # IKM = (3.5+3.5+2.75+4+3.25+3.25+4+2.25+3.25)/9 = 29.75/9 = 3.30555…; ×25 = 82.638…
    assert r.ikm == Fraction(119, 36)
    assert r.ikm_shown == Decimal("3.3056")
    assert r.converted == Decimal("82.64")
    assert (r.category, r.category_label) == ("B", "Baik")
    assert [e.element.code for e in r.lowest] == ["u8"]  # Penanganan pengaduan: 2.25
    assert r.elements[7].converted == Decimal("56.25") and r.elements[7].category == "D"
    assert r.elements[0].weighted == Decimal("0.3889")  # 3.5 / 9


def test_no_response_gives_no_result():
    assert ikm.compute([]) is None


def test_ties_for_lowest_are_all_highlighted():
    r = ikm.compute([(2, 3, 3, 3, 3, 3, 3, 2, 3)])
    assert [e.element.code for e in r.lowest] == ["u1", "u8"]


@pytest.mark.parametrize(("score", "letter", "label"), [
    ("25.00", "D", "Tidak Baik"), ("64.99", "D", "Tidak Baik"), ("64.994", "D", "Tidak Baik"),
    ("64.995", "C", "Kurang Baik"),  # rounds to 65.00
    ("65.00", "C", "Kurang Baik"), ("76.60", "C", "Kurang Baik"), ("76.61", "B", "Baik"),
    ("88.30", "B", "Baik"), ("88.305", "A", "Sangat Baik"), ("88.31", "A", "Sangat Baik"),
    ("100", "A", "Sangat Baik"),
])
def test_category_intervals_are_the_official_ones(score, letter, label):
    assert ikm.category(Decimal(score)) == (letter, label)


def test_scores_outside_25_to_100_are_refused():
    with pytest.raises(ValueError):
        ikm.category(Decimal("24.99"))


def test_extremes_all_fours_and_all_ones():
    assert ikm.compute([(4,) * 9]).converted == Decimal("100.00")
    best = ikm.compute([(4,) * 9])
    assert best.category == "A"
    worst = ikm.compute([(1,) * 9, (1,) * 9])
    assert (worst.converted, worst.category) == (Decimal("25.00"), "D")


def test_invalid_answers_are_refused():
    with pytest.raises(ValueError):
        ikm.compute([(4,) * 8])
    with pytest.raises(ValueError):
        ikm.compute([(5, 4, 4, 4, 4, 4, 4, 4, 4)])


def test_bands_cover_25_to_100_without_gaps():
    assert [(b[0], str(b[2]), str(b[3])) for b in ikm.bands()] == [
        ("A", "88.31", "100.00"), ("B", "76.61", "88.30"), ("C", "65.00", "76.60"), ("D", "25.00", "64.99")]


def test_nine_elements_in_the_regulation_order_each_with_four_answers():
    assert [e.name for e in ikm.ELEMENTS] == [
        "Persyaratan", "Sistem, Mekanisme dan Prosedur", "Waktu Penyelesaian", "Biaya/Tarif",
        "Produk Spesifikasi Jenis Pelayanan", "Kompetensi Pelaksana", "Perilaku Pelaksana",
        "Penanganan Pengaduan, Saran dan Masukan", "Sarana dan Prasarana"]
    assert all(len(e.labels) == 4 and e.question.endswith("?") for e in ikm.ELEMENTS)


def test_from_totals_gives_the_same_result_as_the_answers():
    assert ikm.from_totals(4, [14, 14, 11, 16, 13, 13, 16, 9, 13]) == ikm.compute(WORKED)
    assert ikm.from_totals(0, [0] * 9) is None
    with pytest.raises(ValueError):
        ikm.from_totals(2, [9] * 9)  # more than 4 × 2
