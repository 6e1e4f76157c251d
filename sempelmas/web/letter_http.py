"""Sending a letter to the browser: the PDF inline, or its HTML under a CSP of its own."""

from __future__ import annotations

from flask import make_response

#: the HTML letter carries its own inline style and data: images; nothing else may load or run
LETTER_HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def letter_response(body: bytes | str, *, filename: str):
    """PDF bytes inline under ``filename``, or the letter's HTML; never cached (letters carry the full NIK)."""
    resp = make_response(body)
    if isinstance(body, str):
        resp.mimetype = "text/html"
        resp.headers["Content-Security-Policy"] = LETTER_HTML_CSP
    else:
        resp.mimetype = "application/pdf"
        resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
