"""Issuing a letter: number + render + QR + signature + storage + request → selesai, in one transaction."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.letters import Letter, LetterCounter, LetterStatus, SigningFailure
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.accountability import audit
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import issuing
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.requests import lifecycle
from tests.conftest import Factory
from tests.signing_setup import BASE_URL, LURAH_PASS, SEKRETARIS_PASS, Desk, configure, page_text, qr_payloads

PROCESSES = 5
PER_PROCESS = 10


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    return Desk(factory)


def _files() -> list[Path]:
    folder = letter_store.letter_dir()
    return sorted(folder.glob("*")) if folder.exists() else []


def _letters() -> int:
    return db.session.scalar(select(func.count(Letter.id)))


def _counter() -> int:
    return db.session.scalar(select(LetterCounter.last).where(LetterCounter.scope == "semua")) or 0


def test_a_signed_letter_closes_the_request_with_a_stored_valid_pdf(desk):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)

    db.session.expire_all()
    request = db.session.get(LetterRequest, request.id)
    assert request.status == RequestStatus.DONE
    assert request.events[-1].action == "sign"
    assert letter.number == f"470/001/417.604.3/{letter.year}"
    assert (letter.sequence, letter.status, letter.capacity) == (1, LetterStatus.VALID, "")
    assert letter.official_id == desk.lurah_official.id and letter.certificate_id is not None
    # what the letter prints, kept for its verification page
    assert (letter.signer_name, letter.signer_position) == (desk.lurah_official.name,
                                                            desk.lurah_official.position_title)
    assert (letter.subject_name, letter.subject_nik) == (request.subject.full_name, request.subject.nik)
    data = letter_store.path_of(letter).read_bytes()
    assert len(data) == letter.pdf_size
    import hashlib

    assert hashlib.sha256(data).hexdigest() == letter.pdf_sha256
    result = letter_signing.validate_pdf(data)
    assert result.intact and result.valid and result.trusted, result.message
    assert len(letter.verify_code) >= 16 and letter.verify_code not in letter.number
    assert qr_payloads(data) == [f"{BASE_URL}/v/{letter.verify_code}"]
    if shutil.which("pdfsig"):
        out = subprocess.run(["pdfsig", str(letter_store.path_of(letter))], capture_output=True, text=True,
                             timeout=60).stdout
        assert "Signature is Valid." in out
    # the resident hears of it through the lifecycle hook
    from sempelmas.models.notifications import Notification

    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == desk.warga.id, Notification.kind == "request.sign")) == 1


def test_the_qr_code_and_the_footer_of_a_signed_letter_carry_public_url(make_app, tmp_path):
    """Issue 12: the one setting PUBLIC_URL (as the app was started with it, trailing slash and all) is the
    address in the QR code and in the footer's sentence, not the old default http://127.0.0.1:5000."""
    app = make_app(PUBLIC_URL="https://layanan.example.test/")
    with app.app_context():
        configure(app, tmp_path, public_url=None)
        desk = Desk(Factory())
        (request,) = desk.awaiting(1)
        letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
        pdf = letter_store.path_of(letter).read_bytes()
        address = f"https://layanan.example.test/v/{letter.verify_code}"
        assert qr_payloads(pdf) == [address]
        text = page_text(pdf)
        assert f"dapat diperiksa dengan memindai kode QR atau membuka {address}" in text
        assert "127.0.0.1" not in text
        assert letter_signing.validate_pdf(pdf).valid


def test_the_sekretaris_signs_on_behalf_of_the_lurah(desk):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.sekretaris, SEKRETARIS_PASS)
    assert letter.capacity == "a.n." and letter.official_id == desk.sekretaris_official.id


def test_a_stand_in_official_signs_as_plt():
    from sempelmas.models.profile import Official

    assert issuing.capacity_of(Official(position="lurah", position_title="Lurah Jagalan")) == ""
    assert issuing.capacity_of(Official(position="sekretaris", position_title="Plt. Lurah Jagalan")) == "Plt."
    assert issuing.capacity_of(Official(position="kasi", position_title="Plh. Lurah Jagalan")) == "Plh."
    assert issuing.capacity_of(Official(position="sekretaris", position_title="Sekretaris Kelurahan")) == "a.n."


