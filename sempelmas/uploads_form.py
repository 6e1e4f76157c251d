"""Saving a photo from a form's file field, turning a refusal into that field's error."""

from __future__ import annotations

from sempelmas.services.uploads import UploadError, save_image


def save_form_photo(field, kind: str) -> str | None:
    """Store the uploaded photo (re-encoded); None when there is none or it was refused."""
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return save_image(kind, upload.read())
    except UploadError as e:
        field.errors = [*field.errors, str(e)]
        return None
