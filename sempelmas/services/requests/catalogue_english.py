"""The catalogue's English texts: which text a reader sees, and the admin's English lines.

Every service, requirement and form field has an Indonesian text and, optionally, an English one. A reader who
chose English sees the English text where there is one and the Indonesian text where there is none. Letters
(PDF) never use the English texts: they are official documents in Indonesian (letter_context reads the
Indonesian keys only).

The admin writes the English texts of requirements and fields as lines keyed by the Indonesian line's code or
name, next to the Indonesian lines (services.requests.catalogue), so the Indonesian line format stays as it was:
    requirements: ``kode | English name``
    fields:       ``nama | English label | English help text | choice1;choice2`` (the choices of a choice field, in
                  the order of the Indonesian ones: only what the form shows changes, the answer kept and printed
                  in the letter is the Indonesian choice)
"""

from __future__ import annotations

from collections.abc import Mapping

from sempelmas.domain.i18n import lazy as _

#: the English texts' limits, as the Indonesian columns' (models.catalogue)
LABEL_MAX = 200
HELP_MAX = 300
#: the attributes that have an English twin ``<attr>_en``
TRANSLATED = ("name", "description", "label", "help_text")


def text_in(item, attr: str, lang: str) -> str:
    """``item``'s ``attr`` in ``lang``: the English text when ``lang`` is English and one is set, else the
    Indonesian one. ``item`` is a model row or a version snapshot's dict (requests keep snapshots)."""
    if isinstance(item, Mapping):
        english, indonesian = item.get(f"{attr}_en"), item.get(attr)
    else:
        english, indonesian = getattr(item, f"{attr}_en", None), getattr(item, attr, None)
    if lang == "en" and english:
        return english
    return indonesian if indonesian is not None else ""


def choices_in(field, lang: str) -> list[tuple[str, str]]:
    """A choice field's options as (the value answered, what the reader sees): the English words when the reader
    chose English and every choice has them, else the Indonesian choices themselves."""
    if isinstance(field, Mapping):
        values, english = field.get("choices") or [], field.get("choices_en") or []
    else:
        values, english = field.choices or [], field.choices_en or []
    if values and not isinstance(values[0], str):  # (code, text) pairs, already in the reader's words
        return [(code, text) for code, text in values]
    if lang == "en" and len(english) == len(values):
        return list(zip(values, english, strict=True))
    return [(value, value) for value in values]


def answer_in(field, value, lang: str):
    """An answer as the reader sees it: a choice in the reader's words, anything else as given."""
    kind = field.get("kind") if isinstance(field, Mapping) else field.kind
    if kind != "choice" or value in (None, ""):
        return value
    return dict(choices_in(field, lang)).get(value, value)


def labels_in(items, key: str, lang: str) -> dict[str, str]:
    """``{code or name: label in lang}`` for a snapshot's requirements (``key="code"``) or fields (``"name"``)."""
    return {item[key]: text_in(item, "label", lang) for item in items}


def _lines(text: str):
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, [p.strip() for p in line.split("|")]


def add_requirement_english(requirements: list[dict], text: str) -> list[str]:
    """Put the English names written as ``kode | English name`` on the parsed ``requirements``; the errors.

    Refuses a code the Indonesian lines do not have, a code written twice, a line without a name and a name
    longer than the column."""
    by_code = {r["code"]: r for r in requirements}
    errors: list[str] = []
    seen: set[str] = set()
    for n, parts in _lines(text):
        if len(parts) != 2 or not parts[1]:
            errors.append(_("Baris %(n)d: tulis kode | nama dokumen dalam bahasa Inggris.", n=n))
        elif parts[0] not in by_code:
            errors.append(_("Baris %(n)d: kode %(code)s tidak ada di daftar persyaratan.", n=n, code=parts[0]))
        elif parts[0] in seen:
            errors.append(_("Baris %(n)d: kode %(code)s sudah dipakai di baris lain.", n=n, code=parts[0]))
        elif len(parts[1]) > LABEL_MAX:
            errors.append(_("Baris %(n)d: teks terlalu panjang (paling banyak %(max)d karakter).", n=n,
                            max=LABEL_MAX))
        else:
            by_code[parts[0]]["label_en"] = parts[1]
        seen.add(parts[0])
    return errors


def add_field_english(fields: list[dict], text: str) -> list[str]:
    """Put the English texts written as ``nama | English label | English help | choices`` on the parsed
    ``fields``; the errors (as ``add_requirement_english``; the help text may be left out). A choice field's
    English choices, when given, are as many as its Indonesian ones."""
    by_name = {f["name"]: f for f in fields}
    errors: list[str] = []
    seen: set[str] = set()
    for n, parts in _lines(text):
        parts += [""] * (4 - len(parts))
        choices = [c.strip() for c in parts[3].split(";") if c.strip()]
        field = by_name.get(parts[0])
        if len(parts) > 4 or not parts[1]:
            errors.append(_("Baris %(n)d: tulis nama | label dalam bahasa Inggris | keterangan dalam bahasa "
                            "Inggris | pilihan dalam bahasa Inggris.", n=n))
        elif parts[0] not in by_name:
            errors.append(_("Baris %(n)d: nama %(name)s tidak ada di daftar isian.", n=n, name=parts[0]))
        elif parts[0] in seen:
            errors.append(_("Baris %(n)d: nama %(name)s sudah dipakai di baris lain.", n=n, name=parts[0]))
        elif len(parts[1]) > LABEL_MAX or len(parts[2]) > HELP_MAX:
            errors.append(_("Baris %(n)d: teks terlalu panjang (paling banyak %(max)d karakter).", n=n,
                            max=LABEL_MAX if len(parts[1]) > LABEL_MAX else HELP_MAX))
        elif choices and field["kind"] != "choice":
            errors.append(_("Baris %(n)d: pilihan hanya untuk jenis choice.", n=n))
        elif choices and len(choices) != len(field.get("choices") or []):
            errors.append(_("Baris %(n)d: tulis %(count)d pilihan dalam bahasa Inggris, dipisah titik koma, "
                            "urut seperti pilihan bahasa Indonesia.", n=n, count=len(field.get("choices") or [])))
        else:
            field.update(label_en=parts[1], help_text_en=parts[2] or None, choices_en=choices or None)
        seen.add(parts[0])
    return errors


def requirement_english_lines(requirements) -> str:
    """The admin's English lines for a service's requirements (those that have an English name)."""
    return "\n".join(f"{r.code} | {r.label_en}" for r in requirements if r.label_en)


def field_english_lines(fields) -> str:
    """The admin's English lines for a service's fields (those that have an English label)."""
    out = []
    for f in fields:
        if not f.label_en:
            continue
        parts = [f.name, f.label_en, f.help_text_en or "", ";".join(f.choices_en or [])]
        while parts[-1] == "":
            parts.pop()
        out.append(" | ".join(parts))
    return "\n".join(out)