def test_signing_twice_is_refused(desk):
    (request,) = desk.awaiting(1)
    issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    with pytest.raises(issuing.IssueError):
        issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert _letters() == 1 and _counter() == 1 and len(_files()) == 1


def test_a_request_not_awaiting_signature_is_refused(desk):
    (request,) = desk.awaiting(1)
    lifecycle.transition(request, "send_back", actor=desk.lurah, note="Alamat salah ketik.")
    db.session.commit()
    with pytest.raises(issuing.IssueError, match="tidak menunggu tanda tangan"):
        issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert _letters() == 0 and _counter() == 0 and _files() == []


def test_a_wrong_passphrase_changes_nothing_but_is_counted(desk):
    (request,) = desk.awaiting(1)
    with pytest.raises(letter_ca.WrongPassphrase):
        issuing.issue_letter(request, desk.lurah, "bukan-passphrase-nya")
    db.session.expire_all()
    assert db.session.get(LetterRequest, request.id).status == RequestStatus.AWAITING_SIGNATURE
    assert _letters() == 0 and _counter() == 0 and _files() == []
    assert db.session.scalar(select(func.count(SigningFailure.id))
                             .where(SigningFailure.user_id == desk.lurah.id)) == 1


def test_too_many_wrong_passphrases_pause_signing(desk, app):
    (request,) = desk.awaiting(1)
    for _ in range(app.config["PKI_MAX_FAILURES"]):
        with pytest.raises(letter_ca.WrongPassphrase):
            issuing.issue_letter(request, desk.lurah, "salah-salah-salah")
    with pytest.raises(letter_ca.TooManyAttempts):
        issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    assert _letters() == 0


@pytest.mark.parametrize("broken", ["signer", "store", "lifecycle"])
def test_a_crash_while_signing_leaves_no_letter_no_file_and_no_used_number(desk, monkeypatch, broken):
    first, second = desk.awaiting(2)
    if broken == "signer":
        monkeypatch.setattr(letter_signing.KelurahanCASigner, "sign", lambda self, pdf, **kw: (_ for _ in ()).throw(
            RuntimeError("HSM mati")))
    elif broken == "store":
        def disk_full(name, data):
            raise OSError("disk penuh")

        monkeypatch.setattr(letter_store, "stage_pdf", disk_full)
    else:
        def fail(*a, **kw):
            raise RuntimeError("database putus")

        monkeypatch.setattr(audit, "record", fail)  # the move's audit entry (a request_moved receiver)
    with pytest.raises((RuntimeError, OSError)):
        issuing.issue_letter(first, desk.lurah, LURAH_PASS)
    monkeypatch.undo()
    db.session.expire_all()
    assert db.session.get(LetterRequest, first.id).status == RequestStatus.AWAITING_SIGNATURE
    assert _letters() == 0 and _counter() == 0
    assert _files() == []
    # the next successful letter gets the number the failed one would have had
    letter = issuing.issue_letter(second, desk.lurah, LURAH_PASS)
    assert letter.sequence == 1
    assert [p.name for p in _files()] == [letter.stored_name]


def test_the_stored_file_is_deleted_when_the_commit_fails(desk, monkeypatch):
    (request,) = desk.awaiting(1)
    real_commit = db.session.commit
    calls = {"n": 0}

    def commit_fails_in_the_transaction():
        calls["n"] += 1
        if calls["n"] == 2:  # the first commit ends the caller's reads; the second is the letter's
            raise RuntimeError("commit gagal")
        return real_commit()

    monkeypatch.setattr(db.session, "commit", commit_fails_in_the_transaction)
    with pytest.raises(RuntimeError):
        issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    monkeypatch.undo()
    assert _files() == []
    assert _letters() == 0 and _counter() == 0


def test_a_batch_signs_each_letter_and_reports_each_result(desk):
    a, b, c = desk.awaiting(3)
    lifecycle.transition(b, "send_back", actor=desk.lurah, note="Perlu dicek ulang.")
    db.session.commit()
    results = issuing.sign_batch([a.tracking_number, b.tracking_number, c.tracking_number, "JGL-0000-999999"],
                                 desk.lurah, LURAH_PASS)
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[0].number.startswith("470/001/") and results[2].number.startswith("470/002/")
    assert "tidak menunggu tanda tangan" in results[1].message
    assert "tidak ditemukan" in results[3].message
    assert _letters() == 2


