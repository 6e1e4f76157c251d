"""Access decorators for views: signed in, with one of the roles, as a verified resident.

They stay thin: who may see which request, file or resident (the RT/RW area, the family) is decided in
``sempelmas.services.access``, the one module that holds the access rules.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.web.acting import acting_resident


def _unauthenticated():
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        resp = make_response("", 401)
        resp.headers["HX-Redirect"] = login_url
        return resp
    if request.accept_mimetypes.best == "application/json":
        abort(401)
    return redirect(login_url)


def role_required(*roles: str):
    """Anonymous → login (401 + HX-Redirect for htmx); signed in without one of ``roles`` → 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _unauthenticated()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def verified_resident_required(view):
    """A resident whose account staff or the RT head verified (or a pendamping acting for one).

    Until verification a resident may log in and see the status, but not submit requests.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _unauthenticated()
        resident = acting_resident()
        if resident is None:
            abort(403)
        if not resident.is_verified:
            flash(_("Akun belum terverifikasi: Anda belum bisa mengajukan surat."), "error")
            return redirect(url_for("resident.home"), code=303)
        return view(*args, **kwargs)

    return wrapped


def login_required(view):
    """Any signed-in account."""
    return role_required()(view)
