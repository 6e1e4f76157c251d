"""The template units and the nginx template of deploy/ hang together: every unit of a kelurahan reads its own
env file and may write only its own instance folder; the target pulls in every service and timer; the nginx
block sets exactly the forwarded headers ProxyFix is told to trust (SEMPELMAS_PROXY_COUNT=1)."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    text = (SYSTEMD / name).read_text().replace("\\\n", " ")
    parser.read_string(text)
    return parser


def test_every_unit_is_per_kelurahan():
    services = sorted(p.name for p in SYSTEMD.glob("*@.service"))
    assert services == ["sempelmas-backup@.service", "sempelmas-ltv@.service", "sempelmas-retention@.service",
                        "sempelmas-web@.service", "sempelmas-worker@.service"]
    for name in services:
        service = _unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/sempelmas/%i.env"
        assert service["ReadWritePaths"] == "/var/lib/sempelmas/%i"
        assert service["User"] == "sempelmas" and service["ProtectSystem"] == "strict"
    web = _unit("sempelmas-web@.service")["Service"]["ExecStart"]
    assert "--bind 127.0.0.1:${SEMPELMAS_WEB_PORT}" in web and "--workers ${SEMPELMAS_WEB_WORKERS}" in web
    # the memory measured for a city (bench/bench_memory.py): the app preloaded, threads for a small kelurahan
    assert "-c deploy/gunicorn.conf.py" in web and "--threads ${SEMPELMAS_WEB_THREADS}" in web
    # the doctor's start checks before serving, as for one deployment
    assert _unit("sempelmas-web@.service")["Service"]["ExecStartPre"].endswith("doctor --quiet --before-start")
    # jobs and notifications in one process: no separate notifier unit
    assert _unit("sempelmas-worker@.service")["Service"]["ExecStart"].endswith("flask --app app background")


def test_the_target_brings_up_the_whole_deployment():
    # two Wants= lines (configparser would keep the last): read the raw lines
    raw = (SYSTEMD / "sempelmas@.target").read_text()
    wants = " ".join(re.findall(r"^Wants=(.*)$", raw, re.M))
    for unit in ("sempelmas-web@%i.service", "sempelmas-worker@%i.service", "sempelmas-backup@%i.timer",
                 "sempelmas-retention@%i.timer", "sempelmas-ltv@%i.timer"):
        assert unit in wants
        assert (SYSTEMD / unit.replace("%i", "")).exists()
    for name in ("sempelmas-web@.service", "sempelmas-worker@.service"):
        assert _unit(name)["Unit"]["PartOf"] == "sempelmas@%i.target"


def test_nginx_template_sets_the_headers_proxyfix_trusts():
    text = (ROOT / "deploy" / "nginx" / "sempelmas-site.conf.template").read_text()
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "X-Forwarded-Host $host",
                   "Host $host"):
        assert f"proxy_set_header {header};" in text
    assert set(re.findall(r"@([A-Z]+)@", text)) == {"NAME", "HOST", "PORT", "CODE"}


def test_systemd_accepts_every_unit(tmp_path):
    """systemd-analyze verify of one kelurahan's instances (paths moved to this checkout, where the executables
    are): an unknown key, a bad section or a missing executable is reported."""
    import shutil
    import subprocess

    import pytest

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for src in SYSTEMD.iterdir():
        text = src.read_text().replace("/opt/sempelmas", str(ROOT))
        text = text.replace("/etc/sempelmas/%i.env", str(tmp_path / "%i.env"))
        (tmp_path / src.name).write_text(text)
    (tmp_path / "jagalan.env").write_text("SEMPELMAS_WEB_PORT=8001\nSEMPELMAS_WEB_WORKERS=1\nSEMPELMAS_WEB_THREADS=2\n")
    units = [f"./{name.replace('@.', '@jagalan.')}" for name in sorted(p.name for p in SYSTEMD.iterdir())]
    done = subprocess.run([analyze, "verify", "--man=no", *units], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    complaints = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 0 and not complaints, done.stderr
