"""Starting the app: one public address (PUBLIC_URL), and what production refuses to start with (issue 12)."""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sempelmas import create_app
from sempelmas.config import ConfigError
from sempelmas.extensions import db
from tests.conftest import PRODUCTION
from tests.conftest import test_config as base_config

ROOT = Path(__file__).resolve().parent.parent
WILDCARD = "0.0.0.0"  # noqa: S104 - what `make run HOST=0.0.0.0` passes, never bound here
ENV_EXAMPLE = ROOT / "deploy" / "sempelmas.env.example"


def start(tmp_path, **overrides):
    """create_app with the test defaults (no environment, no instance/config.py) plus ``overrides``."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'app.db'}", tmp_path, **overrides))
    with app.app_context():
        db.engine.dispose()
    return app


def refusal(tmp_path, **overrides) -> str:
    with pytest.raises(ConfigError) as caught:
        start(tmp_path, **overrides)
    return str(caught.value)


# ----------------------------------------------------------------------------- production refuses to start

def test_a_correct_production_config_starts_and_serves(tmp_path):
    app = start(tmp_path, **PRODUCTION)
    assert app.config["PUBLIC_URL"] == "https://layanan.jagalan.go.id"
    with app.app_context():
        db.create_all()
        assert app.test_client().get("/login").status_code == 200  # it answers requests
        db.engine.dispose()


def test_production_over_https_sends_secure_cookies_and_hsts_without_being_told_twice(tmp_path):
    """PUBLIC_URL=https://… is enough: a session cookie without Secure could leave over plain http."""
    app = start(tmp_path, **PRODUCTION, WTF_CSRF_ENABLED=True)  # the login form's token goes into the session
    with app.app_context():
        db.create_all()
        resp = app.test_client().get("/login")
        cookies = [v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session=")]
        assert cookies and all("Secure" in c for c in cookies)
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        db.engine.dispose()
    assert start(tmp_path, **{**PRODUCTION, "SESSION_COOKIE_SECURE": False}).config["SESSION_COOKIE_SECURE"] is False
    assert start(tmp_path).config["SESSION_COOKIE_SECURE"] is False  # development over http


def test_production_refuses_to_start_without_public_url(tmp_path):
    message = refusal(tmp_path, **{**PRODUCTION, "PUBLIC_URL": None})
    assert "PUBLIC_URL is not set" in message and "QR code" in message


@pytest.mark.parametrize("key", ["change-me", "x" * 31, secrets.token_hex(15)])
def test_production_refuses_a_short_secret_key(tmp_path, key):
    message = refusal(tmp_path, **{**PRODUCTION, "SECRET_KEY": key})
    assert f"SECRET_KEY is {len(key)} characters long" in message and "token_hex(32)" in message


@pytest.mark.parametrize("key", ["change-me-change-me-change-me-change-me",
                                 "ganti-dengan-kunci-acak-yang-panjang-sekali",
                                 "your-secret-key-here-0123456789abcdef", "a" * 64, "ab" * 32,
                                 "replace_this_with_a_long_random_string_please"])
def test_production_refuses_a_placeholder_secret_key(tmp_path, key):
    assert "SECRET_KEY looks like a placeholder" in refusal(tmp_path, **{**PRODUCTION, "SECRET_KEY": key})


def test_production_accepts_random_keys_of_every_usual_kind(tmp_path):
    for key in (secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)):
        assert start(tmp_path, **{**PRODUCTION, "SECRET_KEY": key}).config["SECRET_KEY"] == key


def test_production_refuses_http_unless_explicitly_allowed(tmp_path):
    message = refusal(tmp_path, **{**PRODUCTION, "PUBLIC_URL": "http://layanan.jagalan.go.id"})
    assert "is not https://" in message and "PUBLIC_URL_ALLOW_HTTP=1" in message
    lan = start(tmp_path, **{**PRODUCTION, "PUBLIC_URL": "http://192.168.10.5:8000", "PUBLIC_URL_ALLOW_HTTP": True})
    assert lan.config["PUBLIC_URL"] == "http://192.168.10.5:8000"


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "https://localhost", "https://0.0.0.0:8000",
                                 "https://[::1]/", "https://127.0.1.1"])
