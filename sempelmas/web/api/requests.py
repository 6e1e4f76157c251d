"""``/api/v1/stats/requests``: the dashboard's numbers for a period (scope ``requests:read``: counts, SLA
figures per month, service and RT/RW, from the dashboard's own computation); ``/api/v1/requests/<tracking>``:
one request's status (scope ``requests:status``: status, service and dates, no personal data)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint

from sempelmas.services.integration import requests as service
from sempelmas.web.api.auth import scoped
from sempelmas.web.api.problems import abort_problem
from sempelmas.web.api.schemas.reads import PeriodQuerySchema, RequestStatsSchema, RequestStatusSchema

blp = Blueprint("api_requests", __name__, url_prefix="", description="Requests: numbers and status")


@blp.route("/stats/requests")
@blp.arguments(PeriodQuerySchema, location="query", as_kwargs=True)
@blp.response(200, RequestStatsSchema)
@scoped("requests:read")
def stats(month=None, date_from=None, date_to=None):
    """Counts and SLA figures of a period (default this month): in total, per month, per service, per RT/RW."""
    try:
        period = service.period_for(month, date_from, date_to)
    except service.PeriodError as exc:
        abort_problem(422, _("Periode tidak valid"), str(exc), slug="validation")
    return service.stats(period)


@blp.route("/requests/<string:tracking_number>")
@blp.response(200, RequestStatusSchema)
@blp.alt_response(404, response="NOT_FOUND")
@scoped("requests:status")
def status(tracking_number: str):
    """One request's status by its tracking number."""
    found = service.status_of(tracking_number)
    if found is None:
        abort_problem(404, _("Tidak ditemukan"), _("Tidak ada permohonan dengan nomor ini."))
    return found
