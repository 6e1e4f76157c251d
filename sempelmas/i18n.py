"""Locale and time-zone selection (Indonesian first, English second)."""

from __future__ import annotations

from flask import current_app, g, request

from sempelmas.services.profile import current_profile

LANG_COOKIE = "lang"
#: hours and minutes as each language writes them: 14.05 in Indonesian, 14:05 in English
TIME_SEPARATOR = {"id": ".", "en": ":"}


def clock(value, lang: str) -> str:
    """``HH.mm`` / ``HH:mm`` of a datetime or time in the given language."""
    return f"{value:%H}{TIME_SEPARATOR.get(lang, '.')}{value:%M}"


def select_locale() -> str:
    lang = request.cookies.get(LANG_COOKIE) if request else None
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    profile = current_profile()
    return profile.tz_name if profile else "Asia/Jakarta"


def current_lang() -> str:
    if "lang" not in g:
        g.lang = select_locale()
    return g.lang
