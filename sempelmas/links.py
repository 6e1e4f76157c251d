"""The site's public address, and every absolute link built from it.

One setting names the address: ``PUBLIC_URL`` (checked, or derived in development, by ``config.load_config``).
Whatever leaves the browser carries a full link built here, and nothing else reads the setting: the QR code and
footer of a signed letter (``issuing.verify_url``), e-mail and WhatsApp messages (``outbox.with_link``), the
data-rights export. The request is never consulted, for two reasons: the notify worker, the job worker and the
CLI have none, and a printed letter must carry the address the public reaches, not whichever Host header the
signing official's browser happened to send (``127.0.0.1`` on the office PC, an internal name behind a proxy).
Pages themselves link with relative ``url_for`` paths, which need no address at all.
"""

from __future__ import annotations

from flask import current_app


def public_url() -> str:
    """``PUBLIC_URL`` without a trailing slash, e.g. ``https://layanan.jagalan.go.id``."""
    return str(current_app.config["PUBLIC_URL"]).rstrip("/")


def absolute_url(path: str) -> str:
    """The full address of an app path such as ``/v/<code>`` (a path under PUBLIC_URL, which may itself end in
    a path prefix when the site is served below one)."""
    if not path.startswith("/"):
        raise ValueError(f"an app path starts with '/': {path!r}")
    return public_url() + path
