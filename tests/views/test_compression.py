"""Responses are compressed for browsers that ask (brotli or gzip), plain for those that do not; PDFs
and images never; static files carry a content version in their URL and are cached for a year."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest

from sempelmas.extensions import db
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.kelurahan.profile import forget_cached_profile
from sempelmas.services.letters import store as letter_store
from tests.letter_fixtures import issue_letter
from tests.request_factory import make_profile, make_service

STATIC = Path(__file__).resolve().parents[2] / "static"
CHROME = "gzip, deflate, br, zstd"  # what Chromium sends over HTTPS (and to localhost)


def decoded(resp) -> str:
    enc = resp.headers.get("Content-Encoding")
    raw = resp.get_data()
    if enc == "br":
        raw = brotli.decompress(raw)
    elif enc == "gzip":
        raw = gzip.decompress(raw)
    else:
        assert enc is None, enc
    return raw.decode()


@pytest.fixture
def letter(app, factory):
    make_profile()
    make_service()
    return issue_letter(app, factory, factory.warga(name="BUDI SANTOSO"))["letter"]


@pytest.mark.parametrize(("accept", "encoding"), [
    (CHROME, "br"), ("gzip, deflate", "gzip"), ("br;q=0.5, gzip", "gzip"), ("", None), ("identity", None),
])
def test_login_page_is_compressed_only_when_the_browser_accepts_it(client, accept, encoding):
    resp = client.get("/login", headers={"Accept-Encoding": accept})
    assert resp.status_code == 200
    assert resp.headers.get("Content-Encoding") == encoding
    assert "accept-encoding" in resp.headers["Vary"].lower()  # a shared cache keeps the variants apart
    html = decoded(resp)
    assert 'name="csrf_token"' in html and "</html>" in html
    if encoding:
        assert int(resp.headers["Content-Length"]) == len(resp.get_data()) < len(html.encode()) / 2


def test_resident_home_is_compressed_and_still_never_stored(client, factory, login_as):
    make_profile()
    login_as(factory.warga(name="SITI AMINAH"))
    resp = client.get("/warga/", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert "Siti Aminah" in decoded(resp)
    assert resp.headers["Cache-Control"] == "private, no-store"
    plain = client.get("/warga/")
    assert "Content-Encoding" not in plain.headers and "Siti Aminah" in plain.get_data(as_text=True)


def test_verification_page_is_compressed_and_keeps_its_headers(client, letter):
    for accept, encoding in ((CHROME, "br"), ("gzip", "gzip"), ("", None)):
        resp = client.get(f"/v/{letter.verify_code}", headers={"Accept-Encoding": accept})
        assert resp.status_code == 200
        assert resp.headers.get("Content-Encoding") == encoding
        assert resp.headers["Cache-Control"] == "no-store"  # a revocation shows at once
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "Set-Cookie" not in resp.headers  # still cookie-free for anonymous scanners
        assert 'id="verdict">SAH<' in decoded(resp)


def test_pdf_is_never_compressed(client, letter):
    profile = db.session.scalar(db.select(KelurahanProfile))
    profile.verify_offers_pdf = True
    db.session.commit()
    forget_cached_profile()
    resp = client.get(f"/v/{letter.verify_code}/unduh", headers={"Accept-Encoding": CHROME})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "Content-Encoding" not in resp.headers
    assert resp.get_data() == letter_store.read_pdf(letter)


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_static_urls_carry_the_files_content_version(client):
    urls = static_urls(client.get("/login").get_data(as_text=True))
    assert any("css/app.css" in u for u in urls) and any("htmx" in u for u in urls)
    for url in urls:
        path, _, query = url.partition("?")
        digest = hashlib.sha256((STATIC / path.removeprefix("/static/")).read_bytes()).hexdigest()[:12]
        assert query == f"v={digest}"


def test_versioned_static_file_is_cached_a_year_and_compressed(client):
    url = next(u for u in static_urls(client.get("/login").get_data(as_text=True)) if "css/app.css" in u)
    source = (STATIC / "css/app.css").read_text()
    resp = client.get(url, headers={"Accept-Encoding": CHROME})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "br"
    assert decoded(resp) == source
    cc = resp.cache_control
    assert cc.public and cc.max_age == 365 * 24 * 3600 and cc.immutable and not cc.no_cache
    resp = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip" and decoded(resp) == source
    resp = client.get(url)
    assert "Content-Encoding" not in resp.headers and resp.get_data(as_text=True) == source


@pytest.mark.parametrize("query", ["", "?v=000000000000"])
def test_unversioned_or_stale_static_url_is_revalidated(client, query):
    """Without the current version (an old page, a typed URL) the browser must ask again: ETag and 304."""
    resp = client.get(f"/static/css/app.css{query}", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.cache_control.no_cache and not resp.cache_control.max_age
    etag = resp.headers["ETag"]
    again = client.get(f"/static/css/app.css{query}", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
