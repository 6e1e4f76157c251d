"""Versioned static URLs: ``url_for('static', filename=...)`` carries ``?v=<content hash>``, and a
request for the current version is cached by the browser for a year.

A repeat visit then loads the stylesheet and scripts from the browser's cache without even asking
(a phone on patchy mobile data saves a round trip per file); a changed file gets a new URL. A request
with another or no ``v`` (an old cached page, a hand-typed URL) keeps Flask's default: ``no-cache``
with an ETag, answered by 304 when unchanged.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, request
from werkzeug.security import safe_join

#: one year, the longest lifetime browsers honour
STATIC_MAX_AGE = 365 * 24 * 3600


def register(app: Flask) -> None:
    folder = app.static_folder
    known: dict[str, tuple[int, str]] = {}  # filename -> (mtime_ns, version)

    def version(filename: str | None) -> str | None:
        """The first 12 hex digits of the file's SHA-256; re-read when its mtime changes (debug only:
        in production the files change only with a deployment, which restarts the workers)."""
        if not filename or not folder:
            return None
        seen = known.get(filename)
        if seen and not app.debug:
            return seen[1]
        path = safe_join(folder, filename)
        try:
            mtime = os.stat(path).st_mtime_ns if path else None
        except OSError:
            mtime = None
        if mtime is None:
            return None
        if seen and seen[0] == mtime:
            return seen[1]
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        known[filename] = (mtime, digest)
        return digest

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            v = version(values.get("filename"))
            if v:
                values["v"] = v

    compressible = set(app.config.get("COMPRESS_MIMETYPES") or ())

    @app.after_request
    def _static_file(resp):
        if request.endpoint != "static" or resp.status_code not in (200, 304):
            return resp
        v = request.args.get("v")
        if v and v == version((request.view_args or {}).get("filename")):
            cc = resp.cache_control
            cc.no_cache = None
            cc.public = True
            cc.max_age = STATIC_MAX_AGE
            cc.immutable = True
            resp.expires = None  # max-age rules; send_file's Expires would say "now"
        if resp.status_code == 200 and resp.is_streamed and resp.mimetype in compressible:
            # Read the (small) file now and close it: Flask-Compress then compresses it as a body. It leaves
            # streamed responses alone (COMPRESS_STREAMS = False: its streaming compressor never closes the
            # file it wraps, a ResourceWarning per request).
            close = getattr(resp.response, "close", None)
            resp.direct_passthrough = False
            resp.response = [b"".join(resp.iter_encoded())]
            if close is not None:
                close()
        return resp
