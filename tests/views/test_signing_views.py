"""The signing desk: queue, checking a letter, signing one or a batch, sending back, refusals."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.jobs import JobStatus
from sempelmas.models.letters import Letter, SigningFailure
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from tests.conftest import PASSWORD, csrf_from
from tests.job_helpers import wait_for_job
from tests.signing_setup import LURAH_PASS, Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    return Desk(factory)


def _files_kept(app, tmp_path) -> list[Path]:
    """Every file the test's app wrote: its folders (letters, uploads, CA) and, on SQLite, the database files."""
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite:///"):
        db_file = Path(url.removeprefix("sqlite:///"))
        files += [p for p in (db_file, Path(f"{db_file}-wal")) if p.exists()]
    assert len(files) > 3  # the letters, the CA and the database at least
    return files


def _status(request) -> str:
    db.session.expire_all()
    return db.session.get(LetterRequest, request.id).status


def test_the_queue_lists_letters_awaiting_signature_with_checkboxes(client, desk, login_as):
    a, b = desk.awaiting(2)
    login_as(desk.lurah)
    html = client.get("/penandatangan/").get_data(as_text=True)
    for r in (a, b):
        assert f'name="selected" value="{r.tracking_number}"' in html
        assert f"/penandatangan/permohonan/{r.tracking_number}" in html
    assert "Tanda tangani yang dipilih" in html and 'type="password"' in html
    assert "Lurah Jagalan" in html


def test_the_queue_is_paginated_and_a_refused_batch_returns_to_its_page(client, desk, login_as, monkeypatch):
    from sempelmas.services.letters import issuing

    monkeypatch.setattr(issuing, "SIGNING_PAGE_SIZE", 2)
    a, b, c = desk.awaiting(3)  # the longest-waiting first
    login_as(desk.lurah)
    first = client.get("/penandatangan/").get_data(as_text=True)
    assert "3 surat menunggu tanda tangan" in first and "Halaman 1 dari 2" in first
    assert 'href="/penandatangan/?page=2"' in first and 'action="/penandatangan/tanda-tangan"' in first
    assert [r.tracking_number in first for r in (a, b, c)] == [True, True, False]
    second = client.get("/penandatangan/?page=2").get_data(as_text=True)
    assert [r.tracking_number in second for r in (a, b, c)] == [False, False, True]
    assert "Halaman 2 dari 2" in second and 'href="/penandatangan/?page=1"' in second
    assert 'action="/penandatangan/tanda-tangan?page=2"' in second
    assert c.tracking_number in client.get("/penandatangan/?page=9").get_data(as_text=True)  # past the end: the last
    resp = client.post("/penandatangan/tanda-tangan?page=2", data={
        "selected": [c.tracking_number], "passphrase": "bukan-passphrase-ini", "csrf_token": csrf_from(second)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Halaman 2 dari 2" in html
    assert f'value="{c.tracking_number}" checked' in html


def test_a_signer_without_a_certificate_is_sent_to_the_key_page(client, desk, factory, login_as):
    desk.awaiting(1)
    newcomer = factory.staff(Role.SIGNER, "kasi")
    login_as(newcomer)
    html = client.get("/penandatangan/").get_data(as_text=True)
    assert "belum memiliki sertifikat" in html and 'href="/penandatangan/kunci"' in html
    assert 'type="password"' not in html


def test_the_letter_page_shows_the_preview_and_both_actions(client, desk, login_as):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    html = client.get(f"/penandatangan/permohonan/{r.tracking_number}").get_data(as_text=True)
    assert f"/penandatangan/permohonan/{r.tracking_number}/pratinjau.pdf" in html
    assert "Tanda tangani" in html and "Kembalikan ke petugas" in html
    resp = client.get(f"/penandatangan/permohonan/{r.tracking_number}/pratinjau.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF") and resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert _status(r) == RequestStatus.AWAITING_SIGNATURE  # looking changes nothing
    assert db.session.scalar(select(func.count(Letter.id))) == 0


def test_signing_one_letter_closes_it_and_shows_the_number(client, desk, login_as, caplog):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    caplog.set_level(logging.DEBUG)
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                       data={"version": r.version, "passphrase": LURAH_PASS}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    letter = db.session.scalar(select(Letter))
    assert resp.status_code == 200 and letter is not None
    assert f"ditandatangani dengan nomor {letter.number}" in html
    assert _status(r) == RequestStatus.DONE
    assert letter_signing.validate_pdf(letter_store.path_of(letter).read_bytes()).trusted
    # the passphrase is nowhere: not in the log, not in the session
    assert LURAH_PASS not in caplog.text
    with client.session_transaction() as session:
        assert LURAH_PASS not in repr(dict(session))
    # the letter page now shows the issued letter
    html = client.get(f"/penandatangan/permohonan/{r.tracking_number}").get_data(as_text=True)
    assert letter.number in html and f"/v/{letter.verify_code}" in html


def test_a_wrong_passphrase_is_a_clear_message_and_changes_nothing(client, desk, login_as):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                       data={"version": r.version, "passphrase": "tebakan-yang-salah"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Passphrase tanda tangan salah" in html
    assert "tebakan-yang-salah" not in html
    assert _status(r) == RequestStatus.AWAITING_SIGNATURE
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    assert db.session.scalar(select(func.count(SigningFailure.id))) == 1


def test_signing_a_letter_already_signed_is_refused(client, desk, login_as):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    version = r.version
    client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                data={"version": version, "passphrase": LURAH_PASS})
    db.session.expire_all()
    r = db.session.get(LetterRequest, r.id)
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                       data={"version": r.version, "passphrase": LURAH_PASS})
    assert resp.status_code == 409 and "tidak menunggu tanda tangan" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Letter.id))) == 1


