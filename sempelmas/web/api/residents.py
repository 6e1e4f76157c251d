"""``POST /api/v1/residents`` (scope ``residents:write``): population-register upserts in batches, through the
register import's rules, validation and KK history (services/integration/residents.py)."""

from __future__ import annotations

from http import HTTPStatus

from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from sempelmas.extensions import db
from sempelmas.services.integration import residents as upsert
from sempelmas.web.api.auth import scoped
from sempelmas.web.api.problems import abort_problem
from sempelmas.web.api.schemas.residents import UpsertRequestSchema, UpsertResultSchema

blp = Blueprint("api_residents", __name__, url_prefix="/residents", description="The population register (write)")


@blp.route("", methods=["POST"])
@scoped("residents:write")
@blp.arguments(UpsertRequestSchema)
@blp.response(200, UpsertResultSchema)
@blp.alt_response(413, response=HTTPStatus(413).name)  # its name differs across Python versions
@blp.alt_response(409, response=HTTPStatus.CONFLICT.name)
def upsert_residents(body):
    """Create or update population-register entries by NIK, as the register import does; a result per row.

    Each row goes through the CSV/XLSX import's own checks and normalisation (NIK and KK number by their parts,
    dates DD-MM-YYYY, L/P, RT/RW, names in capitals) and is saved as the official register ("impor"); a changed
    KK number is kept in the KK history (source "api").

    - **A wrong row is refused alone**: outcome `error`, with the import's Indonesian messages and an English
      `code` per error; nothing of that row is saved, the other rows are (each whole, one transaction a batch).
    - **Idempotent by NIK**: a row equal to the register is `unchanged`; the same batch twice changes nothing the
      second time. A NIK twice in one batch: the later row is refused (`nik_duplicate`; "baris N" in its
      message is the earlier row's `index`). Across batches the later one wins, as in the register.
    - **At most 5,000 rows a batch** (`API_UPSERT_MAX_ROWS`): more is refused whole with 413 (`max_rows` in
      the problem). A body that is not a batch (a field that is not a register column, a value that is not
      text or null, no `rows`) is refused whole with 422, its `errors` naming row and field.
    - 409: another batch saved the same new NIK at the same moment; send the batch again.
    - Audited once a batch (`register.api_upsert`, the client's name and the counts, no personal data).
    """
    try:
        result = upsert.upsert_batch(body["rows"])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort_problem(409, _("Konflik"), _("Batch lain menyimpan NIK yang sama pada saat yang sama; kirim ulang "
                                           "batch ini (hasilnya tetap sama bila dikirim dua kali)."))
    return result
