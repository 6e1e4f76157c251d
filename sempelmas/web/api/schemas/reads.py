"""Schemas of the catalogue, request numbers and status, IKM, transparency and complaints resources."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from sempelmas.services.integration import complaints as complaints_service
from sempelmas.services.integration import ikm as ikm_service

# ------------------------------------------------------------------------------------------- catalogue


class ServiceTimeSchema(ma.Schema):
    value = fields.Integer(required=True)
    unit = fields.String(required=True, metadata={"description": "menit, jam, hari_kerja or hari"})
    text = fields.String(required=True)


class RequirementSchema(ma.Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    label_en = fields.String(allow_none=True)
    required = fields.Boolean(required=True)
    paper_original_allowed = fields.Boolean(required=True)


class FieldSchema(ma.Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    label_en = fields.String(allow_none=True)
    kind = fields.String(required=True)
    required = fields.Boolean(required=True)
    choices = fields.List(fields.String())
    choices_en = fields.List(fields.String())
    help_text = fields.String(allow_none=True)
    help_text_en = fields.String(allow_none=True)
    max_length = fields.Integer(allow_none=True)


class ServiceSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    description = fields.String(required=True)
    description_en = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    who_may_request = fields.String(required=True)
    needs_rt_endorsement = fields.Boolean(required=True)
    paper_pengantar_when_no_rt_account = fields.Boolean(required=True)
    service_time = fields.Nested(ServiceTimeSchema, required=True)
    classification_code = fields.String(required=True)
    validity_days = fields.Integer(allow_none=True)
    requirements = fields.List(fields.Nested(RequirementSchema), required=True)
    fields_ = fields.List(fields.Nested(FieldSchema), required=True, data_key="fields", attribute="fields")


class ServicesSchema(ma.Schema):
    items = fields.List(fields.Nested(ServiceSchema), required=True)


# ------------------------------------------------------------------------------------------- requests


class PeriodQuerySchema(ma.Schema):
    month = fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}$"),
                          metadata={"description": "one month, YYYY-MM (default: this month)"})
    date_from = fields.Date(metadata={"description": "with date_to: a range of local dates, both included"})
    date_to = fields.Date()


class CompletionSchema(ma.Schema):
    completed = fields.Integer(required=True)
    with_due_date = fields.Integer(required=True)
    on_time = fields.Integer(required=True)
    on_time_share = fields.Float(allow_none=True, metadata={"description": "on_time / with_due_date, 0–1"})
    median_seconds = fields.Float(allow_none=True)
    p90_seconds = fields.Float(allow_none=True)


class StatusCountSchema(ma.Schema):
    status = fields.String(required=True)
    label = fields.String(required=True)
    count = fields.Integer(required=True)


class MonthSchema(ma.Schema):
    month = fields.String(required=True)
    received = fields.Integer(required=True)
    completion = fields.Nested(CompletionSchema, required=True)


class ServiceStatsSchema(ma.Schema):
    code = fields.String(allow_none=True)
    name = fields.String(required=True)
    received = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    completion = fields.Nested(CompletionSchema, required=True)


class AreaSchema(ma.Schema):
    rt = fields.String(required=True)
    rw = fields.String(required=True)
    received = fields.Integer(required=True)


class PeriodSchema(ma.Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    time_zone = fields.String(required=True)


class RequestStatsSchema(ma.Schema):
    period = fields.Nested(PeriodSchema, required=True)
    received = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    completion = fields.Nested(CompletionSchema, required=True)
    by_status = fields.List(fields.Nested(StatusCountSchema), required=True)
    months = fields.List(fields.Nested(MonthSchema), required=True)
    services = fields.List(fields.Nested(ServiceStatsSchema), required=True)
    areas = fields.List(fields.Nested(AreaSchema), required=True)


class ServiceRefSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class RequestStatusSchema(ma.Schema):
    tracking_number = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    final = fields.Boolean(required=True)
    service = fields.Nested(ServiceRefSchema, required=True)
    submitted_at = fields.String(required=True)
    due_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    updated_at = fields.String(required=True)


# ------------------------------------------------------------------------------------------- IKM, transparency


class IkmQuerySchema(ma.Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100), metadata={"description": "default: this year"})
    per = fields.String(load_default="month", validate=validate.OneOf(tuple(ikm_service.GRANULARITY)))


class ElementSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    nrr = fields.Float(required=True)
    converted = fields.Float(required=True)
    category = fields.String(required=True)
    lowest = fields.Boolean(required=True)


class IkmPeriodSchema(ma.Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    respondents = fields.Integer(required=True)
    ikm = fields.Float(allow_none=True, metadata={"description": "1–4, four decimals"})
    converted = fields.Float(allow_none=True, metadata={"description": "25–100"})
    category = fields.String(allow_none=True)
    category_label = fields.String(allow_none=True)
    elements = fields.List(fields.Nested(ElementSchema), required=True)


class IkmSchema(ma.Schema):
    year = fields.Integer(required=True)
    per = fields.String(required=True)
    items = fields.List(fields.Nested(IkmPeriodSchema), required=True)


class PublicBlockSchema(ma.Schema):
    label = fields.String(required=True)
    received = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    on_time_share = fields.Float(allow_none=True)
    median_seconds = fields.Float(allow_none=True)


class PublicIkmSchema(ma.Schema):
    start = fields.String(required=True)
    end = fields.String(required=True)
    label = fields.String(required=True)
    respondents = fields.Integer(required=True)
    ikm = fields.Float(required=True)
    converted = fields.Float(required=True)
    category = fields.String(required=True)
    category_label = fields.String(required=True)


class TransparencySchema(ma.Schema):
    as_of = fields.String(required=True)
    month = fields.Nested(PublicBlockSchema, required=True)
    year = fields.Nested(PublicBlockSchema, required=True)
    ikm = fields.Nested(PublicIkmSchema, allow_none=True)


# ------------------------------------------------------------------------------------------- complaints


class ComplaintsQuerySchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(complaints_service.STATUSES))
    cursor = fields.String(validate=validate.Length(max=120))
    limit = fields.Integer(load_default=complaints_service.PAGE_DEFAULT,
                           validate=validate.Range(1, complaints_service.PAGE_MAX))


class ContactSchema(ma.Schema):
    name = fields.String(required=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ComplaintSchema(ma.Schema):
    code = fields.String(required=True)
    category = fields.String(required=True)
    subject = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "baru, diproses or selesai"})
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    closed_at = fields.String(allow_none=True)
    about_request = fields.Boolean(required=True)
    contact = fields.Nested(ContactSchema, metadata={"description": "only with scope complaints:pii (audited)"})
    body = fields.String(metadata={"description": "only with scope complaints:pii (audited)"})


class ComplaintsPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ComplaintSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    has_more = fields.Boolean(required=True)