def test_a_batch_signs_the_selected_letters_and_lists_each_result(client, desk, login_as, app, tmp_path):
    a, b, c = desk.awaiting(3)
    login_as(desk.lurah)
    client.post(f"/penandatangan/permohonan/{b.tracking_number}/kembalikan",
                data={"version": b.version, "reason": "Tanggal lahir perlu dicek."})
    resp = client.post("/penandatangan/tanda-tangan", data={
        "selected": [a.tracking_number, b.tracking_number, c.tracking_number], "passphrase": LURAH_PASS})
    # the request only starts the batch: the official is sent to the batch's page, which they watch
    assert resp.status_code == 303
    job_url = resp.headers["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    job = wait_for_job(job_id)
    assert job.status == JobStatus.DONE
    assert job.result["pid"] != os.getpid(), f"signed in a thread: other threads {threading.enumerate()}"
    html = client.get(job_url).get_data(as_text=True)
    assert "2 dari 3 surat ditandatangani" in html, html[html.find("<main"):]
    assert "hx-get=\"/penandatangan/tanda-tangan" not in html  # finished: no more polling
    numbers = sorted(db.session.scalars(select(Letter.number)).all())
    assert len(numbers) == 2 and all(n in html for n in numbers)
    assert "tidak menunggu tanda tangan" in html
    assert (_status(a), _status(b), _status(c)) == (RequestStatus.DONE, RequestStatus.IN_REVIEW,
                                                    RequestStatus.DONE)
    # the passphrase is nowhere the system keeps anything: not in the job, not in the audit log, no file
    assert LURAH_PASS not in repr((job.payload, job.result, job.error))
    assert not [e for e in db.session.scalars(select(AuditEntry)) if LURAH_PASS in repr(e.details)]
    assert not [f for f in _files_kept(app, tmp_path) if LURAH_PASS.encode() in f.read_bytes()]
    assert [e.details for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("letter.batch%"))
                                                 .order_by(AuditEntry.id))] == [
        {"selected": 3}, {"selected": 3, "signed": 2}]


def test_a_batch_with_a_wrong_passphrase_signs_nothing(client, desk, login_as):
    requests = desk.awaiting(2)
    login_as(desk.lurah)
    resp = client.post("/penandatangan/tanda-tangan", data={
        "selected": [r.tracking_number for r in requests], "passphrase": "bukan-ini-passphrase"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Passphrase tanda tangan salah" in html
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    # the selection is kept so the signer can type the passphrase again
    assert html.count("checked") == 2


def test_a_batch_needs_a_selection_and_a_passphrase(client, desk, login_as):
    desk.awaiting(1)
    login_as(desk.lurah)
    resp = client.post("/penandatangan/tanda-tangan", data={"passphrase": LURAH_PASS})
    assert resp.status_code == 422 and "Pilih minimal satu surat" in resp.get_data(as_text=True)
    resp = client.post("/penandatangan/tanda-tangan", data={"selected": ["X"], "passphrase": ""})
    assert resp.status_code == 422 and "Wajib diisi" in resp.get_data(as_text=True)


def test_throttled_after_too_many_wrong_passphrases(client, desk, login_as, app):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    for _ in range(app.config["PKI_MAX_FAILURES"]):
        client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                    data={"version": r.version, "passphrase": "salah-terus-salah"})
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                       data={"version": r.version, "passphrase": LURAH_PASS})
    assert resp.status_code == 429 and "Terlalu banyak passphrase salah" in resp.get_data(as_text=True)
    assert _status(r) == RequestStatus.AWAITING_SIGNATURE


