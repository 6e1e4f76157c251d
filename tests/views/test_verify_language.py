"""The public verification page speaks the verifier's language: the browser's (Accept-Language) until one is
chosen with its switch, which works without a session (the page sets no cookie until the switch is used)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from sempelmas.models.accounts import Role
from tests.letter_fixtures import make_letter
from tests.request_factory import make_profile, make_service, submit


@pytest.fixture
def verify_app(make_app, factory):
    """CSRF on, as in production: the switch must work with the page's own token, not a session's. The requests
    run outside the setup's app context, each in its own as in a server (the language is kept in ``g``)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        letter = make_letter(submit(factory.warga()), factory.staff(Role.SIGNER, "ttd"))
        code = letter.verify_code
    return app, SimpleNamespace(verify_code=code)


def _get(client, letter, **headers):
    resp = client.get(f"/v/{letter.verify_code}", headers=headers)
    assert resp.status_code == 200
    return resp, resp.get_data(as_text=True)


@pytest.mark.parametrize(("accept", "lang"), [
    ("en-US,en;q=0.9", "en"),
    ("en-GB", "en"),
    ("id-ID,id;q=0.9,en;q=0.8", "id"),
    ("nl-NL,en;q=0.5", "en"),
    ("fr-FR,fr;q=0.9", "id"),  # neither language offered: Indonesian
    ("", "id"),
])
def test_the_page_follows_the_browsers_language(verify_app, accept, lang):
    app, letter = verify_app
    resp, html = _get(app.test_client(), letter, **({"Accept-Language": accept} if accept else {}))
    assert f'<html lang="{lang}">' in html
    if lang == "en":
        assert "Verify the authenticity of a letter" in html
        assert "Verifikasi keaslian surat" not in html and "4 March 2026" in html
    else:
        assert "Verifikasi keaslian surat" in html and "4 Maret 2026" in html
    assert "Accept-Language" in resp.headers["Vary"] and "Cookie" in resp.headers["Vary"]
    assert "Set-Cookie" not in resp.headers  # still no cookie for an anonymous scanner


def test_a_chosen_language_beats_the_browsers(verify_app):
    app, letter = verify_app
    client = app.test_client()
    client.set_cookie("lang", "id")
    assert '<html lang="id">' in _get(client, letter, **{"Accept-Language": "en-US,en"})[1]
    client.set_cookie("lang", "en")
    assert '<html lang="en">' in _get(client, letter, **{"Accept-Language": "id-ID"})[1]


def test_other_pages_stay_indonesian_first_whatever_the_browser_says(verify_app):
    app, _letter = verify_app
    html = app.test_client().get("/login", headers={"Accept-Language": "en-US,en"}).get_data(as_text=True)
    assert '<html lang="id">' in html


def test_the_switch_changes_the_language_without_a_session(verify_app):
    app, letter = verify_app
    client = app.test_client()
    _resp, html = _get(client, letter, **{"Accept-Language": "id-ID"})
    switch = re.search(r'<form method="post" action="([^"]+)" class="inline lang-switch">\s*'
                       r'<input type="hidden" name="token" value="([^"]+)">', html)
    assert switch and switch.group(1) == f"/v/{letter.verify_code}/bahasa"
    assert 'name="lang" value="en"' in html and ">English</button>" in html
    resp = client.post(switch.group(1), data={"lang": "en", "token": switch.group(2)})
    assert resp.status_code == 303 and resp.location.endswith(f"/v/{letter.verify_code}")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("lang=en") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "session" not in cookie
    _resp, html = _get(client, letter, **{"Accept-Language": "id-ID"})
    assert '<html lang="en">' in html and 'name="lang" value="id"' in html and ">Bahasa Indonesia</button>" in html
    # and back
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert client.post(f"/v/{letter.verify_code}/bahasa", data={"lang": "id", "token": token}).status_code == 303
    assert '<html lang="id">' in _get(client, letter)[1]


def test_the_switch_needs_the_pages_token_and_a_known_language(verify_app):
    app, letter = verify_app
    client = app.test_client()
    token = re.search(r'name="token" value="([^"]+)"', _get(client, letter)[1]).group(1)
    url = f"/v/{letter.verify_code}/bahasa"
    assert client.post(url, data={"lang": "en"}).status_code == 400  # no token: another site's form
    assert client.post(url, data={"lang": "xx", "token": token}).status_code == 400
    cross = client.post(url, data={"lang": "en", "token": token}, headers={"Origin": "https://jahat.example"})
    assert cross.status_code == 400 and "Set-Cookie" not in cross.headers
    assert client.post("/v/tidakada1234567890/bahasa", data={"lang": "en", "token": token}).status_code == 404
