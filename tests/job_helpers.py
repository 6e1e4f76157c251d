"""Waiting for a job that another process (the worker, a batch's own process) runs."""

from __future__ import annotations

import time

from sempelmas.extensions import db
from sempelmas.models.jobs import Job


def wait_for_job(job_id: int, *, timeout: float = 120.0, until=lambda job: job.finished) -> Job:
    """Poll the job's row (a fresh read each time) until ``until(job)``; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} ({job.progress}/{job.total})"
        time.sleep(0.1)