def test_a_batch_with_a_wrong_passphrase_signs_nothing(desk):
    requests = desk.awaiting(2)
    with pytest.raises(letter_ca.WrongPassphrase):
        issuing.sign_batch([r.tracking_number for r in requests], desk.lurah, "passphrase-keliru")
    assert _letters() == 0
    assert db.session.scalar(select(func.count(SigningFailure.id))) == 1


def test_a_batch_is_at_most_a_hundred_letters(desk):
    with pytest.raises(issuing.IssueError, match="100"):
        issuing.sign_batch([f"X-{i}" for i in range(101)], desk.lurah, LURAH_PASS)


def test_a_replacement_gets_a_new_number_and_names_the_old_letter(desk):
    (request,) = desk.awaiting(1)
    old = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    with pytest.raises(issuing.IssueError, match="alasan"):
        issuing.issue_replacement(old, desk.lurah, LURAH_PASS, " ")
    new = issuing.issue_replacement(old, desk.lurah, LURAH_PASS, "Salah tulis tanggal lahir")
    db.session.expire_all()
    old = db.session.get(Letter, old.id)
    assert old.status == LetterStatus.REPLACED
    assert new.replaces_id == old.id and new.sequence == 2 and new.number != old.number
    assert new.request_id == old.request_id and new.status == LetterStatus.VALID
    assert letter_signing.validate_pdf(letter_store.path_of(new).read_bytes()).trusted
    with pytest.raises(issuing.IssueError):
        issuing.issue_replacement(old, desk.lurah, LURAH_PASS, "lagi")


# ------------------------------------------------------------------ 50 letters from several processes

def _sign_in_a_process(url: str, instance: str, pki_dir: str, letter_dir: str, ids: list[int], barrier,
                       results) -> None:
    from sempelmas import create_app
    from sempelmas.models.accounts import User
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance), PKI_DIR=pki_dir, LETTER_DIR=letter_dir,
                                 PKI_CA_PASSPHRASE="ca-passphrase-uji-0123456789", PKI_KEY_SCRYPT_LOG_N=10,
                                 PUBLIC_URL=BASE_URL))
    numbers = []
    with app.app_context():
        lurah = db.session.scalar(select(User).where(User.username == "lurah"))
        signer = issuing.prepare_signer(lurah, LURAH_PASS)
        # warm up like a running worker: fonts and templates loaded before the race starts
        from sempelmas.services.letters import render as letter_render

        letter_render.render_pdf(db.session.get(LetterRequest, ids[0]), number=None, signed_at=None, official=None,
                                 verify_url=None)
        db.session.rollback()
        barrier.wait()
        for request_id in ids:
            request = db.session.get(LetterRequest, request_id)
            lurah = db.session.get(User, lurah.id)
            letter = issuing.issue_letter(request, lurah, LURAH_PASS, signer=signer)
            numbers.append(letter.sequence)
        db.session.remove()
        db.engine.dispose()
    results.put(numbers)


def test_fifty_letters_signed_from_several_processes_get_exactly_1_to_50(desk, app, db_url, tmp_path):
    requests = desk.awaiting(PROCESSES * PER_PROCESS)
    ids = [r.id for r in requests]
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    db.session.remove()
    db.engine.dispose()
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_sign_in_a_process,
                         args=(db_url, str(tmp_path / f"inst{i}"), app.config["PKI_DIR"], app.config["LETTER_DIR"],
                               ids[i::PROCESSES], barrier, results))
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    taken = []
    for _ in procs:
        taken.extend(results.get(timeout=300))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(taken) == list(range(1, PROCESSES * PER_PROCESS + 1))
    db.session.expire_all()
    letters = db.session.scalars(select(Letter)).all()
    assert sorted(x.sequence for x in letters) == list(range(1, 51))
    assert len({x.number for x in letters}) == 50 and len({x.verify_code for x in letters}) == 50
    assert len(_files()) == 50
    assert db.session.scalar(select(func.count(LetterRequest.id))
                             .where(LetterRequest.status == RequestStatus.DONE)) == 50
