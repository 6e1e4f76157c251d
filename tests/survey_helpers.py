"""Finished requests and survey responses for the survey tests."""

from __future__ import annotations

from datetime import datetime

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.survey import SurveyResponse
from sempelmas.services.requests import lifecycle
from tests.request_factory import submit


def finish(req, staff, signer):
    """Take a submitted request (no RT step) through review and signing to "selesai"."""
    for action in ("claim", "forward_to_signing"):
        lifecycle.transition(req, action, actor=staff)
    lifecycle.transition(req, "sign", actor=signer)
    db.session.commit()
    return req


class Office:
    """One staff member and one signer, made once per test."""

    def __init__(self, factory):
        self.staff = factory.staff(Role.STAFF)
        self.signer = factory.staff(Role.SIGNER)

    def done(self, applicant, **kw):
        return finish(submit(applicant, **kw), self.staff, self.signer)


def add_response(req, answers, *, comment=None, at: datetime | None = None) -> SurveyResponse:
    row = SurveyResponse(request_id=req.id, comment=comment, **{f"u{i}": a for i, a in enumerate(answers, 1)})
    if at is not None:
        row.answered_at = at
    db.session.add(row)
    db.session.commit()
    return row
