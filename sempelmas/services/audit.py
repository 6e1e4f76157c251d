"""Writing to the audit log."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry


def client_ip() -> str | None:
    """The client address (ProxyFix has already put the real one in remote_addr)."""
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    obj=None,
    *,
    actor=None,
    on_behalf_of=None,
    object_type: str | None = None,
    object_id=None,
    **details,
) -> AuditEntry:
    """Append an entry; the actor defaults to the signed-in user, the IP to the request's."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
    entry = AuditEntry(
        action=action,
        actor_id=getattr(actor, "id", actor),
        on_behalf_of_id=getattr(on_behalf_of, "id", on_behalf_of),
        ip=client_ip(),
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=details,
    )
    db.session.add(entry)
    return entry
