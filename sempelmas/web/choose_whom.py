"""The pendamping's page choosing whom to act for: what each resident-side page (the resident's requests, their
complaints) shows a pendamping who has not chosen yet."""

from __future__ import annotations

from flask_login import current_user

from sempelmas.services.people import accounts
from sempelmas.web.acting import acting_id
from sempelmas.web.forms import EmptyForm
from sempelmas.web.htmx import render


def choose_whom_page():
    return render("resident/assisted.html", people=accounts.assisted_residents(current_user),
                  form=EmptyForm(), acting_id=acting_id())
