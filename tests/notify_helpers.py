"""The people the notification tests notify, and a user's bell."""

from __future__ import annotations

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import Notification
from tests.request_factory import make_profile, make_service


def make_people(factory) -> dict:
    """An applicant with e-mail and phone, the pendamping who registered her, RT/RW heads of her area and of
    another, two staff members and a signer (committed)."""
    make_profile()
    make_service()
    applicant = factory.warga(name="SITI AMINAH", female=True, phone="+6281234567890")
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    applicant.email = "siti@example.org"
    applicant.assisted_by_id = helper.id
    helper.email = "pendamping@example.org"
    rt = factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001")
    rt.email = "rt@example.org"
    p = {
        "applicant": applicant, "helper": helper, "rt": rt,
        "other_rt": factory.staff(Role.RT_HEAD, "rt2", rt="002", rw="001"),
        "rw": factory.staff(Role.RW_HEAD, "rw1", rw="001"),
        "other_rw": factory.staff(Role.RW_HEAD, "rw2", rw="002"),
        "staff": factory.staff(Role.STAFF, "loket1"),
        "staff2": factory.staff(Role.STAFF, "loket2"),
        "signer": factory.staff(Role.SIGNER, "lurah"),
    }
    db.session.commit()
    return p


def inbox(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))