def test_production_refuses_this_machines_own_address_even_with_http_allowed(tmp_path, url):
    message = refusal(tmp_path, **{**PRODUCTION, "PUBLIC_URL": url, "PUBLIC_URL_ALLOW_HTTP": True})
    assert "this machine's own address" in message


@pytest.mark.parametrize("url", ["https://layanan.kelurahan-anda.example", "https://example.com",
                                 "https://layanan.example.test", "https://contoh.desa.id"])
def test_production_refuses_an_example_address(tmp_path, url):
    assert "is an example address" in refusal(tmp_path, **{**PRODUCTION, "PUBLIC_URL": url})


def test_production_names_every_problem_at_once(tmp_path):
    message = refusal(tmp_path, ENV="production", SECRET_KEY="change-me")
    assert message.startswith("SEMPELMAS_ENV=production will not start")
    assert "SECRET_KEY is 9 characters long" in message and "PUBLIC_URL is not set" in message


def _example_env() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _eq, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_the_shipped_environment_example_is_refused_until_it_is_filled_in(tmp_path, monkeypatch):
    """deploy/sempelmas.env.example holds no value production accepts: it starts only once the key and the
    address are the operator's own."""
    values = _example_env()
    assert values["SEMPELMAS_ENV"] == "production" and "SECRET_KEY" in values and "PUBLIC_URL" in values
    for name in ("SECRET_KEY", "PUBLIC_URL", "PUBLIC_BASE_URL", "PUBLIC_URL_ALLOW_HTTP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        if name != "RATELIMIT_STORAGE_URI":  # a redis server is not part of this test
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr("sempelmas.ROOT", tmp_path)  # an instance folder without a secret_key file
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_hex(32))  # what `make run` writes
    with pytest.raises(ConfigError, match=re.escape(f"PUBLIC_URL={values['PUBLIC_URL']} is an example address")):
        create_app()
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("PUBLIC_URL", "https://layanan.jagalan.go.id")
    app = create_app()
    assert app.config["ENV"] == "production" and app.config["PUBLIC_URL"] == "https://layanan.jagalan.go.id"
    with app.app_context():
        db.engine.dispose()


def test_a_mistyped_environment_name_is_refused(tmp_path):
    assert "SEMPELMAS_ENV must be 'development' or 'production'" in refusal(tmp_path, ENV="produksi")


# ----------------------------------------------------------------------------- one public address

@pytest.mark.parametrize("url", ["layanan.jagalan.go.id", "ftp://layanan.jagalan.go.id", "https://",
                                 "https://layanan.jagalan.go.id/?a=1", "https://layanan.jagalan.go.id:port",
                                 "https://user:pw@layanan.jagalan.go.id"])
def test_a_public_url_that_cannot_be_a_link_is_refused_everywhere(tmp_path, url):
    assert "is not a site address" in refusal(tmp_path, PUBLIC_URL=url)


def test_public_url_keeps_a_path_prefix_and_drops_the_trailing_slash(tmp_path):
    app = start(tmp_path, PUBLIC_URL=" https://pemkot.example.id/jagalan/ ")
    assert app.config["PUBLIC_URL"] == "https://pemkot.example.id/jagalan"
    with app.app_context():
        from sempelmas import links

        assert links.absolute_url("/v/abc") == "https://pemkot.example.id/jagalan/v/abc"


