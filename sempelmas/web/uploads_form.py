"""Saving a photo from a form's file field, turning a refusal into that field's error."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from sempelmas.services.files.uploads import UploadError, save_image


def save_form_photo(field, kind: str, *, name_the_file: bool = False) -> str | None:
    """Store the uploaded photo (re-encoded); None when there is none or it was refused.

    ``name_the_file``: the refusal names the file and says the rest of the form is kept (for forms whose
    photo is optional and whose other fields are long to type again).
    """
    upload = field.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    try:
        return save_image(kind, upload.stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1))
    except UploadError as e:
        message = str(e)
        if name_the_file:
            message = _("Foto %(name)s ditolak: %(reason)s Isian lain tetap tersimpan; pilih foto lain atau kirim "
                        "tanpa foto.", name=upload.filename.rsplit("/", 1)[-1][:80], reason=message)
        field.errors = [*field.errors, message]
        return None
