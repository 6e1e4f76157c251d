"""Staff review of a letter request: what the review screen shows, and the staff actions.

Status changes go through services.requests.lifecycle.transition (which checks the status, the role, the
reason and the version); this module adds what only the staff side needs: the fix request must
name at least one field or file of the request, and internal notes.

Any staff member may act on a request, also after someone else claimed it: the office is small and
a colleague must be able to finish a request when the claimer is away. The screen shows who handles
it, and every action is recorded under the name of the one who took it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.requests import InternalNote, LetterRequest, RequestAttachment
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import audit
from sempelmas.services.people import residents
from sempelmas.services.requests import attachments, catalogue_english, declared_data, lifecycle
from sempelmas.services.requests.lifecycle import RequestError


class ReviewError(RequestError):
    """A staff input refused before the lifecycle is asked; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class Requirement:
    code: str
    label: str
    required: bool
    paper_original_allowed: bool
    files: list[RequestAttachment] = field(default_factory=list)
    #: the catalogue's English name, when set (``|localized("label")``)
    label_en: str | None = None

    @property
    def missing(self) -> bool:
        return not self.files


@dataclass
class Answer:
    name: str
    label: str
    value: object
    #: the catalogue's English label, when set (``|localized("label")``)
    label_en: str | None = None


def answers(request: LetterRequest) -> list[Answer]:
    """The answers with the labels of the form they were given on (the request's snapshot), in form order;
    an answer to a field the snapshot no longer names is still shown, under its name."""
    snap_fields = request.service_snapshot.get("fields", [])
    given = dict(request.answers or {})
    out = [Answer(f["name"], f["label"], given.pop(f["name"], None), f.get("label_en")) for f in snap_fields]
    out += [Answer(name, name, value) for name, value in given.items()]
    return out


def requirements(request: LetterRequest) -> list[Requirement]:
    """Each requirement of the snapshot with the files in force for it; the paper pengantar when the request
    needs one; files for a code the snapshot does not know are listed last."""
    current = attachments.current(request)
    items = [Requirement(r["code"], r["label"], bool(r.get("required")), bool(r.get("paper_original_allowed")),
                         label_en=r.get("label_en"))
             for r in request.service_snapshot.get("requirements", [])]
    known = {r.code for r in items}
    paper = request.needs_paper_pengantar or any(a.requirement_code == attachments.PAPER_PENGANTAR for a in current)
    if paper and attachments.PAPER_PENGANTAR not in known:
        items.append(Requirement(attachments.PAPER_PENGANTAR, str(_("Surat pengantar RT/RW (kertas)")), True, True))
    by_code = {r.code: r for r in items}
    for a in current:
        if a.requirement_code not in by_code:
            extra = Requirement(a.requirement_code, a.requirement_code, False, False)
            items.append(extra)
            by_code[a.requirement_code] = extra
        by_code[a.requirement_code].files.append(a)
    return items


def nik_warnings(request: LetterRequest) -> list[str]:
    """The NIK findings of the applicant's registration (date or gender disagreeing with what was typed)."""
    registration = request.applicant.registration
    return list(registration.nik_warnings or []) if registration is not None else []


def household(request: LetterRequest) -> list[Resident]:
    """Everyone on the subject's KK in the register."""
    return residents.household(request.subject.kk_number)


def fix_choices(request: LetterRequest, lang: str = "id") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(fields, files) staff may name in a fix request: the snapshot's fields, and its requirements
    (with the paper pengantar when the request needs one), labelled in ``lang``."""
    fields = [(f["name"], catalogue_english.text_in(f, "label", lang))
              for f in request.service_snapshot.get("fields", [])]
    files = [(r.code, catalogue_english.text_in(r, "label", lang)) for r in requirements(request)]
    return fields, files


def ask_fix(request: LetterRequest, actor: User, *, reason: str | None, fields: list[str], files: list[str],
            expected_version: int | None) -> None:
    """Send the request back to the resident to fix.

    Refuses (ReviewError) a fix naming no field and no file, or naming one the request does not have;
    the reason and everything else is the lifecycle's (TransitionError, NotPermittedError,
    ConcurrentUpdateError).
    """
    field_codes, file_codes = (dict(c) for c in fix_choices(request))
    fields = [f for f in dict.fromkeys(fields or [])]
    files = [f for f in dict.fromkeys(files or [])]
    if not fields and not files:
        raise ReviewError(str(_("Pilih minimal satu isian atau berkas yang perlu diperbaiki.")), "fields")
    unknown = [f for f in fields if f not in field_codes] + [f for f in files if f not in file_codes]
    if unknown:
        raise ReviewError(str(_("Isian atau berkas tidak dikenal: %(names)s.", names=", ".join(unknown))), "fields")
    lifecycle.transition(request, "ask_fix", actor=actor, note=reason, expected_version=expected_version,
                         fields=fields, files=files)


def act(request: LetterRequest, action: str, actor: User, *, reason: str | None = None,
        expected_version: int | None = None) -> None:
    """claim, reject or forward_to_signing, through the lifecycle (which enforces every rule). Forwarding is
    refused (ReviewError) while a value the applicant gave is unchecked (declared_data.forward_blocker)."""
    if action not in ("claim", "reject", "forward_to_signing"):
        raise ValueError(f"not a staff review action: {action!r}")
    if action == "forward_to_signing" and lifecycle.target(request, action) is not None:
        blocker = declared_data.forward_blocker(request)
        if blocker:
            raise ReviewError(blocker)
    lifecycle.transition(request, action, actor=actor, note=reason, expected_version=expected_version)


def add_note(request: LetterRequest, actor: User, text: str | None) -> InternalNote:
    """An internal note (never shown to the resident); refuses an empty one. Audited as "request.note".

    A note changes nothing the others could overwrite, so it takes no version check and does not
    bump the request's version.
    """
    text = (text or "").strip()
    if not text:
        raise ReviewError(str(_("Catatan tidak boleh kosong.")), "text")
    note = InternalNote(request_id=request.id, author_id=actor.id, text=text)
    db.session.add(note)
    audit.record("request.note", request, actor=actor, tracking_number=request.tracking_number, note=text)
    db.session.flush()
    return note
