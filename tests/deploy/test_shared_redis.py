"""Rate limits of several kelurahan in one shared redis (the city server's, deploy/sempelmas-city), apart by
RATELIMIT_KEY_PREFIX. Each deployment runs in a process of its own, configured from its environment the way its
systemd units are (SEMPELMAS_INSTANCE, RATELIMIT_STORAGE_URI, RATELIMIT_KEY_PREFIX): Flask-Limiter keeps one
store per process, so two deployments in one process would not show it. A redis-server of the test's own on a
free loopback port; skipped when redis-server is not installed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis_server import running_redis

ROOT = Path(__file__).resolve().parents[2]

# One deployment's process: its app from the environment alone; N login attempts, then one verification page.
CHILD = """
import json, sys
from sempelmas import create_app
from sempelmas.extensions import db
app = create_app()
with app.app_context():
    db.create_all()
client = app.test_client()
codes = [client.post("/login", data={"identifier": "nobody", "password": "salah-salah-1"}).status_code
         for _ in range(int(sys.argv[1]))]
verify = client.get("/v/tidakada").status_code
print(json.dumps({"instance": app.instance_path, "options": app.config.get("RATELIMIT_STORAGE_OPTIONS"),
                  "login": codes, "verify": verify}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    with running_redis(tmp_path) as answer:
        yield answer


def _deployment(tmp_path: Path, name: str, redis_uri: str, attempts: int) -> dict:
    instance = tmp_path / name
    instance.mkdir()
    # the instance's own config.py is read (SEMPELMAS_INSTANCE picks the folder): a tight login limit
    (instance / "config.py").write_text('LOGIN_RATE_LIMIT = "3 per minute"\nWTF_CSRF_ENABLED = False\n'
                                        'VERIFY_RATE_LIMIT = "100 per minute"\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PUBLIC_URL", "SEMPELMAS_ENV", "RATELIMIT_STORAGE_URI")}
    env.update(SECRET_KEY=f"{name}-" + "0123456789abcdef" * 3, SEMPELMAS_INSTANCE=str(instance),
               DATABASE_URL=f"sqlite:///{instance / 'sempelmas.db'}", RATELIMIT_STORAGE_URI=redis_uri,
               RATELIMIT_KEY_PREFIX=f"sempelmas-{name}")
    done = subprocess.run([sys.executable, "-c", CHILD, str(attempts)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kelurahan_count_their_limits_apart_in_one_redis(tmp_path, redis_url):
    uri, redis_client = redis_url
    jagalan = _deployment(tmp_path, "jagalan", uri, attempts=4)
    assert jagalan["instance"] == str(tmp_path / "jagalan")
    assert jagalan["options"] == {"key_prefix": "sempelmas-jagalan"}
    assert jagalan["login"][:3] == [200, 200, 200] and jagalan["login"][3] == 429  # the 4th from this address

    # the same client address at the other kelurahan, right after: its own counter, not Jagalan's
    miji = _deployment(tmp_path, "miji", uri, attempts=3)
    assert miji["login"] == [200, 200, 200]

    keys = sorted(k.decode() for k in redis_client.keys("*"))
    assert keys and all(k.startswith(("sempelmas-jagalan", "sempelmas-miji")) for k in keys)
    # the verification page's own counter (limits' store asked directly) is under each prefix too
    assert any(k.startswith("sempelmas-jagalan") and "verify" in k for k in keys)
    assert any(k.startswith("sempelmas-miji") and "verify" in k for k in keys)
    assert any(k.startswith("sempelmas-miji") and "login" in k for k in keys)
