"""Whatever a person (or a script) types into a registration or request field gets a clear message or a clean
save, never a 500: Unicode digits, control characters, 10 KB strings and HTML, field by field.

Two layers: a fixed matrix (every field × every kind of hostile value, so each field is covered on every run)
and a Hypothesis search over arbitrary text in any field. Both run against the real database, where a NUL byte
or an over-long value fails differently on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Registration, Role
from sempelmas.models.complaints import Complaint
from sempelmas.models.requests import LetterRequest
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.people import account_verification
from tests.conftest import jpeg_bytes
from tests.request_factory import make_profile
from tests.views.test_resident_requests import GOOD, make_service

#: one of each kind of hostile value; {valid} is the field's own good value
HOSTILE = {
    "fullwidth": lambda valid: valid.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    "arabic_indic": lambda valid: valid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    "superscript": lambda valid: (valid[:-1] + "²") if valid else "²",
    "digits_only_superscript": lambda valid: "¹²³",
    "nul": lambda valid: valid[:2] + "\x00" + valid[2:],
    "controls": lambda valid: "\x07\x1b[31m" + valid + "\x7f\u202e\x85",
    "newline": lambda valid: valid + "\r\nBaris dua",
    "ten_kb": lambda valid: "A" * 10_240,
    "ten_kb_digits": lambda valid: "1" * 10_240,
    "html": lambda valid: '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "template": lambda valid: "{{ 7*7 }}{% raw %}",
    "sql": lambda valid: "' OR 1=1; DROP TABLE users; --",
    "emoji": lambda valid: valid + " 👍🏽",
    "blank": lambda valid: "   ",
}

#: characters that must never be stored in a single-line field
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def _check_answer(resp) -> None:
    """Never a server error; a form that was not saved says what is wrong; no typed HTML is live."""
    assert resp.status_code < 500, resp.get_data(as_text=True)[:2000]
    html = resp.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x onerror" not in html
    if resp.status_code == 422:  # the form again, saying what is wrong
        assert re.search(r'class="(error|form-error)"', html), html[:3000]
    elif resp.status_code == 400:  # a request no form makes: a page that says why
        assert 'class="card error-page"' in html and "tidak" in html, html[:3000]


def _clean_text(value: str | None, *, multiline: bool = False) -> None:
    """A saved value carries no control characters (a newline only where several lines are allowed)."""
    if value is None:
        return
    text = value.replace("\n", "") if multiline else value
    assert not _CONTROL.search(text), repr(value[:80])


# ------------------------------------------------------------------ registration (anonymous)

REGISTRATION = {
    "nik": make_nik(date(1991, 2, 3), False, 4242),
    "kk_number": "3576030101200042",
    "full_name": "Budi Hartono",
    "birth_place": "Mojokerto",
    "birth_date": "1991-02-03",
    "gender": "L",
    "address": "Jl. Pemuda No. 7",
    "rt": "001",
    "rw": "002",
    "phone": "081234500042",
    "email": "budi@example.id",
    "password": "kata-sandi-panjang",
    "password2": "kata-sandi-panjang",
    "consent": "y",
}


def _register(client, **changes):
    form = {**REGISTRATION, **changes, "ktp_photo": (io.BytesIO(jpeg_bytes()), "ktp.jpg")}
    return client.post("/daftar", data=form, content_type="multipart/form-data")


def _assert_registration_clean() -> None:
    """The registration just saved (and its account) hold clean values."""
    reg = db.session.scalar(select(Registration).order_by(Registration.id.desc()).limit(1))
    assert reg is not None
    assert re.fullmatch(r"[0-9]{16}", reg.nik) and re.fullmatch(r"[0-9]{16}", reg.kk_number)
    assert re.fullmatch(r"[0-9]{3}", reg.rt) and re.fullmatch(r"[0-9]{3}", reg.rw)
    for value in (reg.full_name, reg.birth_place, reg.address):
        _clean_text(value)
    user = reg.user
    _clean_text(user.full_name)
    assert user.phone is None or re.fullmatch(r"\+62[0-9]{8,13}", user.phone), user.phone
    _clean_text(user.email)


@pytest.fixture
def kelurahan(app):
    make_profile()
    db.session.commit()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", [f for f in REGISTRATION if f not in ("consent", "password2")])
def test_every_registration_field_answers_hostile_input_clearly(kelurahan, client, field, kind):
    value = HOSTILE[kind](REGISTRATION[field])
    changes = {field: value}
    if field == "password":
        changes["password2"] = value
    resp = _register(client, **changes)
    _check_answer(resp)
    if resp.status_code == 303:  # saved: what was stored is clean
        _assert_registration_clean()
    else:
        assert resp.status_code == 422
        html = resp.get_data(as_text=True)
        # the rest of the form is kept
        for other in ("full_name", "address"):
            if other != field:
                assert REGISTRATION[other] in html


def test_a_nik_in_other_digits_is_the_same_nik(kelurahan, app, client, factory):
    """Full-width digits are the same NIK: a registration typed with them is stored with 0–9 (so staff see it
    beside the first one), and once the NIK belongs to a verified account it is refused like the plain one.
    Digits of other scripts get a clear message."""
    first = _register(client)
    assert first.status_code == 303
    client.post("/logout")
    nik = REGISTRATION["nik"]
    # the region part as typed, the rest in full-width digits: what a phone keyboard in another width gives
    waiting = _register(client, nik=nik[:6] + HOSTILE["fullwidth"](nik[6:]), phone="081234509001")
    assert waiting.status_code == 303
    client.post("/logout")
    assert db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.nik == nik)) == 2  # one NIK, two waiting registrations
    owner = db.session.scalar(select(Registration).where(Registration.nik == nik)
                              .order_by(Registration.id).limit(1)).user
    account_verification.verify_account(factory.staff(Role.STAFF), owner)
    db.session.commit()
    taken = _register(client, nik=nik[:6] + HOSTILE["fullwidth"](nik[6:]), phone="081234509002")
    _check_answer(taken)
    assert taken.status_code == 422 and "NIK ini sudah terdaftar" in taken.get_data(as_text=True)
    other_script = _register(client, nik=nik[:6] + HOSTILE["arabic_indic"](nik[6:]), phone="081234509003")
    _check_answer(other_script)
    assert other_script.status_code == 422 and "0–9" in other_script.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Registration)
                             .where(Registration.nik == nik)) == 2


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("param", ["nik", "gender", "birth_date"])
def test_the_live_nik_check_answers_hostile_input(kelurahan, client, param, kind):
    params = {"nik": REGISTRATION["nik"], "gender": "L", "birth_date": "1991-02-03"}
    params[param] = HOSTILE[kind](params[param])
    _check_answer(client.get("/daftar/cek-nik", query_string=params))


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", ["nik", "code", "password"])
def test_the_password_reset_form_answers_hostile_input(kelurahan, client, field, kind):
    form = {"nik": REGISTRATION["nik"], "code": "ABCDE-FGHJK", "password": "kata-sandi-baru",
            "password2": "kata-sandi-baru"}
    form[field] = HOSTILE[kind](form[field])
    if field == "password":
        form["password2"] = form["password"]
    resp = client.post("/lupa-sandi", data=form)
    _check_answer(resp)
    assert resp.status_code in (200, 422)  # a wrong code or a wrong field: the form again, with a message
    assert 'class="error"' in resp.get_data(as_text=True) or 'class="form-error"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", ["identifier", "password"])
def test_the_login_form_answers_hostile_input(kelurahan, client, field, kind):
    form = {"identifier": REGISTRATION["nik"], "password": "kata-sandi-panjang"}
    form[field] = HOSTILE[kind](form[field])
    resp = client.post("/login", data=form)
    _check_answer(resp)
    assert resp.status_code in (200, 422)


# ------------------------------------------------------------------ a letter request (a verified resident)

REQUEST_FIELDS = {name[2:]: value for name, value in GOOD.items()}


@pytest.fixture
def resident(kelurahan, factory, client, login_as):
    make_service()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    user = factory.warga(name="SITI AMINAH", female=True)
    login_as(user)
    return user


def _request_page(client, answers: dict, extra: dict | None = None):
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    key = re.search(r'name="kunci" value="([^"]+)"', html).group(1)
    form = {**{f"f_{k}": v for k, v in answers.items()}, "kunci": key, **(extra or {}),
            "berkas_kk": (io.BytesIO(jpeg_bytes()), "kk.jpg"), "berkas_ktp": (io.BytesIO(jpeg_bytes()), "ktp.jpg")}
    review = client.post(f"/warga/ajukan/domisili?kunci={key}", data=form, content_type="multipart/form-data")
    return key, review


def _submit_after_review(client, key, answers: dict, extra: dict | None = None):
    form = {**{f"f_{k}": v for k, v in answers.items()}, "kunci": key, "langkah": "kirim", **(extra or {})}
    return client.post(f"/warga/ajukan/domisili?kunci={key}", data=form)


def _assert_requests_clean() -> None:
    for req in db.session.scalars(select(LetterRequest)):
        for name, value in (req.answers or {}).items():
            if isinstance(value, str):
                _clean_text(value, multiline=name == "uraian")
                if name == "nik_saksi":
                    assert re.fullmatch(r"[0-9]{16}", value)
                if name in ("tanggal",):
                    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value)
                if name == "jam":
                    assert re.fullmatch(r"[0-9]{2}:[0-9]{2}", value)
            elif isinstance(value, int):
                assert 0 <= value < 10**9


def _request_roundtrip(client, answers: dict, extra: dict | None = None) -> None:
    key, review = _request_page(client, answers, extra)
    _check_answer(review)
    if review.status_code == 200 and 'name="langkah" value="kirim"' in review.get_data(as_text=True):
        sent = _submit_after_review(client, key, answers, extra)
        _check_answer(sent)
        assert sent.status_code in (303, 422)
        _assert_requests_clean()
    else:
        assert review.status_code == 422


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", sorted(REQUEST_FIELDS))
def test_every_request_field_answers_hostile_input_clearly(resident, client, field, kind):
    answers = dict(REQUEST_FIELDS)
    sample = answers[field] or "3576034101900001"
    answers[field] = HOSTILE[kind](sample)
    _request_roundtrip(client, answers)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", ["untuk", "kunci", "langkah", "asli_kk"])
def test_the_request_forms_own_inputs_answer_hostile_input(resident, client, field, kind):
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    key = re.search(r'name="kunci" value="([^"]+)"', html).group(1)
    form = {**{f"f_{k}": v for k, v in REQUEST_FIELDS.items()}, "kunci": key, "langkah": "periksa"}
    form[field] = HOSTILE[kind](str(form.get(field, "1")))
    resp = client.post(f"/warga/ajukan/domisili?kunci={form['kunci'][:64]}", data=form)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:2000]


# ------------------------------------------------------------------ the public complaint form (a sibling)

COMPLAINT = {"name": "Budi", "phone": "081234500077", "email": "budi@example.id", "category": "pelayanan",
             "subject": "Antrean terlalu lama", "body": "Saya menunggu dua jam di kantor kelurahan kemarin pagi."}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("field", sorted(COMPLAINT))
def test_every_public_complaint_field_answers_hostile_input(kelurahan, client, field, kind):
    page = client.get("/pengaduan").get_data(as_text=True)
    key = re.search(r'name="kunci"[^>]*value="([^"]+)"', page) or re.search(r'value="([^"]+)"[^>]*name="kunci"', page)
    category = re.search(r'<option value="([a-z_]+)"', page)
    form = {**COMPLAINT, "kunci": key.group(1), "category": category.group(1) if category else "pelayanan"}
    form[field] = HOSTILE[kind](form[field])
    resp = client.post("/pengaduan", data=form)
    _check_answer(resp)
    for complaint in db.session.scalars(select(Complaint)):
        _clean_text(complaint.name)
        _clean_text(complaint.subject)
        _clean_text(complaint.body, multiline=True)


# ------------------------------------------------------------------ a wider search with Hypothesis

ANY_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=20),
    st.text(st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Co")), min_size=1, max_size=8),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(min_value=200, max_value=10_240)),
)
_PEOPLE = itertools.count(5000)
SEARCH = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SEARCH
@given(field=st.sampled_from(sorted(f for f in REGISTRATION if f not in ("consent", "password2"))), value=ANY_TEXT)
def test_registration_survives_any_text(kelurahan, client, field, value):
    # each example is a new person (its own NIK and phone), so an account saved by one never turns the
    # next into a duplicate
    serial = next(_PEOPLE)
    changes = {"nik": make_nik(date(1991, 2, 3), False, serial), "phone": f"0812345{serial:05d}", field: value}
    if field == "password":
        changes["password2"] = value
    resp = _register(client, **changes)
    _check_answer(resp)
    if resp.status_code == 303:
        _assert_registration_clean()
        client.post("/logout")


@SEARCH
@given(field=st.sampled_from(sorted(REQUEST_FIELDS)), value=ANY_TEXT)
def test_request_fields_survive_any_text(resident, client, field, value):
    answers = dict(REQUEST_FIELDS)
    answers[field] = value
    _request_roundtrip(client, answers)


def test_the_hostile_values_are_what_they_claim():
    """The matrix above really feeds the inputs the acceptance line names (guards against a silent edit)."""
    assert unicodedata.category(HOSTILE["superscript"]("12")[-1]) == "No"
    assert unicodedata.category(HOSTILE["fullwidth"]("1")) == "Nd" and HOSTILE["fullwidth"]("1") != "1"
    assert "\x00" in HOSTILE["nul"]("abcd")
    assert len(HOSTILE["ten_kb"]("")) == 10_240
    assert "<script>" in HOSTILE["html"]("")
