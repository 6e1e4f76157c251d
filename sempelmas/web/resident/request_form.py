"""The request form's plumbing, shared by the new-request and the fix screens: reading typed answers
from the posted form and keeping each accepted upload at once as a draft file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import abort, current_app
from flask_babel import gettext as _

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.requests import RequestAttachment
from sempelmas.services.files.uploads import UploadError
from sempelmas.services.requests import attachments
from sempelmas.services.requests.lifecycle import RequestError
from sempelmas.services.requests.submission import AnswersError, FilesError

ANSWER_PREFIX = "f_"
FILE_PREFIX = "berkas_"
ORIGINAL_PREFIX = "asli_"
T = TypeVar("T")


@dataclass
class FormState:
    """What the resident typed and uploaded so far, and what is wrong with it: re-rendered as is."""

    answers: dict[str, str] = field(default_factory=dict)
    brought: set[str] = field(default_factory=set)
    drafts: dict[str, RequestAttachment] = field(default_factory=dict)
    field_errors: dict[str, str] = field(default_factory=dict)
    file_errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    #: what the letter needs and the register lacks, typed on the form (by attribute), and the questions asked
    declared: dict[str, str] = field(default_factory=dict)
    questions: list | None = None
    #: requirement codes the registration's KTP photo fills (services/requests/registered_ktp.py)
    reused: set[str] = field(default_factory=set)

    @property
    def has_errors(self) -> bool:
        return bool(self.field_errors or self.file_errors or self.message)


def save(state: FormState, action: Callable[[], T]) -> T | None:
    """Run ``action`` (the service call that saves the form) and commit; on a refusal roll back, put it where
    the form shows it (answers by field, documents by requirement, anything else in ``state.message``) and
    return None. The one mapping from the services' refusals to the request forms."""
    try:
        result = action()
    except RequestError as e:
        db.session.rollback()
        if isinstance(e, AnswersError):
            state.field_errors.update(e.errors)
        elif isinstance(e, FilesError):
            state.file_errors.update(e.errors)
        else:
            state.message = e.message
        return None
    db.session.commit()
    return result


def with_drafts(state: FormState, key: str, owner: User) -> FormState:
    """``state`` with the files uploaded under the form's ``key`` so far."""
    state.drafts = {d.requirement_code: d for d in attachments.drafts(key, owner)}
    return state


#: the shape of the one-time key the form carries (secrets.token_urlsafe(24) when it was opened)
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_form_key(value: str | None) -> bool:
    return bool(value) and _FORM_KEY.fullmatch(value) is not None


def posted_key(value: str | None) -> str:
    """The form's key as posted; 400 when it is missing or not one the form could have made (the key names
    the drafts in the database, so nothing else reaches a query)."""
    if not is_form_key(value):
        abort(400)
    return value


def posted_answers(form, fields: list[dict]) -> dict[str, str]:
    return {f["name"]: form.get(ANSWER_PREFIX + f["name"], "") for f in fields}


def posted_originals(form, requirements: list[dict]) -> set[str]:
    return {r["code"] for r in requirements
            if r.get("paper_original_allowed") and form.get(ORIGINAL_PREFIX + r["code"])}


def max_files() -> int:
    return current_app.config["UPLOAD_MAX_FILES"]


def accept_uploads(files, codes: list[str], *, draft_key: str, owner: User, uploaded_by: User,
                   occupied: set[str] = frozenset()) -> tuple[dict[str, RequestAttachment], dict[str, str]]:
    """Store every acceptable file posted for ``codes`` as a draft (committed at once, so a mistake
    elsewhere in the form never loses it); a new file for a requirement replaces that draft. If the commit
    fails, the files stored go with their rows (uploads.store_file) and the replaced drafts stay.

    Returns (drafts by requirement code, refusals by code). A refused file leaves nothing behind.
    ``occupied`` are requirement codes that already hold a file outside the drafts (a fix), counted
    against the per-request limit.
    """
    current = {d.requirement_code: d for d in attachments.drafts(draft_key, owner)}
    errors: dict[str, str] = {}
    replaced: list[str] = []
    limit = max_files()
    byte_limit = current_app.config["UPLOAD_MAX_BYTES"]
    for code in codes:
        upload = files.get(FILE_PREFIX + code)
        if upload is None or not upload.filename:
            continue
        name = upload.filename.rsplit("/", 1)[-1][:80]
        in_use = set(current) | set(occupied)
        if code not in in_use and len(in_use) >= limit:
            errors[code] = _("%(name)s tidak disimpan: paling banyak %(n)d berkas per permohonan.", name=name, n=limit)
            continue
        data = upload.stream.read(byte_limit + 1)
        try:
            stored = attachments.store(data, requirement_code=code, owner=owner, uploaded_by=uploaded_by,
                                       draft_key=draft_key)
        except UploadError as e:
            errors[code] = _("%(name)s ditolak: %(reason)s", name=name, reason=str(e))
            continue
        old = current.get(code)
        if old is not None:
            replaced.append(old.stored_name)
            db.session.delete(old)
        current[code] = stored
    db.session.commit()
    attachments.remove_files(replaced)
    return current, errors
