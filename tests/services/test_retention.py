"""Retention of request documents: finished requests lose their uploaded files after the configured period; the
request, its history and the letter stay, and the pages say the file was removed under the retention policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestEvent, RequestStatus
from sempelmas.services.operations import retention
from sempelmas.services.requests import attachments
from tests.conftest import PASSWORD, jpeg_bytes
from tests.failing_commit import fail_commit_number
from tests.request_factory import make_profile, make_service, submit

PURGED_TEXT = "sesuai kebijakan retensi data"


def _request(warga, status: str, closed_days_ago: int | None, files: int = 1) -> LetterRequest:
    req = submit(warga)
    for i in range(files):
        attachments.store(jpeg_bytes(color=(10 * i, 90, 90)), requirement_code="kk", owner=warga, request=req)
    req.status = status
    req.closed_at = utcnow() - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    db.session.commit()
    return req


@pytest.fixture
def world(app, factory):
    app.config["ATTACHMENT_RETENTION_DAYS"] = 365
    make_profile()
    make_service(needs_rt=False)
    warga = factory.warga()
    return {
        "warga": warga,
        "old_done": _request(warga, RequestStatus.DONE, 400, files=2),
        "old_rejected": _request(warga, RequestStatus.REJECTED, 366),
        "old_cancelled": _request(warga, RequestStatus.CANCELLED, 500),
        "recent_done": _request(warga, RequestStatus.DONE, 364),
        # still open after a long time: never touched, whatever its age
        "old_open": _request(warga, RequestStatus.IN_REVIEW, None),
    }


def _files_of(req) -> list[RequestAttachment]:
    return db.session.scalars(select(RequestAttachment).where(RequestAttachment.request_id == req.id)).all()


def _exists(a) -> bool:
    return attachments.path_of(a) is not None


def test_a_dry_run_counts_and_changes_nothing(app, world):
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "4 berkas" in result.output and "dari 3 permohonan akan dihapus" in result.output
    assert "Uji coba saja" in result.output
    every = db.session.scalars(select(RequestAttachment)).all()
    assert len(every) == 6 and all(_exists(a) and a.purged_at is None for a in every)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "retention.run")) == 0


def test_files_of_requests_finished_long_ago_are_deleted_and_the_rows_marked(app, world):
    events_before = db.session.scalar(select(func.count(RequestEvent.id)))
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "4 berkas" in result.output and "dari 3 permohonan dihapus" in result.output

    db.session.expire_all()
    for key in ("old_done", "old_rejected", "old_cancelled"):
        for a in _files_of(world[key]):
            assert a.purged_at is not None and not _exists(a), key
    for key in ("recent_done", "old_open"):
        for a in _files_of(world[key]):
            assert a.purged_at is None and _exists(a), key
    # the requests and their history stay
    assert db.session.scalar(select(func.count(LetterRequest.id))) == 5
    assert db.session.scalar(select(func.count(RequestEvent.id))) == events_before
    assert db.session.scalar(select(func.count(RequestAttachment.id))) == 6
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.run"))
    assert entry.actor_id is None
    assert (entry.details["files"], entry.details["requests"], entry.details["days"]) == (4, 3, 365)
    assert entry.details["bytes"] > 0

    again = retention.run()
    assert (again.files, len(again.requests)) == (0, 0)


def _runs() -> list[dict]:
    return [e.details for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run")
                                                  .order_by(AuditEntry.id))]


def test_a_run_that_fails_midway_has_an_audit_entry_for_every_batch_it_marked(app, world, monkeypatch):
    """Retention commits batch by batch: stopped after the first (here its second commit fails; a kill is the
    same), the audit trail says what was deleted, and no file of a row left unmarked is gone."""
    monkeypatch.setattr(retention, "BATCH", 2)
    fail_commit_number(monkeypatch, 2)
    with pytest.raises(OperationalError):
        retention.run()
    monkeypatch.undo()
    db.session.rollback()

    every = db.session.scalars(select(RequestAttachment).order_by(RequestAttachment.id)).all()
    marked = [a for a in every if a.purged_at is not None]
    assert len(marked) == 2 and not any(_exists(a) for a in marked)
    assert all(_exists(a) for a in every if a.purged_at is None)
    [entry] = _runs()
    assert (entry["files"], entry["batch"], entry["requests"]) == (2, 1, len({a.request_id for a in marked}))

    # the next run does the rest, audited in its turn: together the entries count every file once
    assert retention.run().files == 2
    assert sum(e["files"] for e in _runs()) == 4 and [e["batch"] for e in _runs()] == [1, 1]


def test_a_run_with_nothing_due_is_recorded_once(app, world):
    retention.run()
    before = len(_runs())
    assert retention.run().files == 0
    [entry] = _runs()[before:]
    assert (entry["files"], entry["requests"], entry["batch"]) == (0, 0, 0)


def test_the_period_is_configurable_and_zero_turns_it_off(app, world):
    app.config["ATTACHMENT_RETENTION_DAYS"] = 0
    assert retention.run().files == 0
    assert "tidak aktif" in app.test_cli_runner().invoke(args=["retention", "run"]).output
    app.config["ATTACHMENT_RETENTION_DAYS"] = 30
    result = retention.run()
    assert (result.files, len(result.requests)) == (5, 4)  # the request closed 364 days ago too


def test_a_file_already_gone_is_marked_without_failing(app, world):
    a = _files_of(world["old_rejected"])[0]
    attachments.path_of(a).unlink()
    result = retention.run()
    assert (result.files, result.missing) == (3, 1)
    db.session.expire_all()
    assert db.session.get(RequestAttachment, a.id).purged_at is not None


def test_staff_and_resident_pages_say_the_file_was_removed(app, world, factory, login_as, client):
    retention.run()
    req = world["old_done"]
    names = [a.stored_name for a in _files_of(req)]
    kept = _files_of(world["recent_done"])[0].stored_name

    login_as(factory.staff(Role.STAFF))
    html = client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert html.count(PURGED_TEXT) == 2
    assert not any(n in html for n in names)
    other = client.get(f"/petugas/permohonan/{world['recent_done'].tracking_number}").get_data(as_text=True)
    assert PURGED_TEXT not in other and kept in other
    for n in names:
        assert client.get(f"/berkas/{n}").status_code == 404
    client.post("/logout")

    login_as(world["warga"])
    resp = client.get(f"/warga/permohonan/{req.tracking_number}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.count(PURGED_TEXT) == 2
    assert not any(n in html for n in names)


def test_the_rt_page_says_the_file_was_removed(app, world, factory, login_as, client):
    retention.run()
    req = world["old_done"]
    login_as(factory.staff(Role.RT_HEAD, rt=req.subject.rt, rw=req.subject.rw))
    resp = client.get(f"/rt/permohonan/{req.tracking_number}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:300]
    assert html.count(PURGED_TEXT) == 2


def test_photos_sent_with_questions_go_with_the_documents_and_the_thread_says_so(app, world, factory):
    from sempelmas.models.questions import MessageSide
    from sempelmas.services.files.uploads import save_image, stored_path
    from sempelmas.services.requests import questions

    warga = world["warga"]
    app.config["QUESTION_DAYS_AFTER_CLOSE"] = 1000  # asked back when the request had just closed
    old, _new = questions.post(world["old_done"], warga, "Foto KK saya sudah jelas?", side=MessageSide.RESIDENT,
                               photo=save_image(questions.UPLOAD_KIND, jpeg_bytes()))
    recent, _new = questions.post(world["recent_done"], warga, "Ini fotonya.", side=MessageSide.RESIDENT,
                                  photo=save_image(questions.UPLOAD_KIND, jpeg_bytes(color=(1, 2, 3))))
    db.session.commit()
    old_file = stored_path(questions.UPLOAD_KIND, old.photo)
    assert old_file is not None

    assert retention.run(dry_run=True).question_photos == 1
    db.session.expire_all()
    assert old.photo is not None and old_file.is_file()

    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "Foto pada pertanyaan (Tanya petugas) permohonan itu: 1 dihapus." in result.output
    db.session.expire_all()
    assert old.photo is None and old.photo_purged_at is not None and not old_file.is_file()
    assert old.text == "Foto KK saya sudah jelas?"  # the message stays
    assert recent.photo is not None and stored_path(questions.UPLOAD_KIND, recent.photo) is not None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.run",
                                                       AuditEntry.object_id == "question_photos"))
    assert entry.details["files"] == 1

    client = app.test_client()
    client.post("/login", data={"identifier": warga.resident.nik, "password": PASSWORD})
    page = client.get(f"/warga/permohonan/{world['old_done'].tracking_number}/tanya").get_data(as_text=True)
    assert "Fotonya dihapus pada" in page and "sesuai kebijakan retensi data" in page
    assert client.get(f"/warga/permohonan/{world['old_done'].tracking_number}/tanya/{old.id}/foto").status_code == 404
