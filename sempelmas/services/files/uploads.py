"""Uploaded documents: re-encoded server-side, stored outside static/, served only after a check.

Every upload is stored under UPLOAD_DIR/<kind>/<random name> by ``store_file`` and named by one row (the
kinds below; ``upload_store`` knows which). The file is written before its row, because its content must pass
its checks before a record is worth saving, and it belongs to the transaction that saves that row: kept if the
transaction commits, deleted if it ends any other way (a refusal after the write, an audit or a flush that
fails, a request that dies with a 500). Two cases leave the decision to the sweep (``upload_store.sweep``, which
keeps every file a committed row names and deletes the others once no transaction can still commit them): a
process killed in between, and a COMMIT that failed after it reached the database (its outcome unknown)."""

from __future__ import annotations

import io
import logging
import os
import secrets
import struct
import warnings
import weakref
from pathlib import Path

from flask import current_app, has_request_context, request
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db

#: the folders of UPLOAD_DIR, one per kind of upload (and the row that names each file: upload_store.OWNERS)
KTP = "ktp"  # registrations.ktp_photo
KTP_PENDING = "ktp_pending"  # registration_uploads.stored_name: held across a refused registration, an hour at most
DOCUMENTS = "dokumen"  # request_attachments.stored_name
COMPLAINT_PHOTOS = "complaints"  # complaints.photo
QUESTION_PHOTOS = "questions"  # request_messages.photo
CORRECTION_EVIDENCE = "pdp"  # data_rights_requests.evidence_photo
IMPORTS = "imports"  # jobs.import_file: a register file (CSV/XLSX) uploaded for an import, kept until it is done with

#: what Pillow may try to read an upload as (no other plugin parses it); MPO, the multi-picture JPEG many
#: phones write, is found by the JPEG reader
OPEN_FORMATS = ("JPEG", "PNG", "WEBP")
IMAGE_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}
MB = 1024 * 1024
_SPENT = "sempelmas.image_decode_bytes"


class UploadError(ValueError):
    pass


class ImageTooLarge(UploadError):
    """Refused before decoding: the photo (or the photos of one request together) would take more memory
    and time than their budget. The message says so; it is never "not a photo"."""


