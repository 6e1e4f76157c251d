"""What a signed-in user chose for themselves: the language their notices and messages use."""

from __future__ import annotations

from sempelmas.extensions import db


def remember_language(user, lang: str) -> bool:
    """Store ``lang`` (a configured language, checked by the caller) as ``user``'s language when they are signed
    in, so the bell and the e-mail / WhatsApp / push messages queued for them from now on use it (an anonymous
    visitor only gets the cookie). Commits; returns whether anything changed."""
    if not getattr(user, "is_authenticated", False) or user.lang == lang:
        return False
    user.lang = lang
    db.session.commit()
    return True
