"""Which of the subject's register data a service's letter prints: found by rendering its template (the admin's
edit included) with a ``person`` that notes what is read, so a template that never prints the religion never
makes anyone type it, and one an admin changed to print the occupation asks for it from then on."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sempelmas.services.letters import kop as kop_surat
from sempelmas.services.letters.letter_context import build_context
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.letters.templates import render_template_html

#: a key of the letter's ``person`` → the Resident attributes it is made of (name, NIK and KK are never missing;
#: the citizenship prints "WNI" when the register has none)
PERSON_SOURCES: dict[str, tuple[str, ...]] = {
    "birth": ("birth_place", "birth_date"),
    "birth_place": ("birth_place",),
    "birth_date": ("birth_date",),
    "gender": ("gender",),
    "religion": ("religion",),
    "marital_status": ("marital_status",),
    "occupation": ("occupation",),
    "address": ("address",),
    "street": ("address",),
}
ALL_SOURCES = frozenset(a for attrs in PERSON_SOURCES.values() for a in attrs)

_SAMPLE = dict(full_name="CONTOH", nik="3576030000000000", kk_number="3576030000000000", birth_place="CONTOH",
               birth_date=date(2000, 1, 1), gender="L", address="CONTOH", rt="001", rw="001", religion="CONTOH",
               marital_status="CONTOH", occupation="CONTOH", citizenship="WNI")


class _Reading(dict):
    """The letter's ``person``, noting which keys the template reads (Jinja's ``person.x`` falls back to
    ``person["x"]``); a template walking the whole dict reads everything."""

    def __init__(self, data: dict):
        super().__init__(data)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def _everything(self):
        self.read.update(self.keys())

    def items(self):
        self._everything()
        return super().items()

    def values(self):
        self._everything()
        return super().values()

    def __iter__(self):
        self._everything()
        return super().__iter__()


class _AnyAnswer(dict):
    """The answers for the probe: a field the form does not have (yet) reads as empty, so a template written for
    other answers still shows which person data it prints."""

    def __init__(self, data: dict, empty):
        super().__init__(data)
        self.empty = empty

    def __missing__(self, key):
        return self.empty


def person_fields_needed(snapshot: dict, answers: dict | None = None, profile=None) -> frozenset[str] | None:
    """The Resident attributes (``PERSON_SOURCES``) the letter of ``snapshot`` prints for these ``answers``;
    None when its template does not render (the caller then assumes every one: better asked than a "-")."""
    profile = profile if profile is not None else kop_surat.placeholder_profile()
    context = build_context(profile=profile, resident=SimpleNamespace(**_SAMPLE), snapshot=snapshot,
                            answers=answers or {}, endorsements=[], paper_pengantar=False, number=None,
                            signed_at=None, official=None, capacity="", verify_url=None, officials=[])
    person = _Reading(context["person"])
    context["person"] = person
    context["a"], context["answers"] = _AnyAnswer(context["a"], "-"), _AnyAnswer(context["answers"], None)
    try:
        render_template_html(snapshot.get("letter_template") or "", context)
    except LetterRenderError:
        return None
    return frozenset(a for key in person.read for a in PERSON_SOURCES.get(key, ()))
