"""The service catalogue: listing, saving with versions, the admin's line format, checking answers."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.dates import parse_date
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db
from sempelmas.models.catalogue import (
    FIELD_KINDS,
    REQUESTERS,
    TIME_UNITS,
    Service,
    ServiceField,
    ServiceRequirement,
    ServiceVersion,
)
from sempelmas.services.accountability import audit

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
CLASSIFICATION_RE = re.compile(r"^[0-9]{3}(\.[0-9]{1,3}){0,4}$")
#: default length limits when a field sets none
TEXT_MAX = 200
LONG_TEXT_MAX = 2000
SERVICE_ATTRS = (
    "code", "name", "description", "who_may_request", "needs_rt_endorsement",
    "paper_pengantar_when_no_rt_account", "service_time_value", "service_time_unit",
    "classification_code", "letter_template", "validity_days", "enabled", "sort_order", "number_format",
    "name_en", "description_en",
)
#: path segments under /admin/layanan/ that are not service codes
RESERVED_CODES = {"baru"}
YES = {"ya", "y", "wajib", "boleh", "1", "true"}
NO = {"tidak", "t", "opsional", "0", "false", ""}


class CatalogueError(Exception):
    """A refused service definition; ``errors`` maps a form field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


# ------------------------------------------------------------------ reading

def enabled_services(*, with_requirements: bool = False) -> list[Service]:
    """The services residents may request, in catalogue order; ``with_requirements``: their requirements loaded
    with them (one more statement, not one per service)."""
    stmt = select(Service).where(Service.enabled.is_(True)).order_by(Service.sort_order, Service.name)
    if with_requirements:
        stmt = stmt.options(selectinload(Service.requirements))
    return list(db.session.scalars(stmt))


def all_services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.sort_order, Service.name)))


def get_service(code: str, *, enabled_only: bool = True) -> Service | None:
    stmt = select(Service).where(Service.code == code)
    if enabled_only:
        stmt = stmt.where(Service.enabled.is_(True))
    return db.session.scalar(stmt)


def current_version(service: Service) -> ServiceVersion | None:
    """The snapshot a request submitted now would keep."""
    return db.session.scalar(select(ServiceVersion).where(
        ServiceVersion.service_id == service.id, ServiceVersion.version == service.version))


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Service))


def snapshot(service: Service) -> dict:
    """Everything a request needs to know about the service, as plain JSON."""
    return {
        **{name: getattr(service, name) for name in SERVICE_ATTRS},
        "version": service.version,
        "requirements": [
            {"code": r.code, "label": r.label, "label_en": r.label_en, "required": r.required,
             "paper_original_allowed": r.paper_original_allowed}
            for r in service.requirements
        ],
        "fields": [
            {"name": f.name, "label": f.label, "label_en": f.label_en, "kind": f.kind, "required": f.required,
             "choices": list(f.choices or []), "choices_en": list(f.choices_en or []),
             "help_text": f.help_text, "help_text_en": f.help_text_en,
             "max_length": f.max_length}
            for f in service.fields
        ],
    }


# ------------------------------------------------------------------ saving

