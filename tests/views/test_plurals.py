"""A number with its unit reads right in both languages: "1 working day", "2 working days" (Indonesian writes
"1 hari kerja", "2 hari kerja"), never "working day(s)"."""

from __future__ import annotations

import flask
import flask_babel
import pytest
from flask_babel import force_locale

from sempelmas.domain import i18n
from sempelmas.domain import workdays as wd
from sempelmas.extensions import db
from sempelmas.models.catalogue import service_time_text
from sempelmas.services.accountability import data_rights
from sempelmas.services.requests import catalogue
from sempelmas.services.requests.catalogue_standard import seed_standard


def _in(client, lang: str) -> None:
    client.set_cookie("lang", lang)
    for name in ("lang", "_translations"):
        flask.g.pop(name, None)
    flask_babel.refresh()


@pytest.mark.parametrize(("value", "unit", "indonesian", "english"), [
    (1, "menit", "1 menit", "1 minute"),
    (10, "menit", "10 menit", "10 minutes"),
    (1, "jam", "1 jam", "1 hour"),
    (2, "jam", "2 jam", "2 hours"),
    (1, "hari_kerja", "1 hari kerja", "1 working day"),
    (3, "hari_kerja", "3 hari kerja", "3 working days"),
])
def test_service_times_in_both_languages(app, value, unit, indonesian, english):
    with force_locale("id"):
        assert wd.human_duration(value, unit) == indonesian == service_time_text(value, unit)
    with force_locale("en"):
        assert wd.human_duration(value, unit) == english == service_time_text(value, unit)


def test_the_domain_picks_the_form_by_the_number_without_an_app():
    """Outside an app (CLI import, pure tests) the Indonesian source is formatted; singular for exactly one."""
    assert i18n.ngettext("%(num)d apple", "%(num)d apples", 1) == "1 apple"
    assert i18n.ngettext("%(num)d apple", "%(num)d apples", 0) == "0 apples"
    assert i18n.ngettext("%(num)d of %(all)d", "%(num)d of %(all)d", 2, all=5) == "2 of 5"


def test_public_service_page_in_both_languages(client):
    seed_standard()
    one_day = catalogue.get_service("domisili")
    one_day.validity_days = 1
    catalogue.get_service("usaha").validity_days = 30
    db.session.commit()
    html = client.get("/layanan/domisili").get_data(as_text=True)
    assert "10 menit" in html and "<dd>1 hari</dd>" in html
    assert "<dd>30 hari</dd>" in client.get("/layanan/usaha").get_data(as_text=True)
    _in(client, "en")
    html = client.get("/layanan/domisili").get_data(as_text=True)
    assert "10 minutes" in html and "<dd>1 day</dd>" in html and "(s)" not in html
    assert "<dd>30 days</dd>" in client.get("/layanan/usaha").get_data(as_text=True)
    assert "1 hour" in client.get("/layanan/kematian").get_data(as_text=True)
    assert "1 working day" in client.get("/layanan/pindah_keluar").get_data(as_text=True)


def test_retention_days_in_both_languages(app, client):
    app.config["ATTACHMENT_RETENTION_DAYS"] = 1
    with force_locale("en"):
        assert any("(1 day after the request is completed)" in str(t) for t in data_rights.retained_items())
    app.config["ATTACHMENT_RETENTION_DAYS"] = 365
    with force_locale("en"):
        assert any("(365 days after the request is completed)" in str(t) for t in data_rights.retained_items())
    with force_locale("id"):
        assert any("(365 hari setelah permohonan selesai)" in str(t) for t in data_rights.retained_items())
    _in(client, "en")
    html = client.get("/privasi").get_data(as_text=True)
    assert "deleted 365 days after the request is completed" in html
