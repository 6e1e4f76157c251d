"""Uploaded documents: re-encoded server-side, stored outside static/, served only after a check."""

from __future__ import annotations

import io
import secrets
import warnings
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from sempelmas.domain.i18n import lazy as _

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}


class UploadError(ValueError):
    pass


def upload_dir(kind: str) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def reencode_image(data: bytes) -> bytes:
    """JPEG/PNG/WebP in, JPEG out: EXIF (GPS!) dropped, orientation applied, long side ≤ limit.

    Refuses what is not one of those formats by content (whatever the file name says), a corrupt
    image, and a decompression bomb (more pixels than Pillow's MAX_IMAGE_PIXELS).
    """
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise UploadError(_("Berkas terlalu besar (maksimal %(mb)d MB).", mb=limit // (1024 * 1024)))
    if not data:
        raise UploadError(_("Berkas kosong."))
    try:
        with warnings.catch_warnings():
            # over MAX_IMAGE_PIXELS Pillow only warns (twice that, it refuses): refuse both
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                probe.verify()
            if fmt not in IMAGE_FORMATS:
                raise UploadError(_("Berkas harus foto JPEG, PNG atau WebP."))
            img = Image.open(io.BytesIO(data))
        side = current_app.config["IMAGE_MAX_SIDE"]
        if fmt == "JPEG":
            # decode a camera photo at 1/2, 1/4 or 1/8 scale straight from the DCT (several times faster
            # than decoding 12 megapixels and shrinking them); the size asked keeps the aspect ratio,
            # so the result is never smaller than the final long side
            w, h = img.size
            factor = min(1.0, side / max(w, h))
            img.draft("RGB", (max(1, int(w * factor)), max(1, int(h * factor))))
        img.thumbnail((side, side))
        img = ImageOps.exif_transpose(img)  # after shrinking: rotating 12 megapixels costs as much as decoding
        if img.mode not in ("RGB", "L"):
            background = Image.new("RGB", img.size, "white")
            rgba = img.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            img = background
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)  # no exif= : metadata is not copied
        return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:
        if isinstance(e, UploadError):
            raise
        raise UploadError(_("Berkas bukan foto yang valid (isi berkas tidak dikenali sebagai gambar).")) from e


def save_image(kind: str, data: bytes) -> str:
    """Re-encode and store; returns the random stored name (never the user's file name)."""
    jpeg = reencode_image(data)
    name = secrets.token_hex(16) + ".jpg"
    (upload_dir(kind) / name).write_bytes(jpeg)
    return name


def stored_path(kind: str, name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = upload_dir(kind) / name
    return path if path.is_file() else None


def discard(kind: str, name: str | None) -> None:
    """Remove a stored file whose record was not saved (nothing half-saved stays behind)."""
    path = stored_path(kind, name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)
