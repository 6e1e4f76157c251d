"""`flask doctor`: each fault it reports, made to happen for real (a world-readable instance folder, a missing CA
key, a database at an old migration, a stale worker, a disk below its threshold, an old backup, a skewed clock,
memory:// rate limits in production…), and a clean production install that reports OK and exits 0."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sempelmas import create_app
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.operations import backup_create, doctor, heartbeat, worker_loop
from tests import conftest
from tests.conftest import PRODUCTION
from tests.migration_db import ROOT, migration_db
from tests.redis_server import running_redis
from tests.request_factory import make_profile


def run_doctor(app, *args: str) -> tuple[int, list[dict]]:
    """``flask doctor --json …`` through the CLI: its exit code and its findings."""
    result = app.test_cli_runner().invoke(args=["doctor", "--json", *args])
    return result.exit_code, json.loads(result.stdout)["findings"]


def levels(findings: list[dict], check: str) -> set[str]:
    return {f["level"] for f in findings if f["check"] == check}


def faults(findings: list[dict], check: str) -> list[dict]:
    return [f for f in findings if f["check"] == check and f["level"] == "FAULT"]


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """This test's own instance folder, closed as an install should have it."""
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o700)
    monkeypatch.setattr(app, "instance_path", str(folder))
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on 127.0.0.1 for the shared rate-limit store."""
    with running_redis(tmp_path) as (url, _client):
        yield url


def _beat_for_real(name: str) -> None:
    """One round of the workers' real loop: it marks the worker alive."""
    stop = threading.Event()

    def one_round() -> float:
        stop.set()
        return 0.0

    worker_loop.run_rounds(name, one_round, stop=stop)


# ---------------------------------------------------------------------------------------------------- settings

def test_memory_rate_limits_in_production_are_a_fault(make_app):
    app = make_app(**PRODUCTION)
    with app.app_context():
        code, found = run_doctor(app, "--only", "settings")
    assert code == 1
    (fault,) = faults(found, "ratelimit")
    assert "memory://" in fault["message"] and "redis://" in fault["fix"]


def test_a_shared_store_that_does_not_answer_is_a_fault_and_one_that_does_is_ok(app, redis_url):
    app.config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{_free_port()}/0"
    assert levels(run_doctor(app, "--only", "settings")[1], "ratelimit") == {"FAULT"}
    app.config["RATELIMIT_STORAGE_URI"] = redis_url
    assert levels(run_doctor(app, "--only", "settings")[1], "ratelimit") == {"OK"}


def test_a_secret_key_copied_from_the_repository_is_a_fault_in_production(make_app):
    app = make_app(**PRODUCTION)  # the tests' production key: random, long, and published in tests/conftest.py
    with app.app_context():
        code, found = run_doctor(app, "--only", "settings")
        assert code == 1
        assert any("SECRET_KEY sama dengan kunci yang tertulis" in f["message"] for f in faults(found, "settings"))
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        assert levels(run_doctor(app, "--only", "settings")[1], "settings") == {"OK"}


def test_development_mode_is_a_warning_not_a_fault(app):
    code, found = run_doctor(app, "--only", "settings")
    assert code == 0
    assert [f["fix"] for f in found if f["check"] == "settings"] == ["SEMPELMAS_ENV=production"]


