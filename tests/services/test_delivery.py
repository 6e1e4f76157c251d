"""Delivering the outbox through a real SMTP server and a real HTTP gateway: claims, leases, retries, the worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, event, select

from sempelmas.config import _env_overrides
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.operations import channels, delivery, outbox
from sempelmas.services.requests.lifecycle import transition
from tests.notify_helpers import inbox, make_people
from tests.request_factory import submit

S = RequestStatus
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def people(app, factory):
    return make_people(factory)


# ----------------------------------------------------------------------------- real servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False,
                      MAIL_FROM="Kelurahan Jagalan <layanan@jagalan.example>")
    yield handler
    controller.stop()


@contextmanager
def http_gateway(status: int = 200):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/kirim", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_email_reaches_a_real_smtp_server(app, people, smtp_server):
    req = submit(people["applicant"])
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 2, "retry": 0, "failed": 0}
    by_rcpt = {rcpt[0]: message_from_bytes(content, policy=policy.default)
               for _from, rcpt, content in smtp_server.messages}
    assert set(by_rcpt) == {"siti@example.org", "pendamping@example.org"}
    mail = by_rcpt["siti@example.org"]
    assert mail["Subject"] == f"Permohonan {req.tracking_number}: Menunggu pengantar RT/RW"
    assert mail["From"] == "Kelurahan Jagalan <layanan@jagalan.example>"
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "siti@example.org")).one()
    assert mail["Message-ID"] == f"<{row.uid}@jagalan.example>"
    body = mail.get_content()
    assert req.tracking_number in body and "Surat domisili" in body and "sudah kami terima" in body
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert all(r.status == OutboxStatus.SENT and r.sent_at and r.attempts == 1 for r in rows)
    assert delivery.deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # never sent twice
    assert len(smtp_server.messages) == 2


def test_gateway_gets_the_auth_header_and_properly_escaped_json(app, people):
    with http_gateway() as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url, NOTIFY_GATEWAY_AUTH_HEADER="Authorization: Bearer rahasia-xyz",
                          NOTIFY_GATEWAY_TEMPLATE='{"target": "{phone}", "text": "{message}", "src": "sempelmas"}')
        p = people
        req = submit(p["applicant"])
        transition(req, "endorse", actor=p["rt"])
        transition(req, "claim", actor=p["staff"])
        transition(req, "ask_fix", actor=p["staff"], note='Foto KK "buram",\nulangi {phone} ya \\ é')
        db.session.commit()
        assert delivery.deliver_due()["sent"] == 4
    assert [r["path"] for r in received] == ["/api/kirim"] * 4
    last = received[-1]
    assert last["headers"]["Authorization"] == "Bearer rahasia-xyz"
    assert last["headers"]["Content-Type"].startswith("application/json")
    data = json.loads(last["body"].decode("utf-8"))
    assert data["target"] == "+6281234567890" and data["src"] == "sempelmas"
    assert req.tracking_number in data["text"]
    assert 'Alasan: Foto KK "buram",\nulangi {phone} ya \\ é' in data["text"]


def test_a_gateway_that_is_down_never_blocks_a_status_change_and_nothing_is_lost(app, people):
    closed = free_port()
    app.config.update(NOTIFY_GATEWAY_URL=f"http://127.0.0.1:{closed}/kirim", NOTIFY_MAX_ATTEMPTS=8,
                      NOTIFY_GATEWAY_TIMEOUT=2)
    p = people
    req = submit(p["applicant"])
    transition(req, "endorse", actor=p["rt"])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(LetterRequest, req.id).status == S.SUBMITTED  # committed, no network involved
    first, second = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    now = utcnow()
    waits = []
    for attempt in range(1, 9):
        counts = delivery.deliver_due(now=now)
        db.session.expire_all()
        msg = db.session.get(OutboxMessage, first.id)
        assert msg.attempts == attempt and "URLError" in msg.last_error
        if attempt < 8:
            assert counts == {"sent": 0, "retry": 2, "failed": 0}
            assert msg.status == OutboxStatus.PENDING
            waits.append(msg.next_attempt_at - now)
            # not due again before the backoff has passed
            assert delivery.deliver_due(now=msg.next_attempt_at - timedelta(seconds=1)) == {
                "sent": 0, "retry": 0, "failed": 0}
            now = msg.next_attempt_at
        else:
            assert counts == {"sent": 0, "retry": 0, "failed": 2}
            assert msg.status == OutboxStatus.FAILED and msg.sent_at is None
    assert [w // timedelta(minutes=1) for w in waits] == [1, 5, 15, 60, 180, 720, 720]
    # kept, with its error, for the admin to see; the bell entries are there regardless
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {OutboxStatus.FAILED}
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 2 == len({first.id, second.id})
    assert len(inbox(p["applicant"])) == 2
    assert delivery.deliver_due(now=now + timedelta(days=30))["failed"] == 0  # a failed message is not retried


def test_a_gateway_answering_500_is_retried_then_succeeds_when_it_recovers(app, people):
    with http_gateway(status=500) as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        submit(people["applicant"])
        db.session.commit()
        assert delivery.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    msg = db.session.scalars(select(OutboxMessage)).one()
    assert msg.status == OutboxStatus.PENDING and "HTTP 500" in msg.last_error and len(received) == 1
    with http_gateway(status=202) as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        assert delivery.deliver_due(now=utcnow() + timedelta(minutes=2)) == {"sent": 1, "retry": 0, "failed": 0}
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, msg.id)
    assert msg.status == OutboxStatus.SENT and msg.attempts == 2 and msg.last_error is None
    assert json.loads(received[0]["body"])["to"] == "+6281234567890"


def test_smtp_server_down_is_retried_not_raised(app, people):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False, MAIL_TIMEOUT=2)
    submit(people["applicant"])
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 0, "retry": 2, "failed": 0}
    assert all("ConnectionRefusedError" in m.last_error for m in db.session.scalars(select(OutboxMessage)))


def test_notify_worker_once_delivers(app, people, runner):
    with http_gateway() as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        submit(people["applicant"])
        db.session.commit()
        result = runner.invoke(args=["notify-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Terkirim: 1" in result.output
    assert len(received) == 1
    db.session.expire_all()
    assert db.session.scalars(select(OutboxMessage)).one().status == OutboxStatus.SENT


def test_gateway_body_escapes_and_rejects_a_broken_template():
    body = json.loads(channels.gateway_body(channels.DEFAULT_GATEWAY_TEMPLATE, "+628123", 'a "b"\n{message}'))
    assert body == {"to": "+628123", "message": 'a "b"\n{message}'}
    template = '{"to": "{phone}", "text": "{message}", "ref": "{id}", "again": "{id}"}'
    body = json.loads(channels.gateway_body(template, "+628123", 'x {id} {phone}', 'a"b'))
    assert body == {"to": "+628123", "text": "x {id} {phone}", "ref": 'a"b', "again": 'a"b'}
    with pytest.raises(channels.DeliveryError):
        channels.gateway_body('{"to": {phone}}', "+628123", "x")


def test_notification_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_PORT", "465")
    monkeypatch.setenv("MAIL_USE_SSL", "1")
    monkeypatch.setenv("MAIL_USE_TLS", "0")
    monkeypatch.setenv("NOTIFY_GATEWAY_URL", "https://wa.example.org/send")
    monkeypatch.setenv("NOTIFY_GATEWAY_AUTH_HEADER", "Authorization: Bearer x")
    monkeypatch.setenv("NOTIFY_MAX_ATTEMPTS", "5")
    out = _env_overrides()
    assert out["MAIL_SERVER"] == "smtp.example.org" and out["MAIL_PORT"] == 465
    assert out["MAIL_USE_SSL"] is True and out["MAIL_USE_TLS"] is False
    assert out["NOTIFY_GATEWAY_URL"] == "https://wa.example.org/send" and out["NOTIFY_MAX_ATTEMPTS"] == 5
    assert out["NOTIFY_GATEWAY_AUTH_HEADER"] == "Authorization: Bearer x"


def test_a_claim_holds_one_message_for_a_short_lease_and_a_dead_notifiers_message_comes_back(app, people):
    app.config.update(NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim", MAIL_SERVER="127.0.0.1")
    submit(people["applicant"])  # three messages: e-mail to the applicant and the pendamping, WhatsApp
    db.session.commit()
    now = utcnow()
    first = delivery.claim_next(now, "notifier-a")
    assert first is not None and first.attempts == 1
    # a claim holds that one message only: a second notifier at the same moment takes the next ones
    others = [delivery.claim_next(now, "notifier-b") for _ in range(3)]
    assert others[2] is None and len({first.id, others[0].id, others[1].id}) == 3
    # notifier-a dies mid-send: its message is free again once the (seconds-long) lease has run out
    assert timedelta(seconds=5) >= delivery.CLAIM_LEASE
    assert delivery.claim_next(now + delivery.CLAIM_LEASE - timedelta(milliseconds=1), "notifier-c") is None
    again = delivery.claim_next(now + delivery.CLAIM_LEASE, "notifier-c")
    assert again is not None and again.id == first.id and again.uid == first.uid and again.attempts == 2
    db.session.expire_all()
    row = db.session.get(OutboxMessage, first.id)
    assert row.claimed_by == "notifier-c" and row.status == OutboxStatus.PENDING
    assert "interrupted" in row.last_error and "notifier-a" in row.last_error and "outcome unknown" in row.last_error


def test_a_message_whose_last_allowed_attempt_was_interrupted_is_marked_failed_not_sent_again(app, people):
    app.config.update(NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim", NOTIFY_MAX_ATTEMPTS=3)
    submit(people["applicant"])
    db.session.commit()
    msg = db.session.scalars(select(OutboxMessage)).one()
    # two failed attempts, then a notifier killed during the third (the last one allowed)
    msg.attempts, msg.last_error = 2, "URLError: refused"
    db.session.commit()
    assert delivery.claim_next(utcnow(), "dead-notifier").attempts == 3
    counts = delivery.deliver_due(now=utcnow() + delivery.CLAIM_LEASE)
    assert counts == {"sent": 0, "retry": 0, "failed": 1}
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, msg.id)
    assert msg.status == OutboxStatus.FAILED and msg.attempts == 3 and msg.claimed_by is None
    assert "attempt 3 interrupted" in msg.last_error


@contextmanager
def held_gateway(hold: threading.Event, *, first_only: bool = True):
    """A gateway that keeps the first request (or every one) waiting until ``hold`` is set, then answers 200;
    ``arrived`` is set when a held request came in."""
    received, arrived = [], threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            if not first_only or len(received) == 1:
                arrived.set()
                hold.wait(60)
            with contextlib.suppress(OSError):  # the notifier may be gone (killed) by now
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/kirim", received, arrived
    finally:
        hold.set()
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_slow_gateway_gets_the_same_id_on_the_retry_and_the_timeout_counts_as_unknown(app, people):
    hold = threading.Event()
    with held_gateway(hold) as (url, received, _arrived):
        app.config.update(NOTIFY_GATEWAY_URL=url, NOTIFY_GATEWAY_TIMEOUT=0.5,
                          NOTIFY_GATEWAY_TEMPLATE='{"target": "{phone}", "text": "{message}", "ref": "{id}"}')
        submit(people["applicant"])
        db.session.commit()
        # the gateway takes the message but answers after the notifier's timeout
        assert delivery.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
        db.session.expire_all()
        msg = db.session.scalars(select(OutboxMessage)).one()
        assert msg.status == OutboxStatus.PENDING and msg.attempts == 1 and msg.claimed_by is None
        assert "OutcomeUnknown" in msg.last_error and "outcome unknown" in msg.last_error
        hold.set()
        assert delivery.deliver_due(now=utcnow() + timedelta(minutes=2)) == {"sent": 1, "retry": 0, "failed": 0}
    assert len(received) == 2  # a gateway that cannot de-duplicate delivers it twice; one that can, once
    keys = [r["headers"]["Idempotency-Key"] for r in received]
    refs = [json.loads(r["body"])["ref"] for r in received]
    assert keys == refs == [msg.uid, msg.uid]
    assert str(uuid.UUID(msg.uid)) == msg.uid
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, msg.id)
    assert msg.status == OutboxStatus.SENT and msg.attempts == 2 and msg.last_error is None


def test_every_message_has_its_own_id_that_no_restore_or_other_kelurahan_repeats(app, people):
    app.config.update(NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim", MAIL_SERVER="127.0.0.1")
    submit(people["applicant"])
    submit(people["applicant"], key="kedua")
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage)).all()
    uids = {r.uid for r in rows}
    assert len(rows) == 6 and len(uids) == 6
    assert all(uuid.UUID(u).version == 4 for u in uids)  # random: not the row number, which a restore reuses


class SlowFirstData(Collector):
    """An SMTP server that keeps its answer to the first message until after the client's timeout."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if len(self.messages) == 1:
            await asyncio.sleep(1.5)
        return "250 OK"


