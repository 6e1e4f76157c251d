"""Whom the current request acts for: the signed-in resident, or the resident a pendamping assists.

Every action taken for someone else is audited with both the actor and the person acted for.
"""

from __future__ import annotations

from flask import session
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User

ACTING_KEY = "acting_for"


def acting_resident() -> User | None:
    if current_user.has_role(Role.ASSISTANT) and session.get(ACTING_KEY):
        user = db.session.get(User, session[ACTING_KEY])
        if user is not None and user.assisted_by_id == current_user.id:
            return user
        session.pop(ACTING_KEY, None)
    if current_user.is_resident:
        return current_user
    return None


def start_acting(user: User) -> None:
    session[ACTING_KEY] = user.id


def stop_acting() -> int | None:
    return session.pop(ACTING_KEY, None)


def acting_id() -> int | None:
    return session.get(ACTING_KEY)
