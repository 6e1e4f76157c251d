"""The survey screens: the resident's card and form on a finished request, the IKM report and its exports."""

import io
import re
import subprocess
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.survey import SurveyResponse
from tests.conftest import PASSWORD
from tests.domain.test_ikm import WORKED
from tests.request_factory import make_service, submit
from tests.survey_helpers import Office, add_response

FULL = {f"u{i}": "4" for i in range(1, 10)}


@pytest.fixture
def setup(app, factory):
    from sempelmas.services.kelurahan.demo import seed_profile

    seed_profile()  # the kop surat of the PDF export
    make_service(needs_rt=False)
    office = Office(factory)
    applicant = factory.warga(name="SRI PEMOHON", kk="3576031203159999")
    return {"office": office, "applicant": applicant, "req": office.done(applicant)}


def url(req) -> str:
    return f"/warga/permohonan/{req.tracking_number}/survei"


def responses() -> int:
    return db.session.scalar(select(func.count(SurveyResponse.id)))


def test_resident_sees_the_card_answers_once_and_the_card_goes(setup, client, login_as):
    req = setup["req"]
    login_as(setup["applicant"])
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert 'id="survey-card"' in page and url(req) in page
    form = client.get(url(req)).get_data(as_text=True)
    assert form.count('type="radio"') == 36 and form.count("<fieldset") == 9
    assert "Penanganan Pengaduan, Saran dan Masukan" in form and "Sangat sopan dan ramah" in form
    resp = client.post(url(req), data={**FULL, "saran": "Petugas ramah, tetapi antrean panjang."})
    assert resp.status_code == 303 and resp.location.endswith(f"/warga/permohonan/{req.tracking_number}")
    page = client.get(resp.location).get_data(as_text=True)
    assert "Terima kasih atas penilaian Anda" in page and 'id="survey-card"' not in page
    row = db.session.scalars(select(SurveyResponse)).one()
    assert row.answers == (4,) * 9 and row.comment == "Petugas ramah, tetapi antrean panjang."

    again = client.post(url(req), data={**FULL, "u1": "1"})  # a second submit (double tap, back button)
    assert again.status_code == 303
    assert "sudah kami terima sebelumnya" in client.get(again.location).get_data(as_text=True)
    assert client.get(url(req)).status_code == 303  # the form is not offered again
    assert responses() == 1 and db.session.scalars(select(SurveyResponse)).one().u1 == 4


def test_an_answer_whose_request_fails_after_it_is_stored_leaves_nothing_and_may_be_sent_again(
        setup, client, login_as, app, monkeypatch):
    from sempelmas.services.accountability import survey

    req = setup["req"]
    login_as(setup["applicant"])
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the real 500 page and its rollback
    real_record = survey.audit.record

    def audit_fails_for_the_answer(action, *args, **kwargs):
        if action == "survey.answer":  # after the response's own insert (its savepoint released)
            raise RuntimeError("log audit tidak dapat ditulis")
        return real_record(action, *args, **kwargs)

    monkeypatch.setattr(survey.audit, "record", audit_fails_for_the_answer)
    resp = client.post(url(req), data={**FULL, "saran": "Cepat."})
    assert resp.status_code == 500 and "Tidak ada data yang tersimpan setengah jadi" in resp.get_data(as_text=True)
    monkeypatch.undo()
    db.session.expire_all()
    assert responses() == 0
    # the resident tries again: the form is offered and the answer counts, audited
    assert client.get(url(req)).status_code == 200
    assert client.post(url(req), data={**FULL, "saran": "Cepat."}).status_code == 303
    assert responses() == 1
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "survey.answer")).one()