def test_an_email_retried_after_a_timeout_carries_the_same_message_id_and_date(app, people):
    handler = SlowFirstData()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_TIMEOUT=0.5,
                          MAIL_FROM="Kelurahan Jagalan <layanan@jagalan.example>")
        people["helper"].email = None  # one message
        submit(people["applicant"])
        db.session.commit()
        assert delivery.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
        msg = db.session.scalars(select(OutboxMessage)).one()
        assert "OutcomeUnknown" in msg.last_error
        assert delivery.deliver_due(now=utcnow() + timedelta(minutes=2)) == {"sent": 1, "retry": 0, "failed": 0}
    finally:
        controller.stop()
    mails = [message_from_bytes(content, policy=policy.default) for _f, _r, content in handler.messages]
    assert len(mails) == 2  # the server has it twice: SMTP itself does not de-duplicate
    assert mails[0]["Message-ID"] == mails[1]["Message-ID"] == f"<{msg.uid}@jagalan.example>"
    assert mails[0]["Date"] == mails[1]["Date"]


def test_a_live_notifier_keeps_its_message_however_slow_the_gateway(app, people, monkeypatch):
    """The lease is renewed while the send runs: a second notifier never sends the same message meanwhile."""
    monkeypatch.setattr(delivery, "CLAIM_LEASE", timedelta(seconds=1))
    monkeypatch.setattr(delivery, "RENEW_EVERY", timedelta(seconds=0.2))
    hold = threading.Event()
    with held_gateway(hold) as (url, received, arrived):
        app.config.update(NOTIFY_GATEWAY_URL=url, NOTIFY_GATEWAY_TIMEOUT=30)
        submit(people["applicant"])
        db.session.commit()
        results = []

        def first_notifier():
            with app.app_context():
                results.append(delivery.deliver_due())

        worker = threading.Thread(target=first_notifier)
        worker.start()
        try:
            assert arrived.wait(10)
            time.sleep(2.5)  # well past the first lease: only its renewals keep the message
            db.session.rollback()
            assert delivery.claim_next(utcnow(), "second-notifier") is None
            assert delivery.deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
        finally:
            hold.set()
            worker.join(30)
    assert results == [{"sent": 1, "retry": 0, "failed": 0}] and len(received) == 1


