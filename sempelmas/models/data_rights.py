"""Residents' requests about their own personal data (UU 27/2022 PDP): correction and deletion."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class DataRequestKind(enum.StrEnum):
    CORRECTION = "koreksi"
    DELETION = "penghapusan"


class DataRequestStatus(enum.StrEnum):
    OPEN = "diajukan"
    #: correction applied, or the account erased (except what the archive keeps)
    DONE = "selesai"
    REFUSED = "ditolak"


DATA_REQUEST_KIND_LABELS = {
    DataRequestKind.CORRECTION: _l("Koreksi data"),
    DataRequestKind.DELETION: _l("Penghapusan akun"),
}
DATA_REQUEST_STATUS_LABELS = {
    DataRequestStatus.OPEN: _l("Diajukan — menunggu petugas"),
    DataRequestStatus.DONE: _l("Selesai"),
    DataRequestStatus.REFUSED: _l("Ditolak"),
}


class DataRightsRequest(db.Model):
    """A resident asks staff to correct one piece of their data, or to delete their account."""

    __tablename__ = "data_rights_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the resident account that asked (kept after a deletion, anonymised, so the record stays whole)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: a DataRequestKind code
    kind: Mapped[str] = mapped_column(String(12))
    #: a DataRequestStatus code
    status: Mapped[str] = mapped_column(String(10), default=DataRequestStatus.OPEN, index=True)
    #: correction: which item is wrong (services.accountability.data_rights.CORRECTABLE), "lainnya" for anything else
    field: Mapped[str | None] = mapped_column(String(30))
    #: correction: the value held when the resident asked (so staff see what was claimed to be wrong)
    old_value: Mapped[str | None] = mapped_column(String(255))
    #: correction: what the resident says is right
    requested_value: Mapped[str | None] = mapped_column(String(255))
    #: the resident's explanation (correction) or reason (deletion, optional)
    explanation: Mapped[str | None] = mapped_column(Text)
    #: stored name of an optional evidence photo under uploads/pdp/ (erased with the account)
    evidence_photo: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the value staff wrote (correction done)
    applied_value: Mapped[str | None] = mapped_column(String(255))
    #: what the resident reads: the reason of a refusal, or staff's note on the outcome
    outcome_note: Mapped[str | None] = mapped_column(Text)
    #: deletion done: counts of what was erased and what the archive keeps
    summary: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User] = relationship(foreign_keys=[user_id])  # noqa: F821
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])  # noqa: F821

    @property
    def kind_label(self) -> str:
        return str(DATA_REQUEST_KIND_LABELS[DataRequestKind(self.kind)])

    @property
    def status_label(self) -> str:
        return str(DATA_REQUEST_STATUS_LABELS[DataRequestStatus(self.status)])

    @property
    def is_open(self) -> bool:
        return self.status == DataRequestStatus.OPEN
