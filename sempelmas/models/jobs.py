"""Background jobs run by ``flask worker``: long work never runs inside a web request."""

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
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.progress * 100 / self.total))

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
