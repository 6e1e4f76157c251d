"""Translation hook for the pure domain modules.

Domain rules must run without Flask (CLI import, tests), yet their messages are shown to users in
the chosen language. The app installs a translator (``install``; create_app installs Flask-Babel's, see
``sempelmas.extensions.babel_gettext``); without one, or when it has no catalogue to use (outside an app
context), the Indonesian source string is formatted as is. pybabel extracts calls to ``lazy`` and ``ngettext``
(a number with its unit: "1 working day", "2 working days"; Indonesian writes both the same).
"""

from __future__ import annotations

from collections.abc import Callable

#: ``translate(message, **params)`` → the translated text, or None to keep the Indonesian source
_translate: Callable[..., str | None] | None = None
#: ``translate_plural(singular, plural, num, **params)`` → the translated text, or None
_translate_plural: Callable[..., str | None] | None = None


def install(translate: Callable[..., str | None] | None,
            translate_plural: Callable[..., str | None] | None = None) -> None:
    """Set the translators the domain's messages go through (None: the Indonesian source)."""
    global _translate, _translate_plural
    _translate, _translate_plural = translate, translate_plural


def lazy(message: str, **params) -> str:
    if _translate is not None:
        text = _translate(message, **params)
        if text is not None:
            return text
    return message % params if params else message


def ngettext(singular: str, plural: str, num: int, **params) -> str:
    """A message with a count, in the form the language uses for ``num`` (``%(num)d`` in the message is ``num``)."""
    if _translate_plural is not None:
        text = _translate_plural(singular, plural, num, **params)
        if text is not None:
            return text
    return (singular if num == 1 else plural) % {"num": num, **params}
