"""The help page (/bantuan) and the template filters that make the office reachable in one tap.

The phone and WhatsApp numbers are the kelurahan profile's (services/kelurahan/profile.py): ``tel:`` for the
phone, ``https://wa.me/62…`` for WhatsApp (set by the admin; a landline is not guessed to be on WhatsApp). A
letter's verification link is shared with the letter's title and number only (no name, no NIK): whoever gets
it sees what the public verification page shows, masked.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _

from sempelmas.domain import phone
from sempelmas.services.letters import issuing
from sempelmas.web.htmx import render

bp = Blueprint("office", __name__)


@bp.app_template_filter("tel_href")
def tel_href(value: str | None) -> str | None:
    return phone.tel_uri(value)


@bp.app_template_filter("wa_href")
def wa_href(value: str | None) -> str | None:
    return phone.wa_me(value)


@bp.app_template_global("letter_share")
def letter_share(letter, service_name: str) -> dict:
    """What sharing a letter says: its title and number, and the address of its public verification page."""
    return {"url": issuing.verify_url(letter.verify_code),
            "title": _("%(service)s nomor %(number)s", service=service_name, number=letter.number),
            "text": _("Periksa keaslian surat %(service)s nomor %(number)s:", service=service_name,
                      number=letter.number)}


@bp.get("/bantuan")
def help_page():
    """How to get help: the office's phone, WhatsApp, address and hours, and where to ask about a request."""
    return render("office/help.html")
