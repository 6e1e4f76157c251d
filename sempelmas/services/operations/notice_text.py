"""A notice's words as a message key plus values, rendered in the reader's language when shown or sent.

A notice is stored as its Indonesian msgid (``Notification.message_key``) and its values
(``Notification.message_values``, JSON), so the bell shows it in the language its reader chose, whatever language
the person whose action caused it was using; e-mail, WhatsApp and push are rendered in the recipient's language
(``User.lang``) when queued (services/operations/outbox.py). The Indonesian text is stored as well
(``Notification.message``: the data export, and rows older than the key show it as before).

Values are plain (a tracking number, a name, a reason as typed) or codes rendered in the reader's language too:
``status(code)`` (a request status), ``word(label)`` (a lazy label), ``service_of(snapshot)`` (a service's
Indonesian and English names) and ``Msg`` (a whole message, e.g. "Alasan: …"). Callers write ``_("…", tn=…)`` with
``_ = msg`` so pybabel still extracts the msgids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import force_locale, get_locale
from flask_babel import gettext as babel_gettext

from sempelmas.models.notifications import Notification
from sempelmas.services.requests import lifecycle
from sempelmas.services.requests.catalogue_english import text_in


@dataclass(frozen=True)
class Msg:
    """A message to render later: its Indonesian msgid, its values, and messages that follow it (" Alasan: …")."""

    key: str
    values: dict = field(default_factory=dict)
    then: tuple[Msg, ...] = ()

    def __add__(self, other: Msg | None) -> Msg:
        return self if other is None else Msg(self.key, self.values, (*self.then, other))

    def to_json(self) -> dict:
        data = {k: _value_json(v) for k, v in self.values.items()}
        if self.then:
            data["_then"] = [m.to_json_pair() for m in self.then]
        return data

    def to_json_pair(self) -> list:
        return [self.key, self.to_json()]

    def __str__(self) -> str:
        """The text in the active locale."""
        return render(self.key, self.to_json())


def msg(key: str, **values) -> Msg:
    """``_`` in notify.py: the message ``key`` (an Indonesian msgid) with its values, rendered later."""
    return Msg(key, values)


def status(code: str) -> dict:
    """A request status, shown with its label in the reader's language."""
    return {"status": str(code)}


def service_of(snapshot: Mapping) -> dict:
    """A request's service, shown with its name in the reader's language (the snapshot's English name, if any)."""
    return {"service": {"name": snapshot.get("name") or snapshot.get("code", ""),
                        "name_en": snapshot.get("name_en") or None}}


def word(label) -> dict:
    """A translatable label (a lazy ``_l("…")``, e.g. a data request's kind), shown in the reader's language."""
    return {"word": in_lang(label, "id")}


def _value_json(value):
    if isinstance(value, Msg):
        return {"msg": value.to_json_pair()}
    if isinstance(value, dict | int | float) or value is None:
        return value
    return str(value)


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "id"


def _resolve(value, lang: str):
    if isinstance(value, dict):
        if "status" in value:
            return lifecycle.status_label(value["status"])
        if "service" in value:
            return text_in(value["service"], "name", lang)
        if "word" in value:
            return babel_gettext(value["word"])
        if "msg" in value:
            key, values = value["msg"]
            return render(key, values)
    return value


def render(key: str, values: Mapping | None) -> str:
    """The message ``key`` with ``values`` (their JSON form) in the active locale."""
    values = dict(values or {})
    then = values.pop("_then", [])
    lang = _lang()
    text = babel_gettext(key, **{k: _resolve(v, lang) for k, v in values.items()})
    return text + "".join(" " + render(k, v) for k, v in then)


def in_lang(text: Msg | str, lang: str | None) -> str:
    """``text`` rendered in ``lang`` (a user's language; Indonesian when unknown, or when the translation does not
    fit its values: a broken catalogue entry never blocks the change that queued the message)."""
    try:
        with force_locale(lang or "id"):
            return str(text)
    except (KeyError, ValueError, TypeError):
        if not lang or lang == "id":
            raise
        return in_lang(text, "id")


def fill(row: Notification, text: Msg | str) -> Notification:
    """Put ``text`` on a bell row: the key and values, and the Indonesian text."""
    if isinstance(text, Msg):
        row.message_key, row.message_values = text.key, text.to_json()
    row.message = in_lang(text, "id")
    return row


def shown(row: Notification) -> str:
    """A bell row's text in the active locale (the reader's): rendered from its key, or the stored text of an
    older row (or of a key no longer rendering, e.g. a value missing)."""
    if not row.message_key:
        return row.message
    try:
        return render(row.message_key, row.message_values)
    except (KeyError, ValueError, TypeError):
        return row.message