def save_service(service: Service | None, data: Mapping, requirements: list[dict], fields: list[dict],
                 *, actor=None) -> Service:
    """Create or change a service with its requirements and fields; bumps the version.

    Refuses (CatalogueError) a code that is taken or not an identifier, an unknown time unit or
    requester, duplicate requirement codes or field names, a field name that is not an identifier,
    an unknown field kind and a choice field without choices. Writes a ServiceVersion snapshot and
    an audit entry; flushes, never commits.
    """
    errors = _check_definition(service, data, requirements, fields)
    if errors:
        raise CatalogueError(errors)
    is_new = service is None
    if service is None:
        service = Service(code=data["code"], name="", classification_code="", letter_template="", version=0)
        db.session.add(service)
    before = snapshot(service) if not is_new else {}
    for name in SERVICE_ATTRS:
        if name == "code" and not is_new:
            continue  # the code is in URLs and in requests: fixed once created
        if name in data:
            setattr(service, name, (data[name] or "").strip() if name.endswith("_en") else data[name])
    # the unit of work inserts before it deletes: drop the old rows first or (service, code) collides
    service.requirements.clear()
    service.fields.clear()
    db.session.flush()
    service.requirements = [
        ServiceRequirement(code=r["code"], label=r["label"], label_en=r.get("label_en") or None,
                           required=bool(r.get("required", True)),
                           paper_original_allowed=bool(r.get("paper_original_allowed", False)), sort_order=i)
        for i, r in enumerate(requirements)
    ]
    service.fields = [
        ServiceField(name=f["name"], label=f["label"], label_en=f.get("label_en") or None, kind=f["kind"],
                     required=bool(f.get("required", True)), choices=list(f.get("choices") or []) or None,
                     choices_en=list(f.get("choices_en") or []) or None,
                     help_text=f.get("help_text") or None, help_text_en=f.get("help_text_en") or None,
                     max_length=f.get("max_length") or None, sort_order=i)
        for i, f in enumerate(fields)
    ]
    service.version = (service.version or 0) + 1
    db.session.flush()
    after = snapshot(service)
    db.session.add(ServiceVersion(service_id=service.id, version=service.version, snapshot=after,
                                  created_by_id=getattr(actor, "id", actor)))
    changes = {k: [before.get(k), v] for k, v in after.items()
               if k not in ("version", "requirements", "fields") and before.get(k) != v}
    for part in ("requirements", "fields"):
        if before.get(part) != after[part]:
            changes[part] = "diubah" if not is_new else "baru"
    audit.record("catalogue.create" if is_new else "catalogue.update", service, actor=actor,
                 version=service.version, changes=changes)
    db.session.flush()
    return service


