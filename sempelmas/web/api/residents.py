"""``POST /api/v1/residents`` (scope ``residents:write``): population-register upserts in batches, through the
register import's rules, validation and KK history (services/integration/residents.py)."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from sempelmas.domain.i18n import lazy as _
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
@blp.alt_response(413, response="PAYLOAD_TOO_LARGE", description="More rows than one batch may hold")
@blp.alt_response(409, response="CONFLICT", description="Another batch wrote the same NIK meanwhile: send it again")
def upsert_residents(body):
    """Create or update register entries by NIK, as the register import does; a result per row.

    A wrong row is refused alone (outcome "error", the import's messages, a code each) and the others are saved,
    each whole; the same batch twice changes nothing the second time (all "unchanged"). One audit entry per
    batch, with the client's name and the counts."""
    try:
        result = upsert.upsert_batch(body["rows"])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort_problem(409, _("Konflik"), _("Batch lain menyimpan NIK yang sama pada saat yang sama; kirim ulang "
                                           "batch ini (hasilnya tetap sama bila dikirim dua kali)."))
    return result
