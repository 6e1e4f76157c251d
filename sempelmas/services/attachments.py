"""Request documents: photos re-encoded to JPEG, PDFs checked by content, stored under instance/uploads/.

The stored name is random (``secrets.token_urlsafe``) and is the only part of the download URL; the
route still checks access on every download (services.request_access).
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime, timedelta

from flask import current_app
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.services.uploads import UploadError, reencode_image, stored_path, upload_dir

KIND = "dokumen"
PDF_MIME = "application/pdf"
JPEG_MIME = "image/jpeg"
#: the paper pengantar RT/RW, uploaded where the RT has no account yet
PAPER_PENGANTAR = "pengantar_rt"


def check_pdf(data: bytes) -> None:
    """A real PDF: the magic bytes, then a parse that reaches every page. Refuses encrypted files
    (staff could not open them)."""
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise UploadError(_("Berkas bukan PDF yang valid."))
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UploadError(_("PDF terkunci kata sandi; unggah PDF tanpa kata sandi."))
        if len(reader.pages) == 0:
            raise UploadError(_("PDF tidak berisi halaman."))
        for page in reader.pages:
            page.mediabox  # noqa: B018  (touching each page makes a broken page tree fail here)
    except UploadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as e:
        raise UploadError(_("Berkas PDF rusak atau tidak dapat dibaca.")) from e


def prepare(data: bytes) -> tuple[bytes, str]:
    """Check and normalise one upload: (bytes to store, mime). PDF by content, anything else must be a photo."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise UploadError(_("Berkas terlalu besar (maksimal %(mb)d MB).", mb=limit // (1024 * 1024)))
    if not data:
        raise UploadError(_("Berkas kosong."))
    if data.lstrip()[:5].startswith(b"%PDF-"):
        check_pdf(data)
        return data, PDF_MIME
    try:
        return reencode_image(data), JPEG_MIME
    except UploadError as e:
        raise UploadError(_("Berkas harus foto (JPEG, PNG, WebP) atau PDF; isi berkas ini tidak dikenali.")) from e


def store(data: bytes, *, requirement_code: str, owner: User, uploaded_by: User | None = None,
          request: LetterRequest | None = None, draft_key: str | None = None) -> RequestAttachment:
    """Check, write the file and add its row (flushed, not committed). On a refusal nothing is written."""
    content, mime = prepare(data)
    name = secrets.token_urlsafe(24) + (".pdf" if mime == PDF_MIME else ".jpg")
    path = upload_dir(KIND) / name
    path.write_bytes(content)
    attachment = RequestAttachment(
        request_id=getattr(request, "id", None), draft_key=None if request is not None else draft_key,
        owner_user_id=owner.id, uploaded_by_id=(uploaded_by or owner).id, requirement_code=requirement_code,
        stored_name=name, mime=mime, size=len(content))
    db.session.add(attachment)
    try:
        db.session.flush()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return attachment


def path_of(attachment: RequestAttachment):
    return stored_path(KIND, attachment.stored_name)


def current(request: LetterRequest) -> list[RequestAttachment]:
    """The files in force (not replaced by a fix)."""
    return [a for a in request.attachments if a.superseded_at is None]


def supersede(attachment: RequestAttachment) -> None:
    attachment.superseded_at = utcnow()


def remove_files(names: list[str]) -> None:
    """Delete stored files whose rows were rolled back or removed (nothing half-saved stays behind)."""
    for name in names:
        path = stored_path(KIND, name)
        if path is not None:
            path.unlink(missing_ok=True)


def by_name(name: str) -> RequestAttachment | None:
    if not name or len(name) > 64:
        return None
    return db.session.query(RequestAttachment).filter_by(stored_name=name).one_or_none()



def drafts(draft_key: str | None, owner: User) -> list[RequestAttachment]:
    """The files uploaded with one form (its idempotency key) and not yet part of a request, oldest first."""
    if not draft_key:
        return []
    return list(db.session.query(RequestAttachment).filter_by(draft_key=draft_key, owner_user_id=owner.id,
                                                               request_id=None)
                .order_by(RequestAttachment.id))


def attach_to(attachment: RequestAttachment, request: LetterRequest) -> None:
    """A draft becomes part of the request it was uploaded for."""
    attachment.request = request
    attachment.draft_key = None


#: a form left unsent this long is abandoned: its uploads are deleted (personal documents are not kept idle)
DRAFT_MAX_AGE = timedelta(days=2)


def purge_abandoned_drafts(now: datetime | None = None, max_age: timedelta = DRAFT_MAX_AGE) -> int:
    """Delete draft uploads of forms never sent; commits, then removes the files. Returns how many."""
    cutoff = (now or utcnow()) - max_age
    stale = list(db.session.scalars(select(RequestAttachment).where(
        RequestAttachment.request_id.is_(None), RequestAttachment.uploaded_at < cutoff)))
    names = [a.stored_name for a in stale]
    for attachment in stale:
        db.session.delete(attachment)
    db.session.commit()
    remove_files(names)
    return len(names)
