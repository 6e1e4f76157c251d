"""Marshmallow schemas of the API, one module per resource (``problem``: the error body all share)."""
