"""Fetching what a URL names, or 404: a row by its id, a letter request by its tracking number.

404 both when it does not exist and when the one asking may not see it, so a screen never reveals that
someone else's request or account exists. Who may see what is decided in ``sempelmas.services.access``;
callers pass that check as ``allowed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort

from sempelmas.extensions import db
from sempelmas.models.requests import LetterRequest
from sempelmas.services import access
from sempelmas.services.requests import submission
from sempelmas.web.acting import acting_resident

T = TypeVar("T")


def get_or_404(model: type[T], ident, *, allowed: Callable[[T], bool] | None = None) -> T:
    """The ``model`` row with primary key ``ident``; 404 when there is none or ``allowed`` says no."""
    found = db.session.get(model, ident)
    if found is None or (allowed is not None and not allowed(found)):
        abort(404)
    return found


def request_or_404(tracking_number: str, *,
                   allowed: Callable[[LetterRequest], bool] | None = None) -> LetterRequest:
    """The request with this tracking number however it was typed (case, full-width digits); 404 when there
    is none or ``allowed`` says the one asking may not see it."""
    found = submission.find_by_tracking_number(tracking_number)
    if found is None or (allowed is not None and not allowed(found)):
        abort(404)
    return found


def resident_request_or_404(tracking_number: str) -> LetterRequest:
    """The request, if the resident signed in (or the one a pendamping acts for) may follow it; else 404."""
    resident_user = acting_resident()
    return request_or_404(tracking_number, allowed=lambda found: resident_user is not None and access.can_view(
        resident_user, found, acting_for=resident_user))