def test_a_notifier_killed_mid_send_is_resumed_within_seconds_after_a_restart(app, tmp_path):
    """A real `flask notify-worker` killed with SIGKILL while the gateway holds one message: the restarted one
    sends the rest at once and that one after its short lease, under the same id, within 10 s."""
    hold = threading.Event()
    with held_gateway(hold) as (url, received, arrived):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        for i in range(4):
            outbox.queue_external(None, email=None, phone=f"+62812345000{i}", subject="Uji", body=f"Pesan {i}")
        db.session.commit()
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "notify-test",
               "SEMPELMAS_ENV": "development", "NOTIFY_GATEWAY_URL": url}
        command = [sys.executable, "-m", "flask", "--app", "app", "notify-worker"]
        logs = tmp_path / "notifier.log"
        with logs.open("wb") as out:
            first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                assert arrived.wait(60), logs.read_text()
                time.sleep(1.5)  # mid-send, its lease renewed at least once
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            hold.set()  # the gateway got the message; the killed notifier never heard back
            restarted = time.monotonic()
            second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                while time.monotonic() - restarted < 30:
                    db.session.rollback()  # a fresh read of what the subprocess wrote
                    if set(db.session.scalars(select(OutboxMessage.status))) == {OutboxStatus.SENT}:
                        break
                    time.sleep(0.1)
                resumed_after = time.monotonic() - restarted
            finally:
                second.terminate()
                second.wait(10)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {r.status for r in rows} == {OutboxStatus.SENT}, logs.read_text()
    assert resumed_after <= 10, (resumed_after, logs.read_text())
    keys = [r["headers"]["Idempotency-Key"] for r in received]
    interrupted = keys[0]
    assert len(keys) == 5 and keys.count(interrupted) == 2  # the interrupted one again, under its own id
    assert set(keys) == {r.uid for r in rows}
    assert sorted(r.attempts for r in rows) == [1, 1, 1, 2]
    assert next(r for r in rows if r.uid == interrupted).attempts == 2


