"""Template globals and filters: profile, dates in the profile's time zone, masking."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime

from sempelmas.domain.masking import mask_name, mask_nik
from sempelmas.models.accounts import ACCOUNT_STATUS_LABELS, ROLE_LABELS, Role
from sempelmas.services.requests import lifecycle


def _date_long(value: date | None) -> str:
    """27 November 2026 (in the chosen locale)."""
    if not value:
        return ""
    return format_date(value, "d MMMM yyyy")


def _datetime_local(value: datetime | None) -> str:
    """A stored UTC timestamp shown in the profile's time zone: 27 November 2026 14.05 WIB (14:05 in English)."""
    if not value:
        return ""
    from sempelmas.services.kelurahan.profile import current_profile

    profile = current_profile()
    tz_label = profile.timezone if profile else "WIB"
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    from sempelmas.domain.dates import TIME_SEPARATOR
    from sempelmas.web.i18n import current_lang

    sep = TIME_SEPARATOR.get(current_lang(), ".")
    return f"{format_datetime(aware, f'd MMMM yyyy HH{sep}mm')} {tz_label}"


def register(app: Flask) -> None:
    app.jinja_env.filters["date_long"] = _date_long
    app.jinja_env.filters["datetime_local"] = _datetime_local
    app.jinja_env.filters["mask_nik"] = mask_nik
    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.globals["ROLE_LABELS"] = ROLE_LABELS
    app.jinja_env.globals["ACCOUNT_STATUS_LABELS"] = ACCOUNT_STATUS_LABELS
    app.jinja_env.globals["Role"] = Role
    # the endorsements in force: a return to the resident voids the earlier ones (services.requests.lifecycle)
    app.jinja_env.filters["current_endorsements"] = lifecycle.current_endorsements

    @app.context_processor
    def _globals():
        from sempelmas.services.kelurahan.profile import current_profile
        from sempelmas.web.i18n import current_lang

        return {"profile": current_profile(), "current_lang": current_lang()}
