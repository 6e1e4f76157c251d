"""Translation hook for the pure domain modules.

Domain rules must run without Flask (CLI import, tests), yet their messages are shown to users in
the chosen language. The app installs a translator (``install``; create_app installs Flask-Babel's, see
``sempelmas.extensions.babel_gettext``); without one, or when it has no catalogue to use (outside an app
context), the Indonesian source string is formatted as is. pybabel extracts calls to ``lazy``.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``translate(message, **params)`` → the translated text, or None to keep the Indonesian source
_translate: Callable[..., str | None] | None = None


def install(translate: Callable[..., str | None] | None) -> None:
    """Set the translator the domain's messages go through (None: the Indonesian source)."""
    global _translate
    _translate = translate


def lazy(message: str, **params) -> str:
    if _translate is not None:
        text = _translate(message, **params)
        if text is not None:
            return text
    return message % params if params else message