def test_the_old_public_base_url_setting_is_refused_with_the_new_name(tmp_path, monkeypatch):
    """An install upgraded with PUBLIC_BASE_URL still in instance/config.py or its environment is told to rename
    it, rather than printing the letters' QR code with another address than the one it configured."""
    assert "rename it to PUBLIC_URL" in refusal(tmp_path, PUBLIC_BASE_URL="https://layanan.jagalan.go.id")
    for name in ("PUBLIC_URL", "PUBLIC_BASE_URL", "SEMPELMAS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "dev-key")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr("sempelmas.ROOT", tmp_path)
    (tmp_path / "instance").mkdir()
    config_py = tmp_path / "instance" / "config.py"
    config_py.write_text('PUBLIC_BASE_URL = "https://layanan.jagalan.go.id"\n')
    with pytest.raises(ConfigError, match=r"PUBLIC_BASE_URL is set in instance/config\.py.*rename it to PUBLIC_URL"):
        create_app()
    config_py.write_text('PUBLIC_URL = "https://layanan.jagalan.go.id"\n')
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://layanan.jagalan.go.id")
    with pytest.raises(ConfigError, match=r"PUBLIC_BASE_URL is set in the environment.*rename it to PUBLIC_URL"):
        create_app()
    monkeypatch.delenv("PUBLIC_BASE_URL")
    app = create_app()
    assert app.config["PUBLIC_URL"] == "https://layanan.jagalan.go.id"
    with app.app_context():
        db.engine.dispose()


def test_development_derives_public_url_from_the_address_make_run_serves(tmp_path, monkeypatch):
    """`make run HOST=… PORT=…` passes SEMPELMAS_HOST/SEMPELMAS_PORT to gunicorn and both workers."""
    for name in ("PUBLIC_URL", "PUBLIC_BASE_URL", "SEMPELMAS_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "dev-key")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr("sempelmas.ROOT", tmp_path)
    monkeypatch.setenv("SEMPELMAS_HOST", "127.0.0.1")
    monkeypatch.setenv("SEMPELMAS_PORT", "8123")
    assert create_app().config["PUBLIC_URL"] == "http://127.0.0.1:8123"
    monkeypatch.setenv("SEMPELMAS_HOST", "::1")
    assert create_app().config["PUBLIC_URL"] == "http://[::1]:8123"
    monkeypatch.setenv("SEMPELMAS_HOST", WILDCARD)
    wildcard = urlsplit(create_app().config["PUBLIC_URL"])
    # listening everywhere is not an address: this machine's LAN address (127.0.0.1 without a network)
    assert wildcard.scheme == "http" and wildcard.port == 8123
    assert not ipaddress.ip_address(wildcard.hostname).is_unspecified
    monkeypatch.setenv("PUBLIC_URL", "https://uji.jagalan.go.id")
    assert create_app().config["PUBLIC_URL"] == "https://uji.jagalan.go.id"  # a set PUBLIC_URL wins
    monkeypatch.delenv("SEMPELMAS_HOST")
    monkeypatch.delenv("SEMPELMAS_PORT")
    monkeypatch.delenv("PUBLIC_URL")
    assert create_app().config["PUBLIC_URL"] == "http://127.0.0.1:5000"  # make run's defaults


def test_the_cli_prints_the_address_letters_carry(tmp_path):
    app = start(tmp_path, SERVE_HOST="192.168.1.20", SERVE_PORT="8000")
    result = app.test_cli_runner().invoke(args=["public-url"])
    assert result.exit_code == 0 and result.output.strip() == "http://192.168.1.20:8000"


def test_an_operator_who_starts_a_misconfigured_site_reads_the_reason_not_a_traceback(tmp_path):
    """`flask --app app …` (and gunicorn, which imports the same app.py) stops with the message and a failure code."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PUBLIC_URL", "PUBLIC_BASE_URL")}
    env.update(SEMPELMAS_ENV="production", SECRET_KEY="change-me", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "public-url"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "SECRET_KEY is 9 characters long" in done.stderr and "PUBLIC_URL is not set" in done.stderr
    assert "Traceback" not in done.stderr
