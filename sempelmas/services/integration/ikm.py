"""The IKM (Indeks Kepuasan Masyarakat) per period and the public transparency numbers, for the API.

The IKM of a period is ``survey.period_result`` (the survey report's one computation: NRR per element, IKM,
converted score, category), for each month, quarter, semester or the whole of a year. The transparency numbers
are the public page's (/transparansi): ``service_stats.public_numbers`` and the IKM it publishes
(``survey.latest_public_result``).
"""

from __future__ import annotations

from datetime import date, timedelta

from sempelmas.services.accountability import service_stats, survey
from sempelmas.services.accountability.periods import next_month
from sempelmas.services.kelurahan import profile as profile_service

#: how a year is cut: months per period
GRANULARITY = {"month": 1, "quarter": 3, "semester": 6, "year": 12}


def _number(value) -> float | None:
    return float(value) if value is not None else None


def periods_of(year: int, per: str) -> list[survey.Period]:
    step = GRANULARITY[per]
    out = []
    for first in range(1, 13, step):
        start = date(year, first, 1)
        end = next_month(date(year, first + step - 1, 1)) - timedelta(days=1)
        out.append(survey.Period(start, end))
    return out


def results(year: int, per: str = "month") -> list[dict]:
    """One entry per period of ``year`` (those without any response say so: respondents 0, no index)."""
    out = []
    for period in periods_of(year, per):
        found = survey.period_result(period)
        entry = {"start": period.start.isoformat(), "end": period.end.isoformat(),
                 "respondents": found.respondents if found else 0,
                 "ikm": _number(found.ikm_shown) if found else None,
                 "converted": _number(found.converted) if found else None,
                 "category": found.category if found else None,
                 "category_label": str(found.category_label) if found else None,
                 "elements": [{"code": e.element.code, "name": str(e.element.name), "nrr": _number(e.nrr_shown),
                               "converted": _number(e.converted), "category": e.category, "lowest": e.lowest}
                              for e in found.elements] if found else []}
        out.append(entry)
    return out


def transparency() -> dict:
    """What /transparansi shows as numbers: this month and this year so far, and the IKM it publishes."""
    today = profile_service.local_today()
    numbers = service_stats.public_numbers(today)
    ikm_public = survey.latest_public_result()

    def block(b: dict) -> dict:
        return {"label": str(b["label"]), "received": b["received"], "completed": b["completed"],
                "on_time_share": b["on_time"], "median_seconds": b["median"]}

    return {
        "as_of": today.isoformat(),
        "month": block(numbers["month"]),
        "year": block(numbers["year"]),
        "ikm": None if ikm_public is None else {
            "start": ikm_public["period"].start.isoformat(), "end": ikm_public["period"].end.isoformat(),
            "label": str(ikm_public["label"]), "respondents": ikm_public["respondents"],
            "ikm": _number(ikm_public["ikm"]), "converted": _number(ikm_public["converted"]),
            "category": ikm_public["category"], "category_label": str(ikm_public["category_label"])},
    }
