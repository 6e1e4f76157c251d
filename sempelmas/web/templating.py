"""Template globals and filters: profile, dates in the profile's time zone, masking."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import flask_babel
from babel import Locale
from flask import Flask
from jinja2 import pass_context
from markupsafe import Markup

from sempelmas.domain.masking import mask_name, mask_nik
from sempelmas.models.accounts import ACCOUNT_STATUS_LABELS, ROLE_LABELS, Role
from sempelmas.models.catalogue import service_time_text
from sempelmas.services.requests import catalogue_english, lifecycle


@lru_cache(maxsize=8)
def _month_names(lang: str) -> dict[int, str]:
    """The months as ``MMMM`` writes them in ``lang`` (Babel's CLDR data, read once per language)."""
    return dict(Locale.parse(lang).months["format"]["wide"])


def _date_long(value: date | None) -> str:
    """27 November 2026 (in the chosen locale): Babel's ``d MMMM yyyy``, without parsing the pattern again."""
    if not value:
        return ""
    from sempelmas.web.i18n import current_lang

    return f"{value.day} {_month_names(current_lang())[value.month]} {value.year:04d}"


def _datetime_local(value: datetime | None) -> str:
    """A stored UTC timestamp shown in the profile's time zone: 27 November 2026 14.05 WIB (14:05 in English).

    What ``format_datetime(value, "d MMMM yyyy HH.mm")`` gives in the time zone Babel is set to
    (``i18n.select_timezone``), built directly: pages show dozens of these, and Babel's formatter cost
    ~0.1 ms each (the locale, the time zone and the pattern looked up on every call)."""
    if not value:
        return ""
    from sempelmas.domain.dates import clock
    from sempelmas.services.kelurahan.profile import current_profile
    from sempelmas.web.i18n import current_lang, select_timezone

    profile = current_profile()
    tz_label = profile.timezone if profile else "WIB"
    lang = current_lang()
    local = (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(_zone(select_timezone()))
    return f"{local.day} {_month_names(lang)[local.month]} {local.year:04d} {clock(local, lang)} {tz_label}"


def _localized(item, attr: str) -> str:
    """``{{ service|localized("name") }}``: the English text to a reader who chose English, where one is set."""
    from sempelmas.web.i18n import current_lang

    return catalogue_english.text_in(item, attr, current_lang())


def _localized_choices(field) -> list[tuple[str, str]]:
    """``{% for value, label in f|localized_choices %}``: a choice field's options in the reader's words."""
    from sempelmas.web.i18n import current_lang

    return catalogue_english.choices_in(field, current_lang())


def _localized_answer(field, value):
    """``{{ f|localized_answer(value) }}``: a choice answered, in the reader's words."""
    from sempelmas.web.i18n import current_lang

    return catalogue_english.answer_in(field, value, current_lang())


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def register(app: Flask) -> None:
    app.jinja_env.filters["date_long"] = _date_long
    app.jinja_env.filters["datetime_local"] = _datetime_local
    app.jinja_env.filters["mask_nik"] = mask_nik
    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
    app.jinja_env.globals["ACCOUNT_STATUS_LABELS"] = ACCOUNT_STATUS_LABELS
    app.jinja_env.globals["Role"] = Role
    # the endorsements in force: a return to the resident voids the earlier ones (services.requests.lifecycle)
    app.jinja_env.filters["current_endorsements"] = lifecycle.current_endorsements
    # a catalogue text (service name, label, help) in the reader's language: services.requests.catalogue_english
    app.jinja_env.filters["localized"] = _localized
    app.jinja_env.filters["localized_choices"] = _localized_choices
    app.jinja_env.filters["localized_answer"] = _localized_answer
    app.jinja_env.globals["service_time_text"] = service_time_text  # "1 working day", "2 working days"

    @app.context_processor
    def _globals():
        from sempelmas.services.kelurahan.profile import current_profile
        from sempelmas.web.i18n import current_lang

        return {"profile": current_profile(), "current_lang": current_lang(), **_translators()}


def _translators() -> dict:
    """``_()``/``gettext`` and ``ngettext`` for one render, bound to the catalogue of the language in force.

    The same as what Flask-Babel installs (Jinja's "newstyle" gettext: escaped, always %-formatted), except
    that Flask-Babel's looks the locale and catalogue up again on every call (~11 µs; a page has 40-100 of
    them, ~1 ms). Macros imported without context still use Flask-Babel's. Measured in bench/bench_pages.py."""
    translations = flask_babel.get_translations()

    @pass_context
    def gettext(context, string, **variables):
        rv = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 - our own catalogue, as Jinja does
        return rv % variables

    @pass_context
    def ngettext(context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        rv = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            rv = Markup(rv)  # noqa: S704 - our own catalogue, as Jinja does
        return rv % variables

    return {"gettext": gettext, "ngettext": ngettext}