def test_sending_back_needs_a_reason_and_returns_the_request_to_staff(client, desk, login_as):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/kembalikan",
                       data={"version": r.version, "reason": " "})
    assert resp.status_code == 422 and _status(r) == RequestStatus.AWAITING_SIGNATURE
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/kembalikan",
                       data={"version": r.version, "reason": "Nama ayah salah ketik."}, follow_redirects=True)
    assert "dikembalikan ke petugas" in resp.get_data(as_text=True)
    assert _status(r) == RequestStatus.IN_REVIEW
    # no longer the signer's business
    assert client.get(f"/penandatangan/permohonan/{r.tracking_number}").status_code == 404


def test_unknown_or_not_yet_forwarded_requests_are_404(client, desk, login_as):
    from tests.request_factory import submit

    early = submit(desk.warga)
    db.session.commit()
    login_as(desk.lurah)
    assert client.get("/penandatangan/permohonan/JGL-2026-999999").status_code == 404
    assert client.get(f"/penandatangan/permohonan/{early.tracking_number}").status_code == 404
    assert client.get(f"/penandatangan/permohonan/{early.tracking_number}/pratinjau.pdf").status_code == 404


def test_signing_needs_the_csrf_token(make_app, factory, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        configure(app, tmp_path)
        desk = Desk(factory)
        (r,) = desk.awaiting(1)
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"identifier": "lurah", "password": PASSWORD, "csrf_token": token})
        resp = client.post("/penandatangan/tanda-tangan", data={"selected": [r.tracking_number],
                                                               "passphrase": LURAH_PASS})
        assert resp.status_code == 400
        token = csrf_from(client.get("/penandatangan/").get_data(as_text=True))
        resp = client.post("/penandatangan/tanda-tangan", data={"selected": [r.tracking_number],
                                                               "passphrase": LURAH_PASS, "csrf_token": token})
        assert resp.status_code == 303
        wait_for_job(int(resp.headers["Location"].rsplit("/", 1)[1]))
        assert _status(r) == RequestStatus.DONE


def test_a_replacement_letter_from_the_signed_letters_page(client, desk, login_as):
    (r,) = desk.awaiting(1)
    login_as(desk.lurah)
    client.post(f"/penandatangan/permohonan/{r.tracking_number}/tanda-tangan",
                data={"version": r.version, "passphrase": LURAH_PASS})
    old = db.session.scalar(select(Letter))
    page = client.get(f"/penandatangan/permohonan/{r.tracking_number}").get_data(as_text=True)
    assert "Terbitkan surat pengganti" in page and f"/petugas/surat/{old.id}" in page
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/ganti",
                       data={"reason": "", "passphrase": LURAH_PASS})
    assert resp.status_code == 422
    resp = client.post(f"/penandatangan/permohonan/{r.tracking_number}/ganti",
                       data={"reason": "Salah tulis alamat", "passphrase": LURAH_PASS}, follow_redirects=True)
    assert "Surat pengganti" in resp.get_data(as_text=True)
    db.session.expire_all()
    letters = db.session.scalars(select(Letter).order_by(Letter.id)).all()
    assert [x.status for x in letters] == ["diganti", "sah"] and letters[1].replaces_id == old.id
    # the public page of the old letter points to the new one
    public = client.get(f"/v/{old.verify_code}").get_data(as_text=True)
    assert letters[1].verify_code in public


def test_the_signed_letter_reaches_the_resident_and_the_register(client, desk, login_as):
    from sempelmas.services.letters import issuing

    (r,) = desk.awaiting(1)
    letter = issuing.issue_letter(r, desk.lurah, LURAH_PASS)
    stored = letter_store.path_of(letter).read_bytes()
    login_as(desk.warga)
    page = client.get(f"/warga/permohonan/{r.tracking_number}").get_data(as_text=True)
    assert f"/warga/permohonan/{r.tracking_number}/surat" in page
    resp = client.get(f"/warga/permohonan/{r.tracking_number}/surat")
    assert resp.status_code == 200 and resp.data == stored
    client.post("/logout")
    login_as(desk.staff)
    register = client.get("/petugas/surat").get_data(as_text=True)
    assert letter.number in register
    assert client.get(f"/petugas/surat/{letter.id}/unduh").data == stored
