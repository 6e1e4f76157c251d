"""Schemas of the letters register and a letter's verification (``web/api/letters.py``)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from sempelmas.services.integration import letters as service

STATUS_TEXT = "sah (valid), dicabut (revoked), diganti (replaced by a newer letter)"
BACKEND_TEXT = ("how the letter was signed: local (the kelurahan's own CA: an uncertified electronic signature, "
                "valid under UU ITE) or bsre (a BSrE/BSSN certificate: a certified electronic signature, PP 71/2019)")


class RegisterQuerySchema(ma.Schema):
    date_from = fields.Date(metadata={"description": "first signing date (local, inclusive), YYYY-MM-DD"})
    date_to = fields.Date(metadata={"description": "last signing date (local, inclusive), YYYY-MM-DD"})
    status = fields.String(validate=validate.OneOf(service.STATUSES), metadata={"description": STATUS_TEXT})
    type = fields.String(validate=validate.Length(max=40),
                         metadata={"description": "the service code (jenis surat), as in /services"})
    cursor = fields.String(validate=validate.Length(max=120),
                           metadata={"description": "next_cursor of the previous page (opaque)"})
    limit = fields.Integer(load_default=service.PAGE_DEFAULT, validate=validate.Range(1, service.PAGE_MAX))

    @ma.validates_schema
    def _range(self, data, **_kw):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ma.ValidationError("date_to tidak boleh sebelum date_from.", "date_to")


class TypeSchema(ma.Schema):
    code = fields.String(required=True)
    title = fields.String(required=True)


class SignerSchema(ma.Schema):
    name = fields.String(required=True)
    position = fields.String(required=True)
    capacity = fields.String(required=True, metadata={"description": '"", "a.n.", "Plh." or "Plt."'})


class LinkSchema(ma.Schema):
    code = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "absolute, from the site's public address"})


class LetterSchema(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    signed_at = fields.String(required=True, metadata={"description": "UTC, ISO 8601"})
    date = fields.String(required=True, metadata={"description": "the letter's date (local), YYYY-MM-DD"})
    type = fields.Nested(TypeSchema, required=True)
    signer = fields.Nested(SignerSchema, required=True)
    signing_backend = fields.String(required=True, validate=validate.OneOf(("local", "bsre")),
                                    metadata={"description": BACKEND_TEXT})
    status = fields.String(required=True, metadata={"description": STATUS_TEXT})
    revoked_at = fields.String(allow_none=True)
    verification = fields.Nested(LinkSchema, required=True)
    subject_nik = fields.String(metadata={"description": "only with scope letters:pii (each such page audited)"})


class RegisterPageSchema(ma.Schema):
    items = fields.List(fields.Nested(LetterSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "pass as ?cursor= for the next page; kept on the last page "
                                                         "too, to come back later for newer letters"})
    has_more = fields.Boolean(required=True)


class SubjectSchema(ma.Schema):
    name = fields.String(required=True, metadata={"description": "masked, as on the public page"})
    nik = fields.String(required=True, metadata={"description": "masked, as on the public page"})


class VerificationSchema(ma.Schema):
    code = fields.String(required=True)
    url = fields.String(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    signed_at = fields.String(required=True)
    date = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": STATUS_TEXT})
    valid = fields.Boolean(required=True)
    revoked_at = fields.String(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    signer = fields.Nested(SignerSchema, required=True)
    signing_backend = fields.String(required=True, validate=validate.OneOf(("local", "bsre")),
                                    metadata={"description": BACKEND_TEXT})
    subject = fields.Nested(SubjectSchema, required=True)
    pdf_sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the issued PDF file"})
    replaced_by = fields.Nested(LinkSchema, allow_none=True)
