"""The KTP photo of a registration form, kept across a refused submit (services/people/registration_uploads.py):
shared by the resident's own registration and the pendamping's."""

from __future__ import annotations

import secrets

from flask import current_app, session

from sempelmas.extensions import db
from sempelmas.services.files.uploads import UploadError
from sempelmas.services.people import registration_uploads
from sempelmas.services.people.registration_uploads import HeldPhotoError

#: the session key of the random value a held photo is bound to (only its hash is stored)
BINDING = "registration_binding"


def binding(*, create: bool = False) -> str | None:
    """This browser session's binding value (made on the first photo it uploads)."""
    value = session.get(BINDING)
    if value is None and create:
        value = session[BINDING] = secrets.token_urlsafe(24)
    return value


def keep_photo(form) -> bool:
    """After the form's validation, on a POST: a newly picked photo is checked and held (committed at once, so
    whatever refuses the form next does not take it); else the token the form carries must name a photo held for
    this session and not expired. Sets ``form.held_photo``; a refusal becomes the photo field's error (the token of
    an earlier photo that still holds stays). False when the photo given cannot be used."""
    upload = form.ktp_photo.data
    token = form.ktp_token.data or None
    if getattr(upload, "filename", ""):
        data = upload.stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
        try:
            held = registration_uploads.hold(data, binding(create=True), replacing=token)
        except UploadError as e:
            db.session.rollback()
            form.ktp_photo.errors = [*form.ktp_photo.errors, str(e)]
            _find(form, token)
            return False
        db.session.commit()
        _show_held(form, held)
        return True
    if token:
        return _find(form, token)
    return True


def _find(form, token: str | None) -> bool:
    if not token:
        return False
    try:
        _show_held(form, registration_uploads.find(token, binding()))
    except HeldPhotoError as e:
        form.held_photo, form.ktp_token.data = None, ""
        form.ktp_photo.errors = [*form.ktp_photo.errors, str(e.message)]
        return False
    return True


def _show_held(form, held) -> None:
    form.held_photo, form.ktp_token.data = held, held.token
    form.ktp_photo.flags.required = False  # the held photo is used: picking one is no longer needed


def claim_photo(form) -> str | None:
    """The held photo, copied into the registration being saved (kept only if it commits); None without one."""
    return registration_uploads.claim(form.held_photo) if form.held_photo is not None else None
