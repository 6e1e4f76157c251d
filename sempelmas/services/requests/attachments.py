"""Request documents: photos re-encoded to JPEG, PDFs checked by content, stored under instance/uploads/.

The stored name is random (``secrets.token_urlsafe``) and is the only part of the download URL; the
route still checks access on every download (services.access).
"""

from __future__ import annotations

import io
import secrets
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, select

from sempelmas.domain import pdf_shape
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.services.accountability import audit
from sempelmas.services.files import isolation
from sempelmas.services.files.uploads import (
    DOCUMENTS,
    ImageTooLarge,
    UploadError,
    reencode_image,
    store_file,
    stored_path,
)

KIND = DOCUMENTS
PDF_MIME = "application/pdf"
JPEG_MIME = "image/jpeg"
#: the paper pengantar RT/RW, uploaded where the RT has no account yet
PAPER_PENGANTAR = "pengantar_rt"


class DraftQuotaFull(UploadError):
    """The account's files of forms not yet sent would pass DRAFT_UPLOAD_QUOTA_MB."""


def _is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5].startswith(b"%PDF-")


def _read_pdf(data: bytes) -> str:
    """pypdf reaches every page: "ok", "encrypted", "no_pages" or "broken". Runs in the isolated child."""
    from pypdf import PdfReader  # loaded by the parent before the fork (below): free here

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "encrypted"
        if len(reader.pages) == 0:
            return "no_pages"
        for page in reader.pages:
            page.mediabox  # noqa: B018  (touching each page makes a broken page tree fail here)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many types for a broken file
        return "broken"
    return "ok"


def check_pdf(data: bytes) -> None:
    """A real PDF: the magic bytes, then a parse that reaches every page. Refuses encrypted files
    (staff could not open them).

    The work is bounded first: a file with more revisions than UPLOAD_PDF_MAX_REVISIONS is refused from a
    count of its bytes, and the parse runs in a child with UPLOAD_PDF_CHECK_SECONDS / _MEMORY_MB
    (services/files/isolation.py): a small file made to be slow or huge to parse is refused, not endured."""
    if not _is_pdf(data):
        raise UploadError(_("Berkas bukan PDF yang valid."))
    cfg = current_app.config
    revisions = pdf_shape.revisions(data)
    if revisions > cfg["UPLOAD_PDF_MAX_REVISIONS"]:
        raise UploadError(_("PDF ini memuat %(n)d lapis perubahan (revisi), paling banyak %(max)d. Simpan ulang "
                            "sebagai PDF baru (misalnya \u201cCetak \u2192 Simpan sebagai PDF\u201d) lalu unggah "
                            "hasilnya.", n=revisions, max=cfg["UPLOAD_PDF_MAX_REVISIONS"]))
    # pypdf (~16 MB) is imported by the first worker that checks a PDF, not by every process at start (issue 17),
    # and before the fork: the child then has it already (no ~170 ms import under its memory limit)
    import pypdf  # noqa: F401

    try:
        verdict = isolation.run_isolated(_read_pdf, data, wall_seconds=cfg["UPLOAD_PDF_CHECK_SECONDS"],
                                         memory_bytes=cfg["UPLOAD_PDF_CHECK_MEMORY_MB"] * 1024 * 1024)
    except isolation.BudgetExceeded:
        raise UploadError(_("PDF ini tidak dapat diperiksa: membacanya memerlukan waktu atau memori melebihi "
                            "batas. Simpan ulang sebagai PDF baru (misalnya \u201cCetak \u2192 Simpan sebagai "
                            "PDF\u201d) lalu unggah hasilnya.")) from None
    if verdict == "encrypted":
        raise UploadError(_("PDF terkunci kata sandi; unggah PDF tanpa kata sandi."))
    if verdict == "no_pages":
        raise UploadError(_("PDF tidak berisi halaman."))
    if verdict != "ok":
        raise UploadError(_("Berkas PDF rusak atau tidak dapat dibaca."))


