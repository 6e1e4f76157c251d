"""Announcing that an operation of v1 is going away (docs/API.md, "Deprecation"): ``@deprecated(...)`` on a view
adds ``Deprecation`` (RFC 9745: ``@<unix time>`` of the decision), ``Sunset`` (RFC 8594: the HTTP date after
which it may stop answering) and a ``Link`` to what replaces it to every answer, errors included, and marks the
operation ``deprecated`` in the OpenAPI document."""

from __future__ import annotations

import calendar
import functools
from datetime import UTC, date, datetime

from flask import after_this_request
from werkzeug.http import http_date


def _utc(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def deprecation_headers(*, since: date | datetime, sunset: date | datetime | None = None,
                        link: str | None = None) -> dict[str, str]:
    """The headers announcing a deprecation decided at ``since``, ending at ``sunset``, replaced by ``link``."""
    headers = {"Deprecation": f"@{calendar.timegm(_utc(since).timetuple())}"}
    if sunset is not None:
        headers["Sunset"] = http_date(_utc(sunset))
    if link:
        headers["Link"] = f'<{link}>; rel="deprecation"; type="text/html"'
    return headers


def deprecated(*, since: date | datetime, sunset: date | datetime | None = None, link: str | None = None):
    """Mark a view deprecated: the headers on each of its answers, ``deprecated: true`` in the document."""
    headers = deprecation_headers(since=since, sunset=sunset, link=link)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            @after_this_request
            def _announce(resp):
                for name, value in headers.items():
                    resp.headers[name] = value
                return resp

            return view(*args, **kwargs)

        doc = dict(getattr(view, "_apidoc", {}) or {})
        doc["manual_doc"] = {**doc.get("manual_doc", {}), "deprecated": True}
        wrapper._apidoc = doc
        return wrapper

    return decorate