def _check_definition(service, data, requirements, fields) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def err(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if service is None:
        code = data.get("code") or ""
        if not CODE_RE.match(code):
            err("code", _("Kode 2–40 huruf kecil, angka atau garis bawah, diawali huruf."))
        elif code in RESERVED_CODES:
            err("code", _("Kode %(code)s dipakai oleh halaman lain; pilih kode lain.", code=code))
        elif get_service(code, enabled_only=False) is not None:
            err("code", _("Kode %(code)s sudah dipakai layanan lain.", code=code))
    if not (data.get("name") or "").strip() and (service is None or "name" in data):
        err("name", _("Wajib diisi."))
    if data.get("who_may_request", "warga") not in REQUESTERS:
        err("who_may_request", _("Pilihan tidak valid."))
    if data.get("service_time_unit", "hari_kerja") not in TIME_UNITS:
        err("service_time_unit", _("Pilihan tidak valid."))
    if "service_time_value" in data and not (isinstance(data["service_time_value"], int)
                                             and data["service_time_value"] >= 1):
        err("service_time_value", _("Waktu layanan minimal 1."))
    if "classification_code" in data and not CLASSIFICATION_RE.match(data["classification_code"] or ""):
        err("classification_code", _("Kode klasifikasi seperti 470 atau 474.1 atau 400.12.2.1."))
    if "letter_template" in data and not CODE_RE.match(data["letter_template"] or ""):
        err("letter_template", _("Nama templat 2–40 huruf kecil, angka atau garis bawah, diawali huruf."))
    if (data.get("number_format") or "").strip():
        from sempelmas.services.letters.numbering import check_format

        problem = check_format(data["number_format"])
        if problem:
            err("number_format", problem)
    seen: set[str] = set()
    for i, r in enumerate(requirements, 1):
        if not CODE_RE.match(r.get("code") or ""):
            err("requirements", _("Persyaratan %(n)d: kode harus huruf kecil, angka atau garis bawah.", n=i))
        elif r["code"] in seen:
            err("requirements", _("Persyaratan %(n)d: kode %(code)s dipakai dua kali.", n=i, code=r["code"]))
        seen.add(r.get("code") or "")
        if not (r.get("label") or "").strip():
            err("requirements", _("Persyaratan %(n)d: nama dokumen wajib diisi.", n=i))
    seen = set()
    for i, f in enumerate(fields, 1):
        name = f.get("name") or ""
        if not CODE_RE.match(name):
            err("fields", _("Isian %(n)d: nama harus huruf kecil, angka atau garis bawah, diawali huruf.", n=i))
        elif name in seen:
            err("fields", _("Isian %(n)d: nama %(name)s dipakai dua kali.", n=i, name=name))
        seen.add(name)
        if not (f.get("label") or "").strip():
            err("fields", _("Isian %(n)d: label wajib diisi.", n=i))
        if f.get("kind") not in FIELD_KINDS:
            err("fields", _("Isian %(n)d: jenis harus salah satu dari %(kinds)s.", n=i, kinds=", ".join(FIELD_KINDS)))
        elif f["kind"] == "choice" and not f.get("choices"):
            err("fields", _("Isian %(n)d: jenis pilihan memerlukan daftar pilihan.", n=i))
    return errors


# ------------------------------------------------------------------ the admin's line format

def _parts(line: str) -> list[str]:
    return [p.strip() for p in line.split("|")]


def _yes_no(value: str, default: bool) -> bool | None:
    v = value.strip().lower()
    if not v:
        return default
    if v in YES:
        return True
    if v in NO:
        return False
    return None


def _lines(text: str):
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, line


def parse_requirement_lines(text: str) -> tuple[list[dict], list[str]]:
    """Lines "kode | nama dokumen | wajib (ya/tidak) | boleh bawa asli (ya/tidak)" → requirements, errors."""
    items, errors = [], []
    for n, line in _lines(text):
        p = _parts(line)
        if len(p) < 2 or len(p) > 4:
            errors.append(_("Baris %(n)d: tulis kode | nama dokumen | wajib | boleh asli.", n=n))
            continue
        p += [""] * (4 - len(p))
        required, paper = _yes_no(p[2], True), _yes_no(p[3], False)
        bad = False
        if not CODE_RE.match(p[0]):
            errors.append(_("Baris %(n)d: kode \"%(code)s\" harus huruf kecil, angka atau garis bawah.",
                            n=n, code=p[0]))
            bad = True
        if not p[1]:
            errors.append(_("Baris %(n)d: nama dokumen wajib diisi.", n=n))
            bad = True
        if required is None:
            errors.append(_("Baris %(n)d: kolom wajib harus \"ya\" atau \"tidak\".", n=n))
            bad = True
        if paper is None:
            errors.append(_("Baris %(n)d: kolom boleh asli harus \"ya\" atau \"tidak\".", n=n))
            bad = True
        if any(i["code"] == p[0] for i in items):
            errors.append(_("Baris %(n)d: kode %(code)s sudah dipakai di baris lain.", n=n, code=p[0]))
            bad = True
        if not bad:
            items.append({"code": p[0], "label": p[1], "required": required, "paper_original_allowed": paper})
    return items, errors


def parse_field_lines(text: str) -> tuple[list[dict], list[str]]:
    """Lines "nama | label | jenis | wajib | pilihan1;pilihan2 | panjang maks | keterangan" → fields, errors."""
    items, errors = [], []
    for n, line in _lines(text):
        p = _parts(line)
        if len(p) < 3 or len(p) > 7:
            errors.append(_("Baris %(n)d: tulis nama | label | jenis | wajib | pilihan | panjang maks | keterangan.",
                            n=n))
            continue
        p += [""] * (7 - len(p))
        name, label, kind = p[0], p[1], p[2].lower()
        required = _yes_no(p[3], True)
        choices = [c.strip() for c in p[4].split(";") if c.strip()]
        bad = False
        if not CODE_RE.match(name):
            errors.append(_("Baris %(n)d: nama \"%(name)s\" harus huruf kecil, angka atau garis bawah, "
                            "diawali huruf.", n=n, name=name))
            bad = True
        elif any(i["name"] == name for i in items):
            errors.append(_("Baris %(n)d: nama %(name)s sudah dipakai di baris lain.", n=n, name=name))
            bad = True
        if not label:
            errors.append(_("Baris %(n)d: label wajib diisi.", n=n))
            bad = True
        if kind not in FIELD_KINDS:
            errors.append(_("Baris %(n)d: jenis \"%(kind)s\" tidak dikenal; pilih %(kinds)s.", n=n, kind=p[2],
                            kinds=", ".join(FIELD_KINDS)))
            bad = True
        elif kind == "choice" and not choices:
            errors.append(_("Baris %(n)d: jenis choice memerlukan pilihan, dipisah titik koma.", n=n))
            bad = True
        elif kind != "choice" and choices:
            errors.append(_("Baris %(n)d: pilihan hanya untuk jenis choice.", n=n))
            bad = True
        if required is None:
            errors.append(_("Baris %(n)d: kolom wajib harus \"ya\" atau \"tidak\".", n=n))
            bad = True
        max_length = None
        if p[5]:
            max_length = digit_rules.to_int(p[5], low=1)
            if max_length is None:
                errors.append(_("Baris %(n)d: panjang maks harus bilangan bulat positif.", n=n))
                bad = True
        if not bad:
            items.append({"name": name, "label": label, "kind": kind, "required": required,
                          "choices": choices, "max_length": max_length, "help_text": p[6] or None})
    return items, errors


def requirement_lines(requirements) -> str:
    return "\n".join(
        f"{r.code} | {r.label} | {'ya' if r.required else 'tidak'} | {'ya' if r.paper_original_allowed else 'tidak'}"
        for r in requirements)


def field_lines(fields) -> str:
    out = []
    for f in fields:
        parts = [f.name, f.label, f.kind, "ya" if f.required else "tidak", ";".join(f.choices or []),
                 str(f.max_length or ""), f.help_text or ""]
        while parts and parts[-1] == "":
            parts.pop()
        out.append(" | ".join(parts))
    return "\n".join(out)


# ------------------------------------------------------------------ answers

TIME_RE = re.compile(r"^([0-9]{1,2})[:.]([0-9]{2})$")


def validate_answers(snapshot: Mapping, form_data: Mapping) -> tuple[dict, dict[str, str]]:
    """Check a resident's answers against the fields of a service version.

    Returns the cleaned values (dates as ISO strings, times as HH:MM, numbers as int, NIKs as 16
    digits, empty optional answers as None) and one Indonesian message per wrong field.
    Fields the snapshot does not define are ignored.
    """
    clean: dict = {}
    errors: dict[str, str] = {}
    for f in snapshot.get("fields", []):
        name, kind = f["name"], f["kind"]
        raw = form_data.get(name)
        # control characters go first (they would pass a length check and reach the letter); a line break
        # is kept for the one-line check below to name
        value = clean_text(raw if isinstance(raw, str) else "" if raw is None else str(raw), multiline=True).strip()
        if not value:
            if f.get("required", True):
                errors[name] = _("Wajib diisi.")
            else:
                clean[name] = None
            continue
        if kind in ("text", "long_text"):
            limit = f.get("max_length") or (TEXT_MAX if kind == "text" else LONG_TEXT_MAX)
            if len(value) > limit:
                errors[name] = _("Paling banyak %(max)d karakter (yang diisi %(n)d).", max=limit, n=len(value))
            elif kind == "text" and "\n" in value:
                errors[name] = _("Isian ini hanya satu baris.")
            else:
                clean[name] = value
        elif kind == "date":
            try:
                clean[name] = parse_date(value).isoformat()
            except ValueError:
                errors[name] = _("Tanggal tidak valid; tulis HH/BB/TTTT, contoh 17/08/2026.")
        elif kind == "time":
            m = TIME_RE.match(digit_rules.normalise(value))
            if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                errors[name] = _("Jam tidak valid; tulis JJ:MM, contoh 08:30.")
            else:
                clean[name] = f"{int(m.group(1)):02d}:{m.group(2)}"
        elif kind == "number":
            number = digit_rules.to_int(value, high=999_999_999)
            if number is None:
                errors[name] = _("Harus berupa bilangan bulat.")
            else:
                clean[name] = number
        elif kind == "choice":
            if value not in (f.get("choices") or []):
                errors[name] = _("Pilih salah satu: %(choices)s.", choices=", ".join(f.get("choices") or []))
            else:
                clean[name] = value
        elif kind == "nik":
            try:
                clean[name] = nik_rules.check_format(value)
            except nik_rules.NikError as e:
                errors[name] = e.message
    return clean, errors