def test_a_missing_answer_gets_a_clear_message_and_keeps_what_was_chosen(setup, client, login_as):
    req = setup["req"]
    login_as(setup["applicant"])
    data = {**FULL, "u2": "3", "saran": "Tolong percepat"}
    del data["u7"]
    resp = client.post(url(req), data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Survei belum terkirim" in html
    assert "Pilih satu jawaban untuk unsur Perilaku Pelaksana." in html
    assert re.search(r'name="u2" value="3" required checked', html)
    assert re.search(r'name="u1" value="4" required checked', html)
    assert not re.search(r'name="u7" value="\d" required checked', html)
    assert "Tolong percepat</textarea>" in html
    assert responses() == 0


def test_an_invalid_value_is_refused(setup, client, login_as):
    login_as(setup["applicant"])
    resp = client.post(url(setup["req"]), data={**FULL, "u4": "5"})
    assert resp.status_code == 422 and "Jawaban tidak valid" in resp.get_data(as_text=True)
    assert responses() == 0


def test_the_survey_waits_until_the_request_is_done(setup, client, login_as):
    pending = submit(setup["applicant"])
    db.session.commit()
    login_as(setup["applicant"])
    page = client.get(f"/warga/permohonan/{pending.tracking_number}").get_data(as_text=True)
    assert 'id="survey-card"' not in page
    resp = client.post(url(pending), data=FULL)
    assert resp.status_code == 303
    assert "setelah permohonan selesai" in client.get(resp.location).get_data(as_text=True)
    assert responses() == 0


def test_others_get_404_even_family_who_may_follow_the_request(setup, client, login_as, factory):
    req = setup["req"]
    family = factory.warga(name="SUAMI PEMOHON", kk="3576031203159999")
    login_as(family)
    assert client.get(f"/warga/permohonan/{req.tracking_number}").status_code == 200  # may follow it
    assert 'id="survey-card"' not in client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert client.get(url(req)).status_code == 404
    assert client.post(url(req), data=FULL).status_code == 404
    client.post("/logout")
    login_as(factory.warga(name="TETANGGA"))
    assert client.get(url(req)).status_code == 404
    assert client.post(url(req), data=FULL).status_code == 404
    assert client.get("/warga/permohonan/JGL-2026-999999/survei").status_code == 404
    assert responses() == 0


def test_a_pendamping_answers_for_the_resident_they_act_for(setup, client, login_as, factory):
    helper = factory.staff(Role.ASSISTANT, "pdp-survei")
    setup["applicant"].assisted_by_id = helper.id
    db.session.commit()
    login_as(helper)
    assert client.get(url(setup["req"])).status_code == 404  # not acting for anyone yet
    client.post(f"/warga/pendamping/{setup['applicant'].id}/bertindak")
    assert client.post(url(setup["req"]), data=FULL).status_code == 303
    assert responses() == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.answer"))
    assert entry.actor_id == helper.id and entry.on_behalf_of_id == setup["applicant"].id


@pytest.fixture
def answered(setup, factory):
    office, applicant = setup["office"], setup["applicant"]
    reqs = [setup["req"]] + [office.done(applicant) for _ in range(3)]
    comments = [None, "Antrean di loket terlalu lama", None, "Aplikasinya mudah dipakai"]
    for req, answers, comment, day in zip(reqs, WORKED, comments, (2, 9, 16, 23), strict=True):
        add_response(req, answers, comment=comment, at=datetime(2026, 3, day, 3))
    return reqs


@pytest.mark.parametrize("role", [Role.STAFF, Role.SIGNER, Role.ADMIN])
def test_report_shows_the_period_result_lowest_element_and_anonymous_comments(answered, client, login_as, factory,
                                                                              role):
    login_as(factory.user_for_role(role), PASSWORD)
    html = client.get("/petugas/ikm?dari=2026-03-01&sampai=2026-03-31").get_data(as_text=True)
    assert re.search(r'id="ikm-respondents"><strong>4<', html)
    assert 'id="ikm-converted"><strong>82,64<' in html and 'id="ikm-value">3,3056<' in html
    assert "B · Baik" in html
    assert re.search(r'<tr class="ikm-lowest" id="ikm-u8">', html) and html.count('class="ikm-lowest"') == 1
    assert "Antrean di loket terlalu lama" in html and "Aplikasinya mudah dipakai" in html
    assert "SRI PEMOHON" not in html and "Sri Pemohon" not in html
    assert all(r.tracking_number not in html for r in answered)


def test_report_of_an_empty_period_and_a_wrong_period(answered, client, login_as, factory):
    login_as(factory.staff(Role.STAFF))
    assert "Belum ada responden pada periode ini." in client.get(
        "/petugas/ikm?dari=2025-01-01&sampai=2025-12-31").get_data(as_text=True)
    bad = client.get("/petugas/ikm?dari=2026-03-31&sampai=2026-03-01")
    assert bad.status_code == 422
    assert "Tanggal akhir periode tidak boleh sebelum tanggal awal." in bad.get_data(as_text=True)
    assert client.get("/petugas/ikm?dari=kemarin&sampai=2026-03-01").status_code == 422


def test_report_htmx_answers_with_the_results_only(answered, client, login_as, factory):
    login_as(factory.staff(Role.STAFF))
    resp = client.get("/petugas/ikm?dari=2026-03-01&sampai=2026-03-31", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert "<html" not in html and 'id="ikm-converted"' in html and "HX-Request" in resp.headers["Vary"]


def test_xlsx_export_holds_the_numbers_comments_and_raw_answers_and_is_audited(answered, client, login_as, factory):
    staff = factory.staff(Role.STAFF)
    login_as(staff)
    resp = client.get("/petugas/ikm/unduh.xlsx?dari=2026-03-01&sampai=2026-03-31")
    assert resp.status_code == 200 and "ikm-2026-03-01-2026-03-31.xlsx" in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["IKM", "Saran", "Data"]
    rows = [r for r in wb["IKM"].iter_rows(values_only=True) if r and r[0] is not None or (r and r[2])]
    by_code = {r[1]: r for r in rows if isinstance(r[0], int)}
    assert by_code["U1"][3:8] == (14, 3.5, 0.3889, 87.5, "B")
    assert by_code["U8"][4] == 2.25 and by_code["U8"][8] == "ya"
    summary = {r[2]: r for r in rows if r[0] in ("", None) and r[2]}
    assert summary["IKM (Σ NRR × 1/9)"][5] == 3.3056
    assert summary["Nilai IKM konversi (IKM × 25)"][6] == 82.64
    assert summary["Mutu pelayanan"][7:9] == ("B", "Baik")
    assert any(r[0] == "Jumlah responden" and r[1] == 4 for r in rows)
    comments = [r[1] for r in wb["Saran"].iter_rows(min_row=2, values_only=True)]
    assert comments == ["Antrean di loket terlalu lama", "Aplikasinya mudah dipakai"]
    data = list(wb["Data"].iter_rows(min_row=2, values_only=True))
    assert [tuple(r[1:]) for r in data] == WORKED and data[0][0] == datetime(2026, 3, 2)  # the day only
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report.export"))
    assert entry.actor_id == staff.id and entry.details["kind"] == "ikm" and entry.details["format"] == "xlsx"
    assert entry.details["respondents"] == 4


def test_pdf_export_has_the_kop_surat_and_the_result_and_is_audited(answered, client, login_as, factory, tmp_path):
    login_as(factory.staff(Role.SIGNER))
    resp = client.get("/petugas/ikm/unduh.pdf?dari=2026-03-01&sampai=2026-03-31")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    path = tmp_path / "ikm.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    text = " ".join(text.split())
    assert "PEMERINTAH KOTA MOJOKERTO" in text and "KELURAHAN JAGALAN" in text
    assert "INDEKS KEPUASAN MASYARAKAT" in text and "1 Maret 2026 – 31 Maret 2026" in text
    assert "82,64" in text and "B (Baik)" in text and "3,3056" in text
    assert "Penanganan Pengaduan, Saran dan Masukan (terendah)" in text
    assert "Antrean di loket terlalu lama" in text and "SRI PEMOHON" not in text
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "report.export"))
    assert entry.details == {"kind": "ikm", "format": "pdf", "start": "2026-03-01", "end": "2026-03-31",
                             "respondents": 4}


