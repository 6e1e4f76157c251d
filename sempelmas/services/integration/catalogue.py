"""The service catalogue and its service standards for the API: what residents may request, with the
requirements, the form's fields, the service time and the letter's validity, as the public pages show them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sempelmas.extensions import db
from sempelmas.models.catalogue import Service, service_time_text
from sempelmas.services.requests import catalogue


def services() -> list[dict]:
    """The enabled services in catalogue order (three statements: the services, then all their requirements and
    all their fields by selectin loading, not one per service)."""
    out = []
    stmt = (select(Service).where(Service.enabled.is_(True)).order_by(Service.sort_order, Service.name)
            .options(selectinload(Service.requirements), selectinload(Service.fields)))
    for service in db.session.scalars(stmt):
        snap = catalogue.snapshot(service)
        out.append({
            "code": snap["code"], "name": snap["name"], "name_en": snap["name_en"] or None,
            "description": snap["description"], "description_en": snap["description_en"] or None,
            "version": snap["version"],
            "who_may_request": snap["who_may_request"],
            "needs_rt_endorsement": snap["needs_rt_endorsement"],
            "paper_pengantar_when_no_rt_account": snap["paper_pengantar_when_no_rt_account"],
            "service_time": {"value": snap["service_time_value"], "unit": snap["service_time_unit"],
                             "text": service_time_text(snap["service_time_value"], snap["service_time_unit"])},
            "classification_code": snap["classification_code"],
            "validity_days": snap["validity_days"],
            "requirements": snap["requirements"],
            "fields": [{k: f[k] for k in ("name", "label", "label_en", "kind", "required", "choices",
                                          "choices_en", "help_text", "help_text_en", "max_length")}
                       for f in snap["fields"]],
        })
    return out