@pytest.mark.parametrize("settings, words", [
    ({"MAIL_SERVER": "smtp.jagalan.go.id", "MAIL_FROM": None}, "MAIL_FROM"),
    ({"MAIL_SERVER": "smtp.jagalan.go.id", "MAIL_FROM": "a@b.id", "MAIL_USE_TLS": True, "MAIL_USE_SSL": True},
     "MAIL_USE_TLS dan MAIL_USE_SSL"),
    ({"MAIL_SERVER": "smtp.jagalan.go.id", "MAIL_FROM": "a@b.id", "MAIL_USERNAME": "layanan", "MAIL_PASSWORD": None},
     "MAIL_USERNAME dan MAIL_PASSWORD"),
    ({"NOTIFY_GATEWAY_URL": "wa.example.net/send"}, "bukan alamat http(s)"),
    ({"NOTIFY_GATEWAY_URL": "https://wa.jagalan.go.id/send", "NOTIFY_GATEWAY_TEMPLATE": '{"to": "{phone}"}'},
     "NOTIFY_GATEWAY_TEMPLATE"),
    ({"NOTIFY_GATEWAY_URL": "https://wa.jagalan.go.id/send", "NOTIFY_GATEWAY_AUTH_HEADER": "Bearer xyz"},
     "NOTIFY_GATEWAY_AUTH_HEADER"),
])
def test_incoherent_mail_or_gateway_settings_are_a_fault(make_app, settings, words):
    app = make_app(**PRODUCTION)
    with app.app_context():
        app.config.update(settings)
        code, found = run_doctor(app, "--only", "settings")
    assert code == 1
    assert any(words in f["message"] for f in faults(found, "notifications")), found


# ---------------------------------------------------------------------------------------------------- files

def test_a_world_readable_instance_folder_is_a_fault(app, instance):
    assert levels(run_doctor(app, "--only", "permissions")[1], "permissions") == {"OK"}
    instance.chmod(0o755)
    code, found = run_doctor(app, "--only", "permissions")
    assert code == 1
    (fault,) = faults(found, "permissions")
    assert "mode 755" in fault["message"] and fault["fix"] == f"chmod o-rwx {instance}"


def test_a_key_file_others_can_read_is_a_fault(app, instance):
    key = instance / "secret_key"
    key.write_text(secrets.token_hex(32))
    key.chmod(0o600)
    assert run_doctor(app, "--only", "permissions")[0] == 0
    key.chmod(0o640)  # the group too: a key is its owner's alone
    code, found = run_doctor(app, "--only", "permissions")
    assert code == 1 and faults(found, "permissions")[0]["fix"] == f"chmod 600 {key}"


def _ca(app, tmp_path):
    app.config.update(PKI_DIR=str(tmp_path / "pki"), PKI_CA_PASSPHRASE="passphrase-ca-yang-panjang-sekali",
                      PKI_KEY_SCRYPT_LOG_N=10)
    make_profile()
    assert letter_ca.init_ca()[0]
    db.session.commit()
    return tmp_path / "pki"


def test_a_missing_ca_key_file_is_a_fault(app, tmp_path):
    pki = _ca(app, tmp_path)
    assert levels(run_doctor(app, "--only", "pki")[1], "pki") == {"OK"}
    (pki / "ca-key.pem").unlink()
    code, found = run_doctor(app, "--only", "pki")
    assert code == 1
    assert "ca-key.pem hilang" in faults(found, "pki")[0]["message"]


def test_a_ca_key_the_passphrase_does_not_open_is_a_fault(app, tmp_path):
    _ca(app, tmp_path)
    app.config["PKI_CA_PASSPHRASE"] = "passphrase-yang-salah-sama-sekali"
    code, found = run_doctor(app, "--only", "pki")
    assert code == 1 and faults(found, "pki")[0]["fix"].startswith("PKI_CA_PASSPHRASE=")


def test_no_ca_yet_is_a_warning_in_production_not_a_fault(make_app, tmp_path):
    app = make_app(**PRODUCTION)
    with app.app_context():
        app.config["PKI_DIR"] = str(tmp_path / "pki-kosong")
        code, found = run_doctor(app, "--only", "pki")
    assert code == 0 and levels(found, "pki") == {"WARN"}


def test_a_disk_below_its_threshold_is_a_fault(app):
    assert levels(run_doctor(app, "--only", "disk")[1], "disk") == {"OK"}
    free_mb = shutil.disk_usage(app.instance_path).free / 2**20
    app.config["DOCTOR_DISK_WARN_FREE_MB"] = free_mb * 10
    assert levels(run_doctor(app, "--only", "disk")[1], "disk") == {"WARN"}
    app.config["DOCTOR_DISK_FAULT_FREE_MB"] = free_mb * 2
    code, found = run_doctor(app, "--only", "disk")
    assert code == 1 and "batas" in faults(found, "disk")[0]["message"]


