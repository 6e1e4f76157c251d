"""``/api/v1/ikm``: the IKM per period of a year (NRR per element too), and ``/api/v1/transparency``: the public
transparency page's numbers. Both under scope ``ikm:read``, as the scope's description to the admin says ("hasil
IKM dan angka transparansi"): the transparency numbers are public, but they are the office's performance figures,
which a client that only shows the catalogue (``catalogue:read``) has no need of. No personal data in either."""

from __future__ import annotations

from flask_smorest import Blueprint

from sempelmas.services.integration import ikm as service
from sempelmas.services.kelurahan.profile import local_today
from sempelmas.web.api.auth import scoped
from sempelmas.web.api.schemas.reads import IkmQuerySchema, IkmSchema, TransparencySchema

blp = Blueprint("api_ikm", __name__, url_prefix="", description="IKM and transparency")


@blp.route("/ikm")
@blp.arguments(IkmQuerySchema, location="query", as_kwargs=True)
@blp.response(200, IkmSchema)
@scoped("ikm:read")
def ikm(year=None, per="month"):
    """The IKM of each month, quarter, semester or the whole of a year (default: this year, per month)."""
    year = year or local_today().year
    return {"year": year, "per": per, "items": service.results(year, per)}


@blp.route("/transparency")
@blp.response(200, TransparencySchema)
@scoped("ikm:read")
def transparency():
    """The numbers of the public page /transparansi: this month, this year so far, the published IKM."""
    return service.transparency()
