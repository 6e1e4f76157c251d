"""Suggested app changes, applied as patches to a running app object (never to the app's code).

Used by profile_pages.py (in-process) and bench_http.py ``--what-if`` (a third gunicorn serving
``whatif:patched_app()``), so a suggestion's gain is measured before anyone edits the app. Each
patch returns an undo function.

* ``with_cached_profile``: the kelurahan profile read once per process (logo column deferred),
  instead of ``SELECT * FROM kelurahan_profile`` from the context processor on every page.
* ``with_one_query_user``: Flask-Login's loader fetches the user with its roles and its register
  entry in one SELECT (joinedload). Since aca4c40 the app loads user + roles in one query; this
  also joins the resident, which /warga/ and the layout read (one lazy load less).
* ``with_logo``: not a suggestion: stores a 200 KB logo, to price the LargeBinary column in the
  profile query (deferred since aca4c40, so it should cost nothing).
"""

from __future__ import annotations

import os


def with_logo(app, size: int = 200_000):
    """An uploaded kelurahan logo (~200 KB): it lives in kelurahan_profile.logo (LargeBinary)."""
    from sempelmas.extensions import db
    from sempelmas.models.profile import KelurahanProfile

    def put(value):
        with app.app_context():
            profile = db.session.scalar(db.select(KelurahanProfile).limit(1))
            profile.logo, profile.logo_mime = value, ("image/png" if value else None)
            db.session.commit()

    put(os.urandom(size))
    return lambda: put(None)


def with_cached_profile(app):
    """current_profile() from a per-process cache (logo deferred) instead of one query per page."""
    from sqlalchemy.orm import defer

    from sempelmas.extensions import db
    from sempelmas.models.profile import KelurahanProfile
    from sempelmas.services.kelurahan import profile as profile_service

    with app.app_context():
        cached = db.session.scalar(db.select(KelurahanProfile).options(defer(KelurahanProfile.logo)).limit(1))
        db.session.expunge(cached)
    original = profile_service.current_profile
    profile_service.current_profile = lambda: cached

    def undo():
        profile_service.current_profile = original

    return undo


def with_one_query_user(app):
    """Flask-Login's loader fetching the user, its roles and its register entry in one SELECT."""
    from sqlalchemy.orm import joinedload

    from sempelmas.extensions import db, login_manager
    from sempelmas.models.accounts import User

    def load_user(user_id: str):
        try:
            uid, version = (int(p) for p in user_id.split("."))
        except ValueError:
            return None
        user = db.session.scalars(
            db.select(User).options(joinedload(User.roles), joinedload(User.resident)).where(User.id == uid)
        ).unique().first()
        return user if user is not None and user.auth_version == version else None

    original = login_manager._user_callback
    login_manager._user_callback = load_user

    def undo():
        login_manager._user_callback = original

    return undo


def combined(*patches):
    def apply(app):
        undos = [p(app) for p in patches]

        def undo():
            for u in reversed(undos):
                u()

        return undo

    return apply



PATCHES = {"profile": with_cached_profile, "user": with_one_query_user}


def patched_app():
    """gunicorn factory: the real app with the patches named in BENCH_WHATIF (default: all)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from sempelmas import create_app

    app = create_app()
    for name in os.environ.get("BENCH_WHATIF", ",".join(PATCHES)).split(","):
        if name.strip():
            PATCHES[name.strip()](app)
    return app
