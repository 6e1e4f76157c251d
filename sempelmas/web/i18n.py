"""Locale and time-zone selection (Indonesian first, English second)."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_login import current_user

from sempelmas.domain.dates import tz_name_of
from sempelmas.services.kelurahan.profile import current_profile

LANG_COOKIE = "lang"
#: pages read mostly by people who are not residents (a bank, a school, the police scanning a letter's QR code):
#: without a chosen language they follow the browser's. The residents' app stays Indonesian first.
BROWSER_LANGUAGE_BLUEPRINTS = frozenset({"verify"})


def select_locale() -> str:
    """The language chosen with the switch (cookie); else the signed-in user's stored choice (``users.lang``, set
    by the switch: a new phone follows it); else, on the public verification page, the browser's
    (Accept-Language); else Indonesian."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not request:
        return default
    lang = request.cookies.get(LANG_COOKIE)
    if lang in current_app.config["LANGUAGES"]:
        return lang
    stored = getattr(current_user, "lang", None) if has_request_context() else None
    if stored in current_app.config["LANGUAGES"] and stored != default:
        return stored
    if request.blueprint in BROWSER_LANGUAGE_BLUEPRINTS:
        return request.accept_languages.best_match(current_app.config["LANGUAGES"], default=default)
    return default


def set_language_cookie(response, lang: str):
    """Remember the reader's language choice for a year (the switch on every page)."""
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def select_timezone() -> str:
    return tz_name_of(current_profile())


def current_lang() -> str:
    if "lang" not in g:
        g.lang = select_locale()
    return g.lang
