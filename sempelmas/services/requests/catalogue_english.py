"""The catalogue's English texts: which text a reader sees, and the admin's English lines.

Every service, requirement and form field has an Indonesian text and, optionally, an English one. A reader who
chose English sees the English text where there is one and the Indonesian text where there is none. Letters
(PDF) never use the English texts: they are official documents in Indonesian (letter_context reads the
Indonesian keys only).

The admin writes the English texts of requirements and fields as lines keyed by the Indonesian line's code or
name, next to the Indonesian lines (services.requests.catalogue), so the Indonesian line format stays as it was:
    requirements: ``kode | English name``
    fields:       ``nama | English label | English help text``
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
    """Put the English labels and help written as ``nama | English label | English help`` on the parsed
    ``fields``; the errors (as ``add_requirement_english``; the help text may be left out)."""
    by_name = {f["name"]: f for f in fields}
    errors: list[str] = []
    seen: set[str] = set()
    for n, parts in _lines(text):
        if len(parts) not in (2, 3) or not parts[1]:
            errors.append(_("Baris %(n)d: tulis nama | label dalam bahasa Inggris | keterangan dalam bahasa "
                            "Inggris.", n=n))
        elif parts[0] not in by_name:
            errors.append(_("Baris %(n)d: nama %(name)s tidak ada di daftar isian.", n=n, name=parts[0]))
        elif parts[0] in seen:
            errors.append(_("Baris %(n)d: nama %(name)s sudah dipakai di baris lain.", n=n, name=parts[0]))
        elif len(parts[1]) > LABEL_MAX or (len(parts) == 3 and len(parts[2]) > HELP_MAX):
            errors.append(_("Baris %(n)d: teks terlalu panjang (paling banyak %(max)d karakter).", n=n,
                            max=LABEL_MAX if len(parts[1]) > LABEL_MAX else HELP_MAX))
        else:
            by_name[parts[0]]["label_en"] = parts[1]
            by_name[parts[0]]["help_text_en"] = parts[2] if len(parts) == 3 and parts[2] else None
        seen.add(parts[0])
    return errors


def requirement_english_lines(requirements) -> str:
    """The admin's English lines for a service's requirements (those that have an English name)."""
    return "\n".join(f"{r.code} | {r.label_en}" for r in requirements if r.label_en)


def field_english_lines(fields) -> str:
    """The admin's English lines for a service's fields (those that have an English label)."""
    return "\n".join(" | ".join([f.name, f.label_en] + ([f.help_text_en] if f.help_text_en else []))
                     for f in fields if f.label_en)
