"""Locale and time-zone selection (Indonesian first, English second)."""

from __future__ import annotations

from flask import current_app, g, request

from sempelmas.domain.dates import tz_name_of
from sempelmas.services.kelurahan.profile import current_profile

LANG_COOKIE = "lang"


def select_locale() -> str:
    lang = request.cookies.get(LANG_COOKIE) if request else None
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return tz_name_of(current_profile())


def current_lang() -> str:
    if "lang" not in g:
        g.lang = select_locale()
    return g.lang
