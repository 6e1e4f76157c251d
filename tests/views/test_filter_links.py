"""Every list page's own filter links, and odd values in their query parameters, answer a page, never a 500.

The admin's outbox answered its own "antri" filter link with a broken response: the filter value went to
``render``'s HTTP status. This walks every page without URL arguments that each demo account may open, follows
every link on it back to the same page with a query string (the filter, paging and sorting links), and then
sends each of those parameters with values a person or a bot might type: Unicode digits, a negative and a
huge number, a long string, HTML.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus
from sempelmas.services.kelurahan import demo
from sempelmas.services.kelurahan.demo import DEMO_RESIDENT_NIK, DEMO_RESIDENT_PASSWORD
from tests.conftest import Factory

LOGINS = [
    (DEMO_RESIDENT_NIK, DEMO_RESIDENT_PASSWORD),
    ("rt01", "rt01-demo"),
    ("petugas", "petugas-demo"),
    ("lurah", "lurah-demo"),
    ("admin", "admin-demo"),
    ("pendamping", "pendamping-demo"),
]
# downloads and files: not list pages (and slow to build for every odd value)
SKIP = ("/unduh", ".xlsx", ".csv", ".pdf", ".json", ".pem", ".crt", ".png", "/sw.js", "/manifest", "/logout",
        "/laporan/")
ODD_VALUES = ["²", "１２", "٣", "-1", "99999999999999999999", "x" * 500, "<b>&</b>", "2026-13-45", ""]
#: parameters list pages read, tried on every page whether or not a link on it carries them
COMMON = ("page", "per_page", "tahun", "bulan", "sebelum", "pelaku_id", "status", "q")
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, db_url):
    from tests.conftest import _build_app, clear_database

    app = _build_app(db_url, tmp_path_factory.mktemp("filter-links"), {})
    app.config["UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    app.config["LETTER_DIR"] = str(tmp_path_factory.mktemp("letters"))
    with app.app_context():
        clear_database()
        assert demo.seed()
        Factory().warga(status=AccountStatus.PENDING, rt="001", rw="001", name="SRI WAHYUNINGSIH")
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.rollback()
        clear_database()
        db.session.remove()
        db.engine.dispose()


def _start_pages(app) -> list[str]:
    pages = []
    for rule in app.url_map.iter_rules():
        if ("GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")
                and not any(s in rule.rule for s in SKIP)):
            pages.append(rule.rule)
    return sorted(pages)


def _own_links(path: str, html: str) -> set[str]:
    """Links on the page that lead back to the same path with a query string."""
    found = set()
    for href in HREF.findall(html):
        href = unescape(href)
        parts = urlsplit(href)
        if parts.netloc or not parts.query or (parts.path or path) != path:
            continue
        found.add(f"{path}?{parts.query}")
    return found


def _get(client, url: str, problems: list[str]):
    """GET ``url``; a server error (raised: the test app propagates exceptions) or a status that is no HTTP
    status is noted in ``problems``."""
    try:
        resp = client.get(url)
    except Exception as e:  # noqa: BLE001 - every kind of crash is the finding
        problems.append(f"{url} → {type(e).__name__}: {str(e)[:160]}")
        return None
    if resp.status_code >= 500 or resp.status_code < 100:
        problems.append(f"{url} → {resp.status}")
        return None
    return resp


@pytest.mark.parametrize("identifier,password", LOGINS, ids=[i for i, _p in LOGINS])
def test_every_filter_link_and_odd_query_value_answers_without_a_server_error(demo_app, identifier, password):
    client = demo_app.test_client()
    resp = client.post("/login", data={"identifier": identifier, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    problems: list[str] = []
    followed: set[str] = set()
    for page in _start_pages(demo_app):
        first = _get(client, page, problems)
        if first is None:
            continue
        if first.status_code != 200 or first.mimetype != "text/html":
            continue  # not this role's page (403/404/redirect) or not a page
        for name in COMMON:
            for odd in ("²", "٣", "99999999999999999999"):
                _get(client, f"{page}?{urlencode({name: odd})}", problems)
        for link in sorted(_own_links(page, first.get_data(as_text=True))):
            followed.add(link)
            got = _get(client, link, problems)
            if got is None:
                continue
            if got.status_code != 200:
                problems.append(f"{link} → {got.status}")
                continue
            query = parse_qsl(urlsplit(link).query, keep_blank_values=True)
            for i, (name, _value) in enumerate(query):
                for odd in ODD_VALUES:
                    mutated = [*query[:i], (name, odd), *query[i + 1:]]
                    _get(client, f"{page}?{urlencode(mutated)}", problems)
    if identifier == "admin":  # the walk reaches the link the outbox failed on
        assert "/admin/kotak-keluar?status=antri" in followed
    assert problems == [], "\n".join(problems)
