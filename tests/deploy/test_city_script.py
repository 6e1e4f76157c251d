"""deploy/sempelmas-city run for real against the local PostgreSQL server and the app's own `flask` commands,
with temporary folders for /etc/sempelmas, /var/lib/sempelmas, the systemd and nginx folders, and a recorder
in place of systemctl and `nginx -t` (the units are not started: nothing here is root's)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.deploy import pg
from tests.redis_server import running_redis

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "sempelmas-city"
# scratch database names of this run: two test runs on one server (a helper's and CI's) never meet
PREFIX = f"sempelmas_deploy_{os.getpid()}_"
DB_X, DB_Y, DB_Z, DB_BROKEN = (PREFIX + x for x in ("x", "y", "z", "broken"))
ADMIN_PASSWORD = "admin-kota-uji-12345"

RECORDER = """#!/bin/sh
printf '%s\\n' "$*" >> "$RECORD"
[ "$1" = is-active ] && echo active
exit 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def city(tmp_path):
    pg.need_server()
    with running_redis(tmp_path) as (redis_url, _client):
        yield from _city(tmp_path, redis_url)


def _city(tmp_path, redis_url):
    pg.drop(DB_X, DB_Y, DB_Z)
    recorder = tmp_path / "recorder"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    env = {**os.environ,
           "RECORD": str(tmp_path / "record.log"),
           "SEMPELMAS_CITY_ETC": str(tmp_path / "etc"), "SEMPELMAS_CITY_DATA": str(tmp_path / "data"),
           "SEMPELMAS_CITY_SYSTEMD": str(tmp_path / "systemd"), "SEMPELMAS_CITY_NGINX": str(tmp_path / "nginx"),
           "SEMPELMAS_CITY_CODE": str(ROOT), "SEMPELMAS_CITY_PYTHON": sys.executable,
           "SEMPELMAS_CITY_SYSTEMCTL": str(recorder), "SEMPELMAS_CITY_NGINX_TEST": f"{recorder} nginx -t",
           "SEMPELMAS_CITY_CREATEDB": "createdb", "SEMPELMAS_CITY_DROPDB": "dropdb", "SEMPELMAS_CITY_RUNAS": "",
           "SEMPELMAS_CITY_OWNER": "", "SEMPELMAS_CITY_FIRST_PORT": str(free_port()),
           "SEMPELMAS_CITY_ADMIN_PASSWORD": ADMIN_PASSWORD, "SEMPELMAS_CITY_REDIS": redis_url}
    for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "SEMPELMAS_ENV", "SEMPELMAS_INSTANCE"):
        env.pop(name, None)

    def call(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                              timeout=300)

    call.env, call.tmp = env, tmp_path
    log = tmp_path / "record.log"
    call.record = lambda: log.read_text().splitlines() if log.exists() else []
    yield call
    pg.drop(DB_X, DB_Y, DB_Z, DB_BROKEN)