def prepare(data: bytes) -> tuple[bytes, str]:
    """Check and normalise one upload: (bytes to store, mime). PDF by content, anything else must be a photo."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise UploadError(_("Berkas terlalu besar (maksimal %(mb)d MB).", mb=limit // (1024 * 1024)))
    if not data:
        raise UploadError(_("Berkas kosong."))
    if _is_pdf(data):
        check_pdf(data)
        return data, PDF_MIME
    try:
        return reencode_image(data), JPEG_MIME
    except ImageTooLarge:
        raise  # a photo after all: its own message says what to do
    except UploadError as e:
        raise UploadError(_("Berkas harus foto (JPEG, PNG, WebP) atau PDF; isi berkas ini tidak dikenali.")) from e


def draft_bytes(owner: User, *, besides: tuple[str, str] | None = None) -> int:
    """What the account's files of forms not yet sent take on disk; ``besides`` = (draft key, requirement code)
    of a draft about to be replaced, which is left out."""
    stmt = select(func.coalesce(func.sum(RequestAttachment.size), 0)).where(
        RequestAttachment.owner_user_id == owner.id, RequestAttachment.request_id.is_(None))
    if besides is not None:
        key, code = besides
        stmt = stmt.where(~and_(RequestAttachment.draft_key == key, RequestAttachment.requirement_code == code))
    return int(db.session.scalar(stmt) or 0)


def _quota_full(quota_mb: int) -> DraftQuotaFull:
    return DraftQuotaFull(_(
        "Ruang berkas sementara akun ini penuh (paling banyak %(mb)d MB berkas dari formulir yang belum "
        "dikirim). Kirim dulu permohonan yang sedang diisi; berkas dari formulir yang tidak dikirim dihapus "
        "otomatis setelah %(days)d hari.", mb=quota_mb, days=DRAFT_MAX_AGE.days))


def store(data: bytes, *, requirement_code: str, owner: User, uploaded_by: User | None = None,
          request: LetterRequest | None = None, draft_key: str | None = None) -> RequestAttachment:
    """Check, write the file and add its row (flushed, not committed). On a refusal nothing is written; the file
    stays only if the caller's transaction commits (``uploads.store_file``).

    A draft (no request yet) counts against the owner's DRAFT_UPLOAD_QUOTA_MB, the replaced draft of the
    same form and requirement left out: a full quota, or a PDF (stored as it came) that would pass it, is
    refused before any parsing; a photo that would pass it after re-encoding (its stored size is known only
    then). Submitting the form (its drafts become the
    request's), replacing a draft and the purge of forms unsent for DRAFT_MAX_AGE free the quota."""
    quota = None
    if request is None:
        quota_mb = current_app.config["DRAFT_UPLOAD_QUOTA_MB"]
        quota = quota_mb * 1024 * 1024
        used = draft_bytes(owner, besides=(draft_key, requirement_code) if draft_key else None)
        # a PDF is stored as it came: its size is known before any check
        if used >= quota or (_is_pdf(data) and used + len(data) > quota):
            raise _quota_full(quota_mb)
    content, mime = prepare(data)
    if quota is not None and used + len(content) > quota:
        raise _quota_full(quota_mb)
    name = secrets.token_urlsafe(24) + (".pdf" if mime == PDF_MIME else ".jpg")
    store_file(KIND, name, content)  # deleted again unless the caller's transaction commits
    attachment = RequestAttachment(
        request_id=getattr(request, "id", None), draft_key=None if request is not None else draft_key,
        owner_user_id=owner.id, uploaded_by_id=(uploaded_by or owner).id, requirement_code=requirement_code,
        stored_name=name, mime=mime, size=len(content))
    db.session.add(attachment)
    db.session.flush()
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
#: drafts purged per committed batch (its audit entry commits with its deletions)
PURGE_BATCH = 500


def purge_abandoned_drafts(now: datetime | None = None, max_age: timedelta = DRAFT_MAX_AGE) -> int:
    """Delete the uploads of forms never sent (older than ``max_age``); returns how many. Commits.

    Audited as retention is: in batches of PURGE_BATCH, each batch's deleted rows and its own
    ``upload.drafts_purged`` entry (counts: files, bytes, forms, accounts, files per requirement; the batch's
    number and the run's start; no name, stored name or account) commit together, and only then are its files
    deleted. A run killed midway leaves exactly the entries of what it deleted; a file whose row went in a
    committed batch but that a kill left on disk is named by no row, so the upload sweep deletes it. Nothing
    due: no entry (it runs hourly)."""
    now = now or utcnow()
    cutoff = now - max_age
    started = now.isoformat(timespec="seconds")
    purged = batch = 0
    while True:
        stale = list(db.session.scalars(
            select(RequestAttachment).where(RequestAttachment.request_id.is_(None),
                                            RequestAttachment.uploaded_at < cutoff)
            .order_by(RequestAttachment.id).limit(PURGE_BATCH)))
        if not stale:
            db.session.rollback()
            return purged
        batch += 1
        names = [a.stored_name for a in stale]
        audit.record("upload.drafts_purged", None, object_type="attachments", object_id="drafts",
                     files=len(stale), bytes=sum(a.size or 0 for a in stale),
                     forms=len({(a.owner_user_id, a.draft_key) for a in stale}),
                     accounts=len({a.owner_user_id for a in stale}),
                     by_requirement=dict(sorted(Counter(a.requirement_code for a in stale).items())),
                     max_age_days=max_age.days, batch=batch, run_started=started)
        for attachment in stale:
            db.session.delete(attachment)
        db.session.commit()
        remove_files(names)
        purged += len(names)
