"""A request's letter as HTML and as an unsigned PDF (templates + letter_context + pdf)."""

from __future__ import annotations

from datetime import datetime

from sempelmas.models.profile import Official
from sempelmas.services.letters import pdf
from sempelmas.services.letters.letter_context import request_context
from sempelmas.services.letters.templates import render_template_html


def render_html(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
                capacity: str = "", verify_url: str | None) -> str:
    """The letter of ``request`` as HTML (number None → a preview marked PRATINJAU, without QR)."""
    context = request_context(request, number=number, signed_at=signed_at, official=official, capacity=capacity,
                              verify_url=verify_url)
    return render_template_html(request.service_snapshot["letter_template"], context)


def render_pdf(request, *, number: str | None, signed_at: datetime | None, official: Official | None,
               capacity: str = "", verify_url: str | None) -> bytes:
    """The letter of ``request`` as an unsigned PDF, ready for signing (number None → preview, no QR).

    The QR code (``verify_url``) is drawn only on a numbered letter. Raises LetterRenderError
    with a message for staff when the template or the conversion fails.
    """
    return pdf.html_to_pdf(render_html(request, number=number, signed_at=signed_at, official=official,
                                   capacity=capacity, verify_url=verify_url))