def test_no_backup_or_an_old_one_is_a_fault(make_app, tmp_path):
    app = make_app(**PRODUCTION)
    with app.app_context():
        app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_COPY_TARGET=str(tmp_path / "salinan"))
        code, found = run_doctor(app, "--only", "backups")
        assert code == 1 and "Belum ada cadangan" in faults(found, "backups")[0]["message"]
        old = backup_create.create_backup(now=datetime.now(UTC) - timedelta(hours=30))
        code, found = run_doctor(app, "--only", "backups")
        assert code == 1 and old.path.name in faults(found, "backups")[0]["message"]
        backup_create.create_backup()
        assert levels(run_doctor(app, "--only", "backups")[1], "backups") == {"OK"}


def test_a_broken_newest_backup_is_a_fault(app, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"))
    made = backup_create.create_backup()
    made.path.write_bytes(made.path.read_bytes()[:200])  # cut short, as a full disk leaves it
    code, found = run_doctor(app, "--only", "backups")
    assert code == 1 and "rusak" in faults(found, "backups")[0]["message"]


# ---------------------------------------------------------------------------------------------------- processes

def test_a_worker_that_stopped_marking_itself_alive_is_a_fault(make_app, tmp_path, monkeypatch):
    app = make_app(**PRODUCTION)
    with app.app_context():
        monkeypatch.setattr(app, "instance_path", str(tmp_path))
        code, found = run_doctor(app, "--only", "workers")
        assert code == 1 and len(faults(found, "workers")) == 2  # never ran here
        _beat_for_real(heartbeat.WORKER)
        _beat_for_real(heartbeat.NOTIFIER)
        assert levels(run_doctor(app, "--only", "workers")[1], "workers") == {"OK"}
        ten_minutes_ago = time.time() - 600
        os.utime(heartbeat.path(heartbeat.NOTIFIER), (ten_minutes_ago, ten_minutes_ago))
        code, found = run_doctor(app, "--only", "workers")
    assert code == 1
    (fault,) = faults(found, "workers")
    assert "Pengirim notifikasi" in fault["message"] and "sempelmas-worker" in fault["fix"]


def test_a_round_that_fails_does_not_mark_the_worker_alive(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    stop = threading.Event()

    def failing_round() -> float:
        stop.set()
        raise RuntimeError("basis data hilang")

    worker_loop.run_rounds("worker", failing_round, stop=stop)
    assert heartbeat.last_beat(heartbeat.WORKER) is None


def test_a_skewed_clock_is_a_fault(app):
    assert {f.level for f in doctor.run(only=("clock",))} == {"OK"}
    skewed = doctor.run(only=("clock",), now=lambda: datetime.now(UTC) + timedelta(minutes=5))
    assert [f.level for f in skewed] == ["FAULT"] and "300 detik" in skewed[0].message
    slightly = doctor.run(only=("clock",), now=lambda: datetime.now(UTC) - timedelta(seconds=10))
    assert [f.level for f in slightly] == ["WARN"]


# ---------------------------------------------------------------------------------------------------- database

def test_an_unreachable_database_is_a_fault_and_the_checks_that_need_it_are_skipped(tmp_path, db_url):
    if db_url.startswith("postgresql"):
        url = db_url.rsplit("/", 1)[0].replace("///", f"//127.0.0.1:{_free_port()}/") + "/tidak_ada"
    else:
        url = f"sqlite:///{tmp_path / 'tidak-ada' / 'x.db'}"
    app = create_app(conftest.test_config(url, tmp_path))
    with app.app_context():
        try:
            code, found = run_doctor(app)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert code == 1
    assert levels(found, "database") == {"FAULT"}
    assert levels(found, "migrations") == {"WARN"} and levels(found, "clock") == {"WARN"}
    assert any("Perbaikan berkas dilewati" in f["message"] for f in found)


def test_a_database_at_an_old_migration_is_a_fault_until_upgraded(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0032_opendk")
        old = mig.flask("doctor", "--json", "--only", "migrations", check=False)
        assert old.returncode == 1
        (fault,) = json.loads(old.stdout)["findings"]
        assert fault["level"] == "FAULT" and "0032_opendk" in fault["message"]
        assert fault["fix"].startswith("flask --app app db upgrade")
        mig.flask("db", "upgrade")
        now = mig.flask("doctor", "--json", "--only", "migrations")
        assert [f["level"] for f in json.loads(now.stdout)["findings"]] == ["OK"]


# ---------------------------------------------------------------------------------------------------- clean

def test_a_clean_production_install_reports_ok_and_exits_0(tmp_path, redis_url):
    """Migrated to head, production settings, instance/ closed, a CA, both workers alive, a recent backup copied
    off the machine: every finding OK, and the text output says so."""
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade")
        if mig.url.startswith("sqlite:///"):
            os.chmod(mig.url.removeprefix("sqlite:///"), 0o600)
        instance = tmp_path / "instance"
        instance.mkdir(mode=0o700)
        app = create_app(conftest.test_config(mig.url, instance, **{**PRODUCTION, "SECRET_KEY": secrets.token_hex(32)},
                                     MAIL_SERVER="smtp.jagalan.go.id", MAIL_FROM="layanan@jagalan.go.id",
                                     BACKUP_COPY_TARGET=str(tmp_path / "disk-lain"), PROXY_COUNT=1))
        app.config["RATELIMIT_STORAGE_URI"] = redis_url  # after the start: the shared limiter keeps its store
        with app.app_context():
            try:
                app.config["PKI_DIR"] = str(instance / "pki")
                app.config["PKI_CA_PASSPHRASE"] = "passphrase-ca-yang-panjang-sekali"
                app.config["PKI_KEY_SCRYPT_LOG_N"] = 10
                make_profile()
                letter_ca.init_ca()
                db.session.commit()
                cli = app.test_cli_runner()
                assert cli.invoke(args=["create-admin", "--username", "admin", "--name", "Admin Kelurahan",
                                        "--password", "sandi-admin-yang-panjang-1"]).exit_code == 0
                assert cli.invoke(args=["seed-catalogue"]).exit_code == 0
                _beat_for_real(heartbeat.WORKER)
                _beat_for_real(heartbeat.NOTIFIER)
                backup_create.create_backup()
                code, found = run_doctor(app)
                text = app.test_cli_runner().invoke(args=["doctor"])
            finally:
                db.session.remove()
                db.engine.dispose()
    assert code == 0, [f for f in found if f["level"] != "OK"]
    assert {f["level"] for f in found} == {"OK"}
    assert {f["check"] for f in found} >= {*doctor.NAMES, "files", "audit", "notifications", "ratelimit"} - {"push"}
    assert text.exit_code == 0 and text.output.rstrip().endswith("Semua baik.")


def test_quiet_prints_nothing_when_all_is_well_and_before_start_leaves_out_the_workers(app, instance):
    quiet = app.test_cli_runner().invoke(args=["doctor", "--quiet", "--only", "permissions,clock,disk"])
    assert quiet.exit_code == 0 and quiet.output == ""
    code, found = run_doctor(app, "--before-start")
    assert not levels(found, "workers") and not levels(found, "backups") and not levels(found, "files")


def test_the_doctor_lines_of_the_systemd_units_run_as_written(app, instance):
    """deploy/*.service call `flask --app app doctor …`: those options exist (no usage error, exit 0 or 1)."""
    root = Path(__file__).resolve().parents[2] / "deploy"
    lines = [line.split("=", 1)[1] for unit in sorted(root.glob("*.service")) for line in unit.read_text().splitlines()
             if line.startswith(("ExecStart=", "ExecStartPre=")) and " doctor" in line]
    assert len(lines) >= 2, lines  # the web unit's pre-start check and the hourly timer's
    for line in lines:
        args = line.split(" --app app ", 1)[1].split()
        result = app.test_cli_runner().invoke(args=args)
        assert result.exit_code in (0, 1), (line, result.output)


def test_the_heartbeat_is_written_at_most_every_few_seconds_per_file(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "a"))
    heartbeat.beat(heartbeat.WORKER)
    first = heartbeat.path(heartbeat.WORKER).stat().st_mtime_ns
    os.utime(heartbeat.path(heartbeat.WORKER), ns=(first - 10**9, first - 10**9))
    heartbeat.beat(heartbeat.WORKER)  # a second round at once: not written again
    assert heartbeat.path(heartbeat.WORKER).stat().st_mtime_ns == first - 10**9
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "b"))  # another instance's file is its own
    heartbeat.beat(heartbeat.WORKER)
    assert heartbeat.last_beat(heartbeat.WORKER) is not None


