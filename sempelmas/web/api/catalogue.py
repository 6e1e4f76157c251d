"""``/api/v1/services``: the service catalogue with each service's standard (scope ``catalogue:read``)."""

from __future__ import annotations

from flask_smorest import Blueprint

from sempelmas.services.integration import catalogue as service
from sempelmas.web.api.auth import scoped
from sempelmas.web.api.schemas.reads import ServicesSchema

blp = Blueprint("api_services", __name__, url_prefix="/services", description="Service catalogue")


@blp.route("")
@blp.etag
@blp.response(200, ServicesSchema)
@scoped("catalogue:read")
def services():
    """The services residents may request, in catalogue order, with requirements, form fields, service time."""
    return {"items": service.services()}