def read_env(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_add_two_kelurahan_then_list_and_upgrade_all(city):
    done = city("add", "jagalan", "--host", "layanan.jagalan.go.id", "--db-url", f"postgresql+psycopg:///{DB_X}")
    assert done.returncode == 0, done.stderr
    done = city("add", "miji", "--host", "layanan.miji.go.id", "--db-url", f"postgresql+psycopg:///{DB_Y}",
                "--admin-user", "adminmiji")
    assert done.returncode == 0, done.stderr

    etc, data = city.tmp / "etc", city.tmp / "data"
    jag, miji = read_env(etc / "jagalan.env"), read_env(etc / "miji.env")
    assert stat.S_IMODE((etc / "jagalan.env").stat().st_mode) == 0o640
    assert stat.S_IMODE((data / "jagalan").stat().st_mode) == 0o750
    for env, name, host in ((jag, "jagalan", "layanan.jagalan.go.id"), (miji, "miji", "layanan.miji.go.id")):
        assert env["SEMPELMAS_ENV"] == "production" and env["PUBLIC_URL"] == f"https://{host}"
        assert re.fullmatch(r"[0-9a-f]{64}", env["SECRET_KEY"])
        assert env["SEMPELMAS_INSTANCE"] == str(data / name)
        assert env["RATELIMIT_KEY_PREFIX"] == f"sempelmas-{name}"
        assert env["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert jag["SECRET_KEY"] != miji["SECRET_KEY"] and jag["PKI_CA_PASSPHRASE"] != miji["PKI_CA_PASSPHRASE"]
    assert int(miji["SEMPELMAS_WEB_PORT"]) == int(jag["SEMPELMAS_WEB_PORT"]) + 1

    # each database migrated, with its own first admin and the standard catalogue
    assert pg.query(DB_X, "SELECT username FROM users") == "admin"
    assert pg.query(DB_Y, "SELECT username FROM users") == "adminmiji"
    assert int(pg.query(DB_X, "SELECT count(*) FROM alembic_version")) == 1
    assert int(pg.query(DB_Y, "SELECT count(*) FROM services")) > 5

    site = (city.tmp / "nginx" / "sempelmas-jagalan.conf").read_text()
    assert "server_name layanan.jagalan.go.id;" in site and f"127.0.0.1:{jag['SEMPELMAS_WEB_PORT']};" in site
    assert f"alias {ROOT}/static/;" in site and "@" not in site.replace("sempelmas-web@jagalan", "")
    units = sorted(p.name for p in (city.tmp / "systemd").iterdir())
    assert "sempelmas-web@.service" in units and "sempelmas@.target" in units
    record = city.record()
    assert record.count("daemon-reload") == 1  # the units copied once, not again for the second kelurahan
    assert "enable --now sempelmas@jagalan.target" in record and "enable --now sempelmas@miji.target" in record
    assert record.count("nginx -t") == 2 and record.count("reload nginx") == 2

    # a host or database already taken, and a bad name, are refused before anything is made
    assert city("add", "jagalan2", "--host", "layanan.jagalan.go.id").returncode == 2
    assert city("add", "kedundung", "--host", "layanan.kedundung.go.id",
                "--db-url", f"postgresql+psycopg:///{DB_X}").returncode == 2
    assert city("add", "Bad Name", "--host", "layanan.x.go.id").returncode == 2
    assert sorted(p.name for p in etc.iterdir()) == ["jagalan.env", "miji.env"]

    # a step that fails (migrations against a database that does not exist) undoes what was made
    broken = city("add", "broken", "--host", "layanan.broken.go.id", "--existing-db",
                  "--db-url", f"postgresql+psycopg:///{DB_BROKEN}")
    assert broken.returncode == 2 and "migrasi" in broken.stderr
    assert not (etc / "broken.env").exists() and not (data / "broken").exists()
    assert not (city.tmp / "nginx" / "sempelmas-broken.conf").exists()

    # create-admin refusing the password: its message shown, and the database it had created dropped again
    weak = subprocess.run([sys.executable, str(SCRIPT), "add", "kedundung", "--host", "layanan.kedundung.go.id",
                           "--db-url", f"postgresql+psycopg:///{DB_Z}"], env={**city.env,
                          "SEMPELMAS_CITY_ADMIN_PASSWORD": "pendek"}, capture_output=True, text=True, timeout=300)
    assert weak.returncode == 2 and "create-admin" in weak.stderr and "GetPassWarning" not in weak.stderr
    assert pg.query("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{DB_Z}'") == "0"  # noqa: S608 - the test's own name
    assert sorted(p.name for p in etc.iterdir()) == ["jagalan.env", "miji.env"]

    # list: jagalan's gunicorn runs (as its unit would, from its env file); miji's does not answer
    jag_env = {**city.env, **jag}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--bind",
                            f"127.0.0.1:{jag['SEMPELMAS_WEB_PORT']}", "--workers", "1", "--worker-class", "gthread",
                            "--threads", "2", "--no-control-socket", "app:app"], cwd=ROOT,
                           env=jag_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    background = None
    try:
        _wait_http(int(jag["SEMPELMAS_WEB_PORT"]))
        # a kelurahan just added answers, but is not healthy yet: its doctor finds no background process and no
        # backup (the first nightly backup has not run), and says so
        done = city("list", "--json")
        assert done.returncode == 1, done.stderr
        rows = {r["name"]: r for r in json.loads(done.stdout)}
        assert rows["jagalan"]["http"] == "ok" and rows["jagalan"]["units"] == {"web": "active", "worker": "active"}
        assert not rows["jagalan"]["healthy"] and rows["jagalan"]["doctor"]["faults"] == ["backups", "workers"]
        # once its background process beats and its first backup exists, it is healthy
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "backup", "create"], cwd=ROOT, env=jag_env,
                       check=True, capture_output=True, timeout=300)
        background = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "background"], cwd=ROOT,
                                      env=jag_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_beats(data / "jagalan")
        done = city("list", "--json")
        text = city("list")
    finally:
        for proc in (web, background):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    assert done.returncode == 1, done.stderr  # miji is still not healthy
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["jagalan"]["healthy"] and rows["jagalan"]["doctor"]["faults"] == [], rows["jagalan"]["doctor"]
    assert rows["miji"]["http"].startswith("tidak menjawab") and not rows["miji"]["healthy"]
    assert rows["miji"]["database"] == DB_Y and rows["jagalan"]["public_url"] == "https://layanan.jagalan.go.id"
    assert re.search(r"SEHAT\s+jagalan.*doctor=ok", text.stdout)
    assert re.search(r"MASALAH\s+miji.*doctor=GAGAL\(backups,workers\)", text.stdout)

    # upgrade-all: every database migrated (already current here), every deployment restarted
    done = city("upgrade-all")
    assert done.returncode == 0, done.stderr
    assert "restart sempelmas@jagalan.target" in city.record() and "restart sempelmas@miji.target" in city.record()
    # one whose migration fails is named and not restarted; the others still are
    env_file = etc / "miji.env"
    env_file.write_text(env_file.read_text().replace(DB_Y, PREFIX + "missing"))
    before = len(city.record())
    done = city("upgrade-all")
    assert done.returncode == 1 and "GAGAL: miji" in done.stderr
    assert city.record()[before:] == ["restart sempelmas@jagalan.target"]


def _wait_beats(instance: Path, seconds: float = 60) -> None:
    """Until `flask background` has marked both its loops alive (services/operations/heartbeat.py)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(list((instance / "run").glob("*.alive"))) >= 2:
            return
        time.sleep(0.3)
    raise AssertionError(f"no heartbeat in {instance / 'run'}")


def _wait_http(port: int, seconds: float = 60) -> None:
    """Until the worker has booted (the app imported) and answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"gunicorn did not answer on {port}")
