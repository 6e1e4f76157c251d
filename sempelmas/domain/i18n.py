"""Translation hook for the pure domain modules.

Domain rules must run without Flask (CLI import, tests), yet their messages are shown to users in
the chosen language. Inside a Flask app context the message goes through Flask-Babel; outside it,
the Indonesian source string is formatted as is. pybabel extracts calls to ``lazy``.
"""

from __future__ import annotations


def lazy(message: str, **params) -> str:
    try:
        from flask import has_app_context
    except ImportError:  # pragma: no cover - Flask is always installed with the app
        has_app_context = None
    if has_app_context is not None and has_app_context():
        from flask_babel import gettext

        return gettext(message, **params)
    return message % params if params else message