def test_no_admin_is_a_fault_and_an_empty_catalogue_or_no_proxy_count_in_production_a_warning(make_app, factory):
    app = make_app(**PRODUCTION)
    with app.app_context():
        code, found = run_doctor(app, "--only", "install")
        assert code == 1 and faults(found, "install")[0]["fix"] == "flask --app app create-admin"
        assert {f["fix"] for f in found if f["level"] == "WARN"} == {
            "flask --app app seed-catalogue", "SEMPELMAS_PROXY_COUNT=1 (satu nginx di depan aplikasi)"}
        factory.staff(Role.ADMIN)
        db.session.commit()
        app.test_cli_runner().invoke(args=["seed-catalogue"])
        app.config["PROXY_COUNT"] = 1
        code, found = run_doctor(app, "--only", "install")
    assert code == 0 and levels(found, "install") == {"OK"}


def test_uncompiled_translations_are_a_warning(app, tmp_path):
    po = tmp_path / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n')
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(tmp_path / "translations")
    found = run_doctor(app, "--only", "install")[1]
    assert any("pybabel compile" in f["fix"] for f in found if f["level"] == "WARN")


def test_missing_backup_tools_are_a_fault(app, tmp_path, monkeypatch, db_url):
    """A copy to another host needs rsync and ssh; PostgreSQL needs pg_dump: a PATH without them is a fault."""
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_COPY_TARGET="cadangan@nas.kecamatan:/srv/jagalan")
    monkeypatch.setenv("PATH", str(tmp_path / "kosong"))
    code, found = run_doctor(app, "--only", "backups")
    messages = " ".join(f["message"] for f in faults(found, "backups"))
    assert code == 1 and "rsync dan ssh tidak terpasang" in messages
    assert ("pg_dump tidak terpasang" in messages) == db_url.startswith("postgresql")


