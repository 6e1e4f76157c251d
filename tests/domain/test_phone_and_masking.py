import pytest

from sempelmas.domain.masking import mask_name, mask_nik, mask_phone
from sempelmas.domain.phone import PhoneError, looks_like_phone, normalise, tel_uri, wa_me


@pytest.mark.parametrize(
    "value",
    ["081234567890", "0812-3456-7890", "+62 812 3456 7890", "62812 3456 7890", "812 3456 7890",
     "(0812) 3456.7890"],
)
def test_phone_numbers_normalise_to_plus62(value):
    assert normalise(value) == "+6281234567890"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("", "wajib"), ("0812abc", "angka"), ("+1 555 1234", "Indonesia"), ("0812", "9–14 digit"),
     ("091234567", "tidak dikenal")],
)
def test_bad_phone_numbers_get_a_clear_message(value, fragment):
    with pytest.raises(PhoneError) as err:
        normalise(value)
    assert fragment in str(err.value)


def test_looks_like_phone_tells_numbers_from_usernames_and_niks():
    assert looks_like_phone("0812 3456 7890")
    assert not looks_like_phone("petugas")
    assert not looks_like_phone("3576034101900001")


def test_masking_hides_the_middle_of_a_nik_and_the_rest_of_each_name():
    assert mask_nik("3576034101900003") == "3576" + "\u2022" * 8 + "0003"
    assert mask_name("Budi Santoso") == "B*** S******"
    assert mask_nik("") == "" and mask_name(None) == ""
    assert mask_phone("+6281234567890").endswith("890")
    assert "4567" not in mask_phone("+6281234567890")


def test_office_numbers_become_links_one_tap_opens():
    assert tel_uri("0812-3456-7890") == "tel:+6281234567890"
    assert tel_uri("(0321) 495123") == "tel:+62321495123"
    assert tel_uri("ext. 12") == "tel:12" and tel_uri("-") is None and tel_uri(None) is None
    assert wa_me("0812 3456 7890") == "https://wa.me/6281234567890"
    assert wa_me("+62 812-3456-7890", "Halo kantor") == "https://wa.me/6281234567890?text=Halo%20kantor"
    assert wa_me("bukan nomor") is None and wa_me("") is None
