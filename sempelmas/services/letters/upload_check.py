"""The check of a PDF someone was handed and uploads on the verification page: is it the issued file, and is
its signature valid. Bounded before the work is done (see below).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from sempelmas.domain import pdf_shape
from sempelmas.extensions import db
from sempelmas.models.letters import Letter
from sempelmas.services.files import isolation
from sempelmas.services.letters import backends
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.letters.issued import LetterError, PublicFacts

# ----------------------------------------------------------------------------------- uploaded PDF check
#
# Anyone may upload a PDF here, so the work is bounded before it is done: pyHanko's check of a signed file
# grows with the square of its incremental updates (2,000 empty updates, 330 KB, kept a worker busy until
# gunicorn killed it), and its reader walks back through junk after %%EOF. So, in this order:
# 1. cheap counts on the bytes (size, revisions, objects) against the issued letter's own: a genuine copy is
#    the same file, or the same file with a few small incremental saves by a PDF viewer;
# 2. the parse and the signature check in a forked child with a time and memory budget
#    (services/files/isolation.py), which answers "cannot be checked" when it runs out.

class UploadRefused(LetterError):
    """The upload is not something that can be checked; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UploadCheck:
    same: bool
    sha256: str
    signature_valid: bool
    signature_message: str
    #: False when the file was not examined (over a bound or the budget): the message says why
    signature_checked: bool = True


@dataclass(frozen=True)
class IssuedShape:
    """Size, revisions and objects of an issued letter's PDF: the yardstick for an uploaded copy."""

    size: int
    revisions: int
    objects: int


#: by the letter's SHA-256 (an issued file never changes); bounded, public data
_SHAPES: dict[str, IssuedShape] = {}
#: when the stored file is missing: a signed letter as this app makes it (render + signature revision)
_DEFAULT_SHAPE = IssuedShape(size=0, revisions=2, objects=200)


def issued_shape(letter_id: int, sha256: str) -> IssuedShape:
    """Measured once per worker from the stored PDF (a read of ~60 KB)."""
    hit = _SHAPES.get(sha256)
    if hit is not None:
        return hit
    letter = db.session.get(Letter, letter_id)
    shape = _DEFAULT_SHAPE
    if letter is not None:
        path = letter_store.path_of(letter)
        if path.is_file():
            data = path.read_bytes()
            shape = IssuedShape(len(data), pdf_shape.revisions(data), pdf_shape.objects(data))
        else:
            shape = IssuedShape(letter.pdf_size or 0, _DEFAULT_SHAPE.revisions, _DEFAULT_SHAPE.objects)
    if len(_SHAPES) >= 1000:
        _SHAPES.clear()
    _SHAPES[sha256] = shape
    return shape


def _earlier_revision(facts: PublicFacts, data: bytes) -> bool:
    from sempelmas.services.letters import ltv

    letter = db.session.get(Letter, facts.id)
    if letter is None or len(data) >= (letter.pdf_size or 0):
        return False
    try:
        stored = letter_store.read_pdf(letter)
    except OSError:
        return False
    return ltv.is_earlier_revision(data, stored)


