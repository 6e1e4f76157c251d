"""Satisfaction survey (IKM): one anonymous response per finished request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow

#: the answer columns, U1…U9 in the order of sempelmas.domain.ikm.ELEMENTS
ANSWER_COLUMNS = tuple(f"u{i}" for i in range(1, 10))


class SurveyResponse(db.Model):
    """The nine answers (1–4) a resident gave about one finished request, and an optional comment.

    No user column: the request link only enforces "one response per request" (unique); reports read the
    answers, the comment and the time, never whose request it was.
    """

    __tablename__ = "survey_responses"
    __table_args__ = tuple(CheckConstraint(f"{c} BETWEEN 1 AND 4", name=c)
                           for c in ANSWER_COLUMNS)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), unique=True)
    #: when it was sent (UTC); the report's period filter reads it
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    u1: Mapped[int] = mapped_column(SmallInteger)
    u2: Mapped[int] = mapped_column(SmallInteger)
    u3: Mapped[int] = mapped_column(SmallInteger)
    u4: Mapped[int] = mapped_column(SmallInteger)
    u5: Mapped[int] = mapped_column(SmallInteger)
    u6: Mapped[int] = mapped_column(SmallInteger)
    u7: Mapped[int] = mapped_column(SmallInteger)
    u8: Mapped[int] = mapped_column(SmallInteger)
    u9: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)

    @property
    def answers(self) -> tuple[int, ...]:
        return tuple(getattr(self, c) for c in ANSWER_COLUMNS)
