"""Locale and time-zone selection (Indonesian first, English second)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import get_translations

from sempelmas.domain.dates import tz_name_of
from sempelmas.services.kelurahan.profile import current_profile

LANG_COOKIE = "lang"
#: hours and minutes as each language writes them: 14.05 in Indonesian, 14:05 in English
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


def _translations():
    """The request's catalogue, looked up once per request instead of once per string."""
    if "_translations" not in g:
        g._translations = get_translations()
    return g._translations


def install_fast_template_gettext(app) -> None:
    """Templates call ``_()`` dozens of times a page; Flask-Babel resolves the catalogue each time."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