def _size(n: int) -> str:
    """A file size as Indonesians write it: "6 KB", "14,0 MB"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


def _over_bounds(data: bytes, issued: IssuedShape) -> str | None:
    """Why ``data`` is too far from the issued letter to be worth parsing; None when it may be examined."""
    cfg = current_app.config
    if len(data) > issued.size + cfg["VERIFY_CHECK_EXTRA_BYTES"]:
        return _("Berkas ini tidak dapat diperiksa: ukurannya %(size)s, jauh lebih besar dari surat yang "
                 "diterbitkan (%(issued)s).", size=_size(len(data)), issued=_size(issued.size))
    revisions = pdf_shape.revisions(data)
    if revisions > issued.revisions + cfg["VERIFY_CHECK_EXTRA_REVISIONS"]:
        return _("Berkas ini tidak dapat diperiksa: berkas ini memuat %(n)d lapis perubahan (revisi), sedangkan "
                 "surat yang diterbitkan hanya %(m)d.", n=revisions, m=issued.revisions)
    objects = pdf_shape.objects(data)
    if objects > issued.objects + cfg["VERIFY_CHECK_EXTRA_OBJECTS"]:
        return _("Berkas ini tidak dapat diperiksa: isinya jauh lebih rumit dari surat yang diterbitkan "
                 "(%(n)d objek PDF, surat asli %(m)d).", n=objects, m=issued.objects)
    return None


def examine_pdf(data: bytes, roots_der: list[bytes], tsa_roots_der: tuple[bytes, ...] = ()) -> dict:
    """The parse (pypdf reaches a page) and the signature check (pyHanko): runs in the isolated child, so it
    takes and gives plain data only."""
    from pypdf import PdfReader

    try:
        if len(PdfReader(io.BytesIO(data)).pages) < 1:
            return {"verdict": "broken"}
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - any parse error: a broken file
        return {"verdict": "broken"}
    try:
        return letter_signing.signature_facts(data, roots_der, tsa_roots_der)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - what pyHanko did not foresee is still the file's fault
        return {"verdict": "damaged"}


def _preload_parsers() -> None:
    """Import pypdf and pyHanko in the worker once, so the forked child starts with them (not ~1 s later)."""
    import pyhanko.sign.validation  # noqa: F401
    import pyhanko.sign.validation.status  # noqa: F401
    import pyhanko_certvalidator  # noqa: F401
    import pypdf  # noqa: F401
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: F401


def check_upload(facts: PublicFacts, data: bytes) -> UploadCheck:
    """Is ``data`` exactly the issued letter (SHA-256), and is its signature valid?

    Refuses an empty, oversized or non-PDF upload (UploadRefused); answers "cannot be checked" without
    parsing a file far from the issued letter's size, revisions or objects, and when the parse or the
    signature check of any other file than the issued one runs out of its time or memory budget."""
    limit = current_app.config["VERIFY_UPLOAD_MAX_BYTES"]
    if not data:
        raise UploadRefused(_("Pilih berkas PDF surat yang ingin diperiksa."), 400)
    if len(data) > limit:
        raise UploadRefused(_("Berkas terlalu besar: paling banyak %(mb)d MB. Surat dari kelurahan jauh lebih "
                              "kecil; periksa apakah berkasnya benar.", mb=limit // (1024 * 1024)), 413)
    if b"%PDF-" not in data[:1024]:
        raise UploadRefused(_("Berkas ini bukan PDF. Unggah berkas PDF surat yang Anda terima."), 415)
    digest = hashlib.sha256(data).hexdigest()
    # a copy downloaded before the letter's timestamp was refreshed (services/letters/ltv.py) is the issued file
    # too: the refresh only appended to it
    same = digest == facts.pdf_sha256 or _earlier_revision(facts, data)
    why = _over_bounds(data, issued_shape(facts.id, facts.pdf_sha256))
    if why is not None:
        return UploadCheck(same, digest, False, why, signature_checked=False)
    _preload_parsers()
    cfg = current_app.config
    try:
        if same:  # the very bytes the kelurahan issued: its own file, checked in-process (no fork to pay)
            found = examine_pdf(data, backends.all_trust_roots_der(), letter_signing.tsa_roots_der())
        else:
            found = isolation.run_isolated(examine_pdf, data, backends.all_trust_roots_der(),
                                           letter_signing.tsa_roots_der(),
                                           wall_seconds=cfg["VERIFY_CHECK_SECONDS"],
                                           memory_bytes=cfg["VERIFY_CHECK_MEMORY_MB"] * 1024 * 1024)
    except isolation.BudgetExceeded:
        return UploadCheck(same, digest, False, _(
            "Berkas ini tidak dapat diperiksa: memeriksanya memerlukan waktu atau memori melebihi batas. Surat "
            "yang diterbitkan kelurahan selalu dapat diperiksa dalam sekejap."), signature_checked=False)
    if found["verdict"] == "broken":
        raise UploadRefused(_("Berkas PDF ini rusak atau tidak dapat dibaca, sehingga tidak dapat diperiksa."),
                            422)
    if found["verdict"] == "damaged":
        return UploadCheck(same, digest, False,
                           _("Tanda tangan elektronik pada berkas ini tidak dapat dibaca: tidak sah."))
    result = letter_signing.validation_result(found)
    return UploadCheck(same, digest, bool(result.ok), result.message)
