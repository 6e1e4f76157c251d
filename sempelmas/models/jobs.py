"""Background jobs: long work never runs inside a web request (sempelmas/services/operations/jobs.py)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class JobStatus(enum.StrEnum):
    QUEUED = "antri"
    RUNNING = "berjalan"
    DONE = "selesai"
    FAILED = "gagal"


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.QUEUED, index=True)
    #: what the job works on; never a secret (a batch's unlocked key lives only in its own process)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: the process running it now, "<host>:<pid>:<random>"; every write of that run is conditional on it, so a
    #: run whose lease was taken over can no longer finish the job
    lease_token: Mapped[str | None] = mapped_column(String(80))
    #: refreshed every JOB_HEARTBEAT_SECONDS while the job runs; older than JOB_LEASE_SECONDS = its process died
    heartbeat_at: Mapped[datetime | None]
    #: runs started so far (a job retried after its worker died or the database was briefly away)
    attempts: Mapped[int] = mapped_column(default=0)
    #: a retried job waits until then (backoff)
    run_after: Mapped[datetime | None]
    #: the register file an import reads (UPLOAD_DIR/imports/<name>; services/people/register_jobs.py): personal data,
    #: so kept only while needed. Cleared on every job naming it, in the transaction that lets it go (the import
    #: applied, a job of it failed for good, the preview left unapplied past IMPORT_PREVIEW_DAYS), and the file is
    #: deleted after that commit; a file no job names is the upload sweep's (services/files/upload_store.py)
    import_file: Mapped[str | None] = mapped_column(String(80), index=True)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.progress * 100 / self.total))

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