def test_exports_of_a_wrong_period_send_back_to_the_report(answered, client, login_as, factory):
    login_as(factory.staff(Role.ADMIN))
    resp = client.get("/petugas/ikm/unduh.pdf?dari=2026-03-31&sampai=2026-03-01")
    assert resp.status_code == 303 and resp.location.endswith("/petugas/ikm")
    assert client.get("/petugas/ikm/unduh.csv").status_code == 404
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "report.export")) == 0


def test_public_partial_shows_the_latest_result_or_no_data(setup, app):
    from flask import render_template

    with app.test_request_context("/"):
        assert "belum ada data" in render_template("survey/_public_latest.html")
        add_response(setup["req"], (4, 4, 4, 4, 4, 4, 4, 3, 3))  # this year, now: 34/9 × 25
        html = render_template("survey/_public_latest.html")
    assert "1 responden" in html and "94,44" in html and "A · Sangat Baik" in html


def test_page_and_pdf_list_the_newest_comments_and_point_to_the_xlsx_for_all(answered, client, login_as, factory,
                                                                             monkeypatch, tmp_path):
    from sempelmas.services.accountability import survey

    monkeypatch.setattr(survey, "COMMENTS_SHOWN", 1)
    login_as(factory.staff(Role.STAFF))
    html = client.get("/petugas/ikm?dari=2026-03-01&sampai=2026-03-31").get_data(as_text=True)
    assert "Aplikasinya mudah dipakai" in html and "Antrean di loket terlalu lama" not in html
    assert "Menampilkan 1 saran terbaru; semuanya ada di berkas XLSX." in html
    path = tmp_path / "ikm.pdf"
    path.write_bytes(client.get("/petugas/ikm/unduh.pdf?dari=2026-03-01&sampai=2026-03-31").data)
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True,
                                   text=True).stdout.split())
    assert "Aplikasinya mudah dipakai" in text and "Antrean di loket terlalu lama" not in text
    wb = load_workbook(io.BytesIO(client.get("/petugas/ikm/unduh.xlsx?dari=2026-03-01&sampai=2026-03-31").data))
    assert wb["Saran"].max_row == 3  # the header and both comments
