"""Batch signing as a job: the request checks the passphrase and returns at once, the batch's own process signs
letter by letter and writes each result into the job the official watches; a batch whose process dies is
marked failed with what it signed, the rest still waiting in the queue."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.letters import Letter
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.letters import batch_signing
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import store as letter_store
from tests.conftest import Factory, login
from tests.job_helpers import wait_for_job
from tests.signing_setup import LURAH_PASS, SEKRETARIS_PASS, Desk, configure

BATCH = 100


class World:
    """The live app with a signing desk. Requests run outside any app context, as in production: each client's
    requests get their own (a context the test kept pushed would be shared, signed-in user included)."""

    def __init__(self, app, desk: Desk):
        self.app, self.desk = app, desk
        self.ids = {name: getattr(desk, name).id for name in ("warga", "staff", "lurah", "sekretaris")}

    def db(self):
        """An app context for reading the database from the test (``with world.db():``)."""
        return self.app.app_context()

    def awaiting(self, n: int) -> list[tuple[int, str]]:
        with self.db():
            self.desk.warga = db.session.get(User, self.ids["warga"])
            self.desk.staff = db.session.get(User, self.ids["staff"])
            return [(r.id, r.tracking_number) for r in self.desk.awaiting(n)]

    def signed_in(self, username: str):
        client = self.app.test_client()
        assert login(client, username).status_code == 302
        return client


@pytest.fixture
def world(make_app, tmp_path):
    app = make_app()
    with app.app_context():
        configure(app, tmp_path)
        world = World(app, Desk(Factory()))
        db.session.remove()
    return world


def start(client, tracking_numbers: list[str], passphrase: str) -> tuple[int, str]:
    resp = client.post("/penandatangan/tanda-tangan", data={"selected": tracking_numbers, "passphrase": passphrase})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return int(resp.location.rsplit("/", 1)[1]), resp.location


def status_of(request_id: int) -> str:
    return db.session.scalar(select(LetterRequest.status).where(LetterRequest.id == request_id))


def test_a_batch_of_100_started_while_another_runs_returns_at_once_and_ends_with_each_letters_result(world):
    world.app.config["BATCH_SIGN_PAUSE_SECONDS"] = 0  # the pause between letters only helps other pages
    requests = world.awaiting(2 * BATCH)
    tns = [tn for _id, tn in requests]
    lurah, sekretaris = world.signed_in("lurah"), world.signed_in("sekretaris")

    first, _url = start(lurah, tns[:BATCH], LURAH_PASS)
    second, second_url = start(sekretaris, tns[BATCH:], SEKRETARIS_PASS)
    # both requests have answered while the first batch is still signing: neither waited for its letters
    with world.db():
        running = db.session.get(Job, first)
        assert running.status == JobStatus.RUNNING and running.progress < BATCH
    watching = sekretaris.get(second_url, headers={"HX-Request": "true"})
    fragment = watching.get_data(as_text=True)
    assert watching.status_code == 200 and "<html" not in fragment and 'hx-trigger="every 1s"' in fragment
    # one batch signs at a time (they would take turns on the write lock anyway): the second says it waits
    assert "Menunggu giliran" in fragment or "surat sudah diproses" in fragment

    with world.db():
        jobs = [wait_for_job(first, timeout=900), wait_for_job(second, timeout=900)]
        for job, chosen in zip(jobs, (tns[:BATCH], tns[BATCH:]), strict=True):
            assert job.status == JobStatus.DONE and job.progress == job.total == BATCH
            assert job.created_by_id == (world.ids["lurah"] if job.id == first else world.ids["sekretaris"])
            letters = job.result["letters"]
            assert [r["tracking_number"] for r in letters] == chosen  # one result per letter, in the order chosen
            assert all(r["ok"] and r["number"] for r in letters) and job.result["signed"] == BATCH
        numbers = db.session.execute(select(Letter.sequence, Letter.number)).all()
        assert sorted(seq for seq, _n in numbers) == list(range(1, 2 * BATCH + 1))  # unique and gapless
        assert {n for _s, n in numbers} == {r["number"] for job in jobs for r in job.result["letters"]}
        assert len(list(letter_store.letter_dir().glob("*"))) == 2 * BATCH
        assert all(status_of(rid) == RequestStatus.DONE for rid, _tn in requests)
    page = sekretaris.get(second_url).get_data(as_text=True)
    assert f"{BATCH} dari {BATCH} surat ditandatangani" in page and 'hx-trigger="every 1s"' not in page


@pytest.mark.parametrize(("sig", "with_tsa"), [(signal.SIGKILL, False), (signal.SIGTERM, False),
                                               (signal.SIGTERM, True)],
                         ids=["kill-9", "terminated", "terminated-b-lta"])
def test_a_batch_whose_process_ends_midway_fails_with_the_signed_letters_and_the_rest_still_queued(world, sig,
                                                                                                   with_tsa, tmp_path):
    world.app.config["JOB_LEASE_SECONDS"] = 3  # a SIGKILL'd process cannot say it died: its heartbeat stops
    if with_tsa:  # B-LTA: pyHanko's event loop waits on the TSA in a thread pool when the stop arrives
        from tests import ltv_pki

        tsa_url, root_pem, tsa = ltv_pki.serve_in_process(tmp_path / "tsa")  # this process stays single-threaded
        world.app.config.update(PKI_TSA_URL=tsa_url, PKI_TSA_TRUST_ROOTS=str(root_pem))
    try:
        _end_midway(world, sig)
        if with_tsa:
            from sempelmas.services.letters import ltv

            with world.db():
                letter = db.session.scalars(select(Letter).limit(1)).one()
                assert ltv.last_timestamp(letter_store.read_pdf(letter)).kind == "document"  # B-LTA indeed
    finally:
        if with_tsa:
            tsa.terminate()
            tsa.wait(10)
            tsa.stdout.close()


def _end_midway(world, sig) -> None:
    requests = world.awaiting(30)
    lurah = world.signed_in("lurah")
    job_id, url = start(lurah, [tn for _id, tn in requests], LURAH_PASS)
    with world.db():
        job = wait_for_job(job_id, until=lambda j: j.progress >= 2 or j.finished)
        assert not job.finished
        pid = int(job.lease_token.split(":")[1])
    assert pid != os.getpid(), f"the batch ran in a thread: other threads {threading.enumerate()}"  # own process
    os.kill(pid, sig)
    deadline = time.monotonic() + 60
    while True:  # the official keeps watching the page: it tells them the batch stopped
        page = lurah.get(url).get_data(as_text=True)
        if 'hx-trigger="every 1s"' not in page or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    with world.db():
        job = wait_for_job(job_id, timeout=1)
        assert job.status == JobStatus.FAILED
        signed = db.session.scalar(select(func.count(Letter.id)))
        assert 2 <= signed < 30 and job.result["signed"] == signed
        assert len(job.result["letters"]) == 30  # every letter of the batch has its line
        waiting = [tn for rid, tn in requests if status_of(rid) == RequestStatus.AWAITING_SIGNATURE]
        assert len(waiting) == 30 - signed  # the others are still in the queue, where a new batch can take them
        lines = {r["tracking_number"]: r for r in job.result["letters"]}
        assert all(not lines[tn]["ok"] and "masih di antrean" in lines[tn]["message"] for tn in waiting)
        assert f"{signed} dari 30 surat ditandatangani" in page and job.error in page


def test_a_certificate_revoked_during_a_batch_signs_no_further_letter(world):
    requests = world.awaiting(3)
    with world.db():
        lurah = db.session.get(User, world.ids["lurah"])
        job, held = batch_signing.start([tn for _id, tn in requests], lurah, LURAH_PASS)
        db.session.commit()
        letter_certs.revoke_certificate(letter_certs.active_certificate(lurah), lurah, "Kunci diduga bocor")
        db.session.commit()
        batch_signing.run(job.id, job.lease_token, held)  # the batch's process, here in-process
        job = wait_for_job(job.id, timeout=1)
        assert job.status == JobStatus.DONE and job.result["signed"] == 0
        assert all("dicabut" in r["message"] for r in job.result["letters"])
        assert db.session.scalar(select(func.count(Letter.id))) == 0


def test_submitting_the_batch_twice_starts_one_batch(world):
    tns = [tn for _id, tn in world.awaiting(5)]
    lurah = world.signed_in("lurah")
    first, url = start(lurah, tns, LURAH_PASS)
    again = lurah.post("/penandatangan/tanda-tangan", data={"selected": tns, "passphrase": LURAH_PASS})
    assert again.status_code == 303 and again.location == url
    with world.db():
        wait_for_job(first)
        assert db.session.scalar(select(func.count(Job.id))) == 1
        assert db.session.scalar(select(func.count(Letter.id))) == 5


def test_only_the_official_who_started_a_batch_sees_it(world):
    (_id, tn), = world.awaiting(1)
    job_id, url = start(world.signed_in("lurah"), [tn], LURAH_PASS)
    with world.db():
        wait_for_job(job_id)
    assert world.signed_in("sekretaris").get(url).status_code == 404
    assert world.signed_in("petugas").get(url).status_code == 403
    assert world.app.test_client().get(url).status_code == 302  # to the login page
    assert world.signed_in("lurah").get(url).status_code == 200