# --------------------------------------------------------------------------------- a database that keeps failing


@pytest.fixture
def outbox_lock(app):
    """``hold()`` takes the outbox's write lock from another connection (a long transaction elsewhere, a backup)
    and returns the call that lets it go; meanwhile every statement of the app that needs it fails after 0.2 s:
    SQLite's "database is locked" past a busy timeout shortened to 0.2 s, PostgreSQL's lock_timeout (0.2 s)."""
    sqlite = db.engine.dialect.name == "sqlite"

    def short_wait(dbapi_connection, record, *proxy):
        if sqlite:
            dbapi_connection.execute("PRAGMA busy_timeout=200")
        else:
            with dbapi_connection.cursor() as cur:
                cur.execute("SET lock_timeout = '200ms'")
            dbapi_connection.commit()

    hook = "checkout" if sqlite else "connect"
    cleanup = []

    def hold():
        db.session.remove()
        db.engine.dispose()  # every connection from here on waits 0.2 s at most
        event.listen(db.engine, hook, short_wait)
        cleanup.append(lambda: event.remove(db.engine, hook, short_wait))
        if sqlite:
            holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
        else:
            engine = create_engine(db.engine.url)
            cleanup.append(engine.dispose)
            holder = engine.connect()
            holder.exec_driver_sql("LOCK TABLE outbox_messages IN EXCLUSIVE MODE")  # writes and claims wait
        cleanup.append(holder.close)

        def release():
            holder.rollback()
            holder.close()

        return release

    yield hold
    for undo in reversed(cleanup):
        undo()  # closing twice is harmless
    db.session.remove()
    db.engine.dispose()


