"""Sending a private file (a resident's upload, a signed letter, an export with personal data): the one helper.

Whatever it is, it is never cached (``private, no-store``: it carries NIK/KK or a photo of a KTP) and, when it is
a stored upload, never runs as a page of this site (``sandbox`` CSP, ``nosniff``). Who may have it is checked
before, by the view (``sempelmas.services.access``).
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import abort, make_response, send_file
from werkzeug.wrappers import Response

PRIVATE = "private, no-store"
#: a stored photo: shown as an image, nothing in it may run
IMAGE_CSP = "sandbox; default-src 'none'; img-src 'self'"
#: a stored file this small (every photo after its re-encoding, most PDFs) is read whole: a WSGI server that
#: loses the connection mid-answer (werkzeug's, when a phone navigates away) may never close a file it was given
READ_WHOLE_MAX_BYTES = 2 * 1024 * 1024


def send_private(source: Path | bytes | None, *, mimetype: str, filename: str | None = None,
                 attachment: bool = False, csp: str | None = None, read_at_once: bool = False) -> Response:
    """``source`` (a stored file, or bytes made for this answer) to the one allowed to have it; 404 when a
    stored file is gone. ``filename`` names it (inline, or as a download with ``attachment``); ``csp``, when
    given, also sets ``nosniff``. ``read_at_once``: the stored file is read whole whatever its size (a small
    one always is), no file handle left to the WSGI server."""
    if source is None or (isinstance(source, Path) and not source.exists()):
        abort(404)
    if isinstance(source, Path):
        whole = read_at_once or source.stat().st_size <= READ_WHOLE_MAX_BYTES
        body = io.BytesIO(source.read_bytes()) if whole else source
        resp = send_file(body, mimetype=mimetype, max_age=0, as_attachment=attachment, download_name=filename)
    else:
        resp = make_response(source)
        resp.headers["Content-Type"] = mimetype
        if filename:
            resp.headers["Content-Disposition"] = f'{"attachment" if attachment else "inline"}; filename="{filename}"'
    resp.headers["Cache-Control"] = PRIVATE
    if csp:
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def send_private_image(path: Path | None) -> Response:
    """A stored photo (KTP, complaint, correction evidence) to the one allowed to see it: 404 when the file is
    gone, never cached, never run as a page of this site."""
    return send_private(path, mimetype="image/jpeg", csp=IMAGE_CSP)
