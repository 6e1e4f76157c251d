"""Where the web's actions come from, for the audit log: the signed-in user and the client's address of the
request being served (ProxyFix has already put the real address in remote_addr). Installed by create_app
(``audit.install_origin``); outside a request (CLI, workers) nobody."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from sempelmas.services.accountability import audit


def signed_in_user():
    """The signed-in user of the request being served, or None."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


ORIGIN = audit.Origin(actor=signed_in_user, ip=client_ip)


def install() -> None:
    audit.install_origin(ORIGIN)