@pytest.mark.parametrize("as_json", [True, False])
def test_settings_production_refuses_are_reported_before_anything_runs(tmp_path, as_json):
    """A placeholder SECRET_KEY and a localhost PUBLIC_URL stop every process (sempelmas/config.py); doctor says
    so too, naming both, and `--json` still prints JSON for a monitor."""
    env = {**os.environ, "SEMPELMAS_ENV": "production", "SECRET_KEY": "change-me-change-me-change-me-change-me",
           "PUBLIC_URL": "http://localhost:5000", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "doctor", *(["--json"] if as_json else [])],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    said = json.loads(done.stdout)["findings"][0]["message"] if as_json else done.stderr
    assert "SECRET_KEY looks like a placeholder" in said and "PUBLIC_URL=http://localhost:5000" in said


def test_the_real_worker_and_notifier_loops_mark_themselves_alive(make_app, tmp_path, monkeypatch):
    """`flask worker` and `flask notify-worker` run these loops: a few idle rounds, and doctor sees both alive."""
    from sempelmas.services.operations import delivery, jobs

    app = make_app(**PRODUCTION)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    stop = threading.Event()

    def loop(work):
        with app.app_context():
            try:
                work(0.05, stop=stop)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=loop, args=(work,), daemon=True)
               for work in (jobs.work_forever, delivery.work_forever)]
    for t in threads:
        t.start()
    try:
        with app.app_context():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (heartbeat.last_beat(heartbeat.WORKER)
                                                       and heartbeat.last_beat(heartbeat.NOTIFIER)):
                time.sleep(0.05)
            code, found = run_doctor(app, "--only", "workers")
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert code == 0 and levels(found, "workers") == {"OK"}