def upload_dir(kind: str) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def _bytes_per_pixel(mode: str) -> int:
    """What Pillow keeps in memory per pixel: one byte for 1/L/P, two for 16-bit grey, four otherwise (RGB
    too: Pillow stores three bands in 32-bit pixels)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _jpeg_coefficients(img) -> int:
    """A progressive JPEG is decoded from a buffer of every DCT coefficient at full size (two bytes each, per
    component after chroma subsampling), whatever the scale asked: ``draft`` does not shrink that."""
    if not (img.info.get("progressive") or img.info.get("progression")):
        return 0
    w, h = img.size
    layers = getattr(img, "layer", None) or []
    if not layers:
        return w * h * 2 * max(1, getattr(img, "layers", 3))
    hmax = max(layer[1] for layer in layers) or 1
    vmax = max(layer[2] for layer in layers) or 1
    return sum(2 * -(-w * max(1, layer[1]) // hmax) * -(-h * max(1, layer[2]) // vmax) for layer in layers)


def decode_cost(img, fmt: str, side: int, coefficients: int = 0) -> int:
    """Bytes a worker holds at the peak of decoding and shrinking ``img`` (opened, not decoded; a JPEG after
    ``draft``), from its header: the decoded pixels, the copies made on the way, the resize's half-way image.

    Measured on Pillow 13 (bench/bench_hostile_files.py): WebP is held three times (libwebp's canvas, the
    frame handed to Python, Pillow's image); resizing an image with alpha first makes a premultiplied copy;
    the two-pass resize keeps a band of the target width and the full height; then the shrunk picture (and,
    with alpha, its copy on a white background)."""
    w, h = img.size
    alpha = img.mode in ("RGBA", "LA", "PA")
    copies = (3 if fmt == "WEBP" else 1) + (1 if alpha else 0)
    scale = min(1.0, side / max(w, h))
    half_way = int(w * scale) * h * 4 if scale < 1 else 0
    shrunk = max(1, int(w * scale)) * max(1, int(h * scale)) * 4 * (2 if alpha else 1)
    return w * h * _bytes_per_pixel(img.mode) * copies + half_way + shrunk + coefficients


def _megapixels_within(budget: int, cost: int, pixels: int) -> int:
    """About how many megapixels of this kind of image the budget allows (for the message)."""
    return max(1, int(pixels * budget / max(cost, 1) / 1_000_000))


def _charge(cost: int, size: tuple[int, int]) -> None:
    """Spend ``cost`` bytes of decoding: refused over the photo's budget, or over what all the photos of one
    HTTP request may spend together (a form with several photos)."""
    cfg = current_app.config
    budget = cfg["IMAGE_MAX_DECODE_MB"] * MB
    if cost > budget:
        w, h = size
        raise ImageTooLarge(_("Gambar terlalu besar untuk diproses: %(w)d × %(h)d piksel. Gambar seperti ini "
                              "paling banyak sekitar %(mp)d megapiksel: perkecil gambarnya, atau kirim foto "
                              "JPEG langsung dari kamera.", w=w, h=h,
                              mp=_megapixels_within(budget, cost, w * h)))
    if not has_request_context():  # a command or a job: one photo at a time, no request to bound
        return
    # kept in the WSGI environ: it lives exactly as long as the request (``g`` may outlive it)
    spent = request.environ.get(_SPENT, 0) + cost
    if spent > cfg["IMAGE_REQUEST_MAX_DECODE_MB"] * MB:
        raise ImageTooLarge(_("Terlalu banyak gambar besar dalam satu kiriman: gambar ini belum diproses. "
                              "Unggah lagi pada kiriman berikutnya."))
    request.environ[_SPENT] = spent


def reencode_image(data: bytes) -> bytes:
    """JPEG/MPO/PNG/WebP in, JPEG out: EXIF (GPS!) dropped, orientation applied, long side ≤ limit.

    Refuses what is not one of those formats by content (whatever the file name says) and a corrupt image.
    The work is bounded before the pixels are decoded, from the header alone: a JPEG is decoded at 1/2, 1/4
    or 1/8 scale (``draft``), and an image whose decoding would still take more than IMAGE_MAX_DECODE_MB (or
    push the request past IMAGE_REQUEST_MAX_DECODE_MB) is refused with ImageTooLarge. Of a multi-picture
    file (MPO, animated PNG/WebP) only the first picture is kept.
    """
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise UploadError(_("Berkas terlalu besar (maksimal %(mb)d MB).", mb=limit // MB))
    if not data:
        raise UploadError(_("Berkas kosong."))
    try:
        with warnings.catch_warnings():
            # over MAX_IMAGE_PIXELS Pillow only warns (twice that, it refuses): refuse both
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=OPEN_FORMATS) as probe:
                fmt = probe.format
                probe.verify()
            if fmt not in IMAGE_FORMATS:
                raise UploadError(_("Berkas harus foto JPEG, PNG atau WebP."))
            img = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(_("Gambar terlalu besar untuk diproses: lebih dari %(mp)d megapiksel. Perkecil "
                              "gambarnya, atau kirim foto JPEG langsung dari kamera.",
                              mp=Image.MAX_IMAGE_PIXELS // 1_000_000)) from None
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as e:
        raise UploadError(_("Berkas bukan foto yang valid (isi berkas tidak dikenali sebagai gambar).")) from e
    with img:
        original = img.size
        side = current_app.config["IMAGE_MAX_SIDE"]
        coefficients = 0
        if fmt in ("JPEG", "MPO"):
            coefficients = _jpeg_coefficients(img)
            # decode a camera photo at 1/2, 1/4 or 1/8 scale straight from the DCT (several times faster
            # than decoding 12 megapixels and shrinking them); the size asked keeps the aspect ratio,
            # so the result is never smaller than the final long side
            w, h = img.size
            factor = min(1.0, side / max(w, h))
            img.draft("RGB", (max(1, int(w * factor)), max(1, int(h * factor))))
        _charge(decode_cost(img, fmt, side, coefficients), original)
        try:
            img.thumbnail((side, side))
            out_img = ImageOps.exif_transpose(img)  # after shrinking: rotating 12 megapixels costs a decode
            if out_img.mode not in ("RGB", "L"):
                background = Image.new("RGB", out_img.size, "white")
                rgba = out_img.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                out_img = background
            out = io.BytesIO()
            out_img.save(out, "JPEG", quality=85)  # no exif= : metadata is not copied
            return out.getvalue()
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as e:
            raise UploadError(_("Berkas bukan foto yang valid (isi berkas tidak dikenali sebagai gambar).")) from e


def save_image(kind: str, data: bytes) -> str:
    """Re-encode and store; returns the random stored name (never the user's file name). Kept only if the
    current transaction commits (``store_file``)."""
    jpeg = reencode_image(data)
    name = secrets.token_hex(16) + ".jpg"
    store_file(kind, name, jpeg)
    return name


# ------------------------------------------------------------------ a file lives and dies with its transaction

#: Session.info keys: the files stored during the session's current transaction, not yet committed, and the
#: connection that transaction will commit on; the files it lets go, deleted once it commits
_HELD = "sempelmas.uploads_held"
_CONNECTION = "sempelmas.uploads_connection"
_RELEASED = "sempelmas.uploads_released"
#: connections whose COMMIT went to the database in their current transaction: if it then raised, the outcome is
#: unknown (the server may have committed before the connection broke)
_COMMIT_SENT: weakref.WeakSet = weakref.WeakSet()


def store_file(kind: str, name: str, data: bytes) -> Path:
    """Write an upload under its stored name (fsynced, so a committed row never names a lost file) and tie it to
    the current transaction: it stays if that transaction commits and is deleted if it ends without one (left to
    the sweep when the COMMIT itself failed: it may have been saved).

    The row that names it must be saved in the same transaction (a file stored inside a savepoint follows the
    outer transaction). A process killed before the end leaves a file no row names: ``upload_store.sweep``."""
    folder = upload_dir(kind)
    path = folder / Path(name).name
    session = db.session()
    if not session.in_transaction():
        session.begin()  # a transaction to belong to, whose end (commit or not) is announced
    session.info[_CONNECTION] = session.connection()
    with open(path, "xb") as fh:  # "x": a random name never overwrites another upload
        session.info.setdefault(_HELD, []).append(path)  # from here on, a failed write goes with the rest
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)  # the new name itself survives a power cut
    finally:
        os.close(fd)
    return path


def delete_after_commit(kind: str, name: str) -> None:
    """Delete a stored upload once the current transaction commits: the change that lets it go (no row names it
    any more) is saved first. Kept if the transaction ends any other way. A process killed between the commit
    and the deletion leaves a file no row names: ``upload_store.sweep`` deletes it."""
    session = db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_RELEASED, []).append(Path(current_app.config["UPLOAD_DIR"]) / kind / Path(name).name)


@event.listens_for(Engine, "begin")
def _transaction_begins(connection) -> None:
    _COMMIT_SENT.discard(connection)


@event.listens_for(Engine, "commit")
def _commit_goes_out(connection) -> None:
    _COMMIT_SENT.add(connection)


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session) -> None:
    # a savepoint's release is announced as a commit too; only the outermost transaction's commit keeps the files
    if not session.in_nested_transaction():
        session.info.pop(_HELD, None)
        session.info.pop(_CONNECTION, None)
        for path in session.info.pop(_RELEASED, ()):
            try:
                path.unlink(missing_ok=True)
            except OSError:  # never a reason to fail after a commit: the sweep deletes it later
                logging.getLogger(__name__).warning("released upload %s not deleted", path, exc_info=True)


@event.listens_for(Session, "after_transaction_end")
def _delete_uncommitted_files(session, transaction) -> None:
    """The outermost transaction ended without a commit (a rollback, an error, the session closed): no row names
    these files, they go. Unless its COMMIT itself failed: the database may have committed it all the same (a
    connection lost on the way back), so the files are left for the sweep, which keeps the ones a row names."""
    if transaction.parent is not None:
        return
    session.info.pop(_RELEASED, None)  # not committed: the rows still name those files, they stay
    held = session.info.pop(_HELD, ())
    connection = session.info.pop(_CONNECTION, None)
    log = logging.getLogger(__name__)
    if held and connection in _COMMIT_SENT:
        log.warning("commit of %d upload(s) failed with an unknown outcome: left to the upload sweep", len(held))
        return
    for path in held:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # never a reason to fail the rollback: the sweep deletes it later
            log.warning("upload %s of a rolled-back transaction not deleted", path, exc_info=True)


def stored_path(kind: str, name: str) -> Path | None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = upload_dir(kind) / name
    return path if path.is_file() else None


def discard(kind: str, name: str | None) -> None:
    """Remove a stored file that its committed transaction did not use after all (e.g. the second copy of a
    form sent twice, whose first copy's record stands)."""
    path = stored_path(kind, name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)