def test_the_notify_worker_backs_off_while_the_database_keeps_failing_and_delivers_after(app, people, outbox_lock):
    """As the job worker: a loop that meets a locked database waits longer after each failed round (here 1 s,
    then 2 s) instead of trying again every poll, never exits, and sends once the lock is gone."""
    with http_gateway() as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        submit(people["applicant"])
        db.session.commit()
        msg_id = db.session.scalars(select(OutboxMessage.id)).one()
        db.session.remove()
        worker, failed_at, died, stop = [], [], [], threading.Event()

        def failed(context):  # every statement of the notifier that the database refused
            if worker and threading.current_thread() is worker[0]:
                failed_at.append(time.monotonic())

        def run():
            with app.app_context():
                try:
                    delivery.work_forever(0.05, stop=stop, max_backoff=2.0)
                except BaseException as e:  # noqa: BLE001 - the test reports it
                    died.append(e)
                finally:
                    db.session.remove()

        event.listen(db.engine, "handle_error", failed)
        release = outbox_lock()
        try:
            worker.append(threading.Thread(target=run, daemon=True))
            worker[0].start()
            time.sleep(4.0)  # the lock is held for 4 s
            alive, during = worker[0].is_alive(), list(failed_at)
            release()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not received:
                time.sleep(0.1)
            time.sleep(0.3)  # its outcome recorded
        finally:
            stop.set()
            worker[0].join(timeout=10)
            event.remove(db.engine, "handle_error", failed)
    assert alive and died == [], died
    # polling every 0.05 s, a loop without a backoff fails a round every ~0.25 s (16 in 4 s)
    gaps = [b - a for a, b in zip(during, during[1:], strict=False)]
    assert 2 <= len(during) <= 4, gaps
    assert all(g >= 0.8 for g in gaps) and gaps == sorted(gaps), gaps
    assert len(received) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, msg_id).status == OutboxStatus.SENT
