"""Where the web's actions come from, for the audit log: the signed-in user (in an /api/v1 call none: its API
client, in the details) and the client's address of the request being served (ProxyFix has already put the real
address in remote_addr). Installed by create_app (``audit.install_origin``); outside a request (CLI, workers)
nobody."""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from sempelmas.services.accountability import audit


def signed_in_user():
    """The signed-in user of the request being served, or None (an API call has no user: its client acts)."""
    if has_request_context() and g.get("api_client") is None and current_user and current_user.is_authenticated:
        return current_user
    return None


def api_client() -> dict | None:
    """The integration API's client serving this request (``sempelmas.web.api.auth``), for the entry's details."""
    client = g.get("api_client") if has_request_context() else None
    return {"api_client": client.name, "api_client_id": client.id} if client is not None else None


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


ORIGIN = audit.Origin(actor=signed_in_user, ip=client_ip, via=api_client)


def install() -> None:
    audit.install_origin(ORIGIN)
