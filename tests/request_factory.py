"""Building letter requests for tests: a profile, a service and a family on one KK."""

from __future__ import annotations

from datetime import UTC, datetime

from sempelmas.extensions import db
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.requests import catalogue
from sempelmas.services.requests import submission as requests

#: Tuesday 2026-03-03 09:00 WIB, inside office hours
TUESDAY_9_WIB = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def make_profile(*, prefix="JGL", office_hours="Senin-Kamis 07:30-15:30; Jumat 07:30-14:00") -> KelurahanProfile:
    profile = KelurahanProfile(province_name="Jawa Timur", regency_name="Mojokerto", district_name="Kranggan",
                               village_name="Jagalan", region_code="35.76.03.1004", address="Jl. Pemuda 2",
                               timezone="WIB", office_hours=office_hours, tracking_prefix=prefix)
    db.session.add(profile)
    db.session.flush()
    return profile


def make_service(code="domisili", *, needs_rt=True, paper_when_no_rt=True, time_value=1, time_unit="hari_kerja",
                 fields="keperluan | Keperluan | text | ya\ntanggal | Tanggal kejadian | date | tidak"):
    data = {"code": code, "name": f"Surat {code}", "description": "", "who_may_request": "warga",
            "needs_rt_endorsement": needs_rt, "paper_pengantar_when_no_rt_account": paper_when_no_rt,
            "service_time_value": time_value, "service_time_unit": time_unit, "classification_code": "470",
            "letter_template": code, "validity_days": None, "enabled": True, "sort_order": 1}
    reqs, _e = catalogue.parse_requirement_lines("kk | Fotokopi KK | ya | ya")
    parsed, errors = catalogue.parse_field_lines(fields)
    assert not errors
    service = catalogue.save_service(None, data, reqs, parsed)
    db.session.commit()
    return service


def submit(applicant, subject=None, *, service="domisili", key=None, answers=None, now=TUESDAY_9_WIB, **kw):
    return requests.submit(service, applicant, subject or applicant.resident,
                           answers if answers is not None else {"keperluan": "Melamar pekerjaan"},
                           idempotency_key=key, now=now, **kw)
