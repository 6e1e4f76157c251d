"""One production install for the production-mode journey, made as README "Production" makes it: an empty
PostgreSQL database of its own, an instance folder, an environment file's settings (SEMPELMAS_ENV=production, a
random SECRET_KEY, a PUBLIC_URL that is not this machine, redis for the rate limits, SMTP for e-mail), the CLI run as
subprocesses, gunicorn with deploy/gunicorn.conf.py and ``flask background`` as the units run them, behind a TLS
reverse proxy (tests/golive/proxy.py). Every process is started here and stopped by its own id."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.golive.proxy import ConnectProxy, ReverseProxy, TestCA, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "layanan.jagalan.go.id"
PUBLIC_URL = f"https://{HOST}"
CA_PASSPHRASE = "frasa-sandi-ca-jagalan-" + "7c41e9a0"
PROXY_ENV = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
             "ALL_PROXY")


class Install:
    def __init__(self, tmp: Path, database: str, smtp_port: int):
        self.tmp = tmp
        self.instance = tmp / "instance"
        self.instance.mkdir(mode=0o750)
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.database = database
        self.tls = TestCA(tmp / "tls", HOST)
        self.procs: list[subprocess.Popen] = []
        self.redis_port = free_port()
        self.web_port = free_port()
        self.reverse = ReverseProxy(self.tls.server_context(), ("127.0.0.1", self.web_port)).start()
        self.connect = ConnectProxy({HOST: ("127.0.0.1", self.reverse.port)}).start()
        base = {k: v for k, v in os.environ.items() if k not in PROXY_ENV and not k.startswith(("SEMPELMAS_",
                                                                                                "FLASK_"))}
        self.env = {
            **base,
            "SEMPELMAS_ENV": "production",
            "SEMPELMAS_INSTANCE": str(self.instance),
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": f"postgresql+psycopg:///{database}",
            "PUBLIC_URL": PUBLIC_URL,
            "SEMPELMAS_PROXY_COUNT": "1",
            "SEMPELMAS_HTTPS": "1",
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{self.redis_port}/0",
            "PKI_CA_PASSPHRASE": CA_PASSPHRASE,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_USE_TLS": "0",
            "MAIL_FROM": f"Kelurahan Jagalan <layanan@{HOST.split('.', 1)[1]}>",
            # the app's own outgoing HTTPS (the checklist fetching <PUBLIC_URL>/healthz) finds the site as a
            # resident's phone does: by its name, through the network, trusting the site's certificate
            "https_proxy": self.connect.url,
            "SSL_CERT_FILE": str(self.tls.ca_file),
            "PYTHONUNBUFFERED": "1",
        }

    # ----------------------------------------------------------------------------- processes

    def flask(self, *args: str, input: str | None = None, check: bool = True,
              timeout: int = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env, input=input,
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"flask {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process in stop()
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log = log
        self.procs.append(proc)
        return proc

    def start_redis(self) -> None:
        self._start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
                              "--appendonly", "no", "--dir", str(self.tmp)])
        _wait_port(self.redis_port, "redis-server", self)

    def start_web(self) -> None:
        """gunicorn as deploy/sempelmas-web.service runs it (two workers: the checklist's probe of the public
        address comes back in through the proxy while one worker waits for it)."""
        self._start("gunicorn", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind",
                                 f"127.0.0.1:{self.web_port}", "--workers", "2", "--worker-class", "sync",
                                 "--timeout", "90", "--access-logfile", "-", "app:app"])
        _wait_port(self.web_port, "gunicorn", self)

    def start_background(self) -> None:
        self._start("background", [str(BIN / "flask"), "--app", "app", "background"])

    def logs_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log"))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn's workers with it
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            proc.log.close()
        self.connect.stop()
        self.reverse.stop()


def _wait_port(port: int, what: str, install: Install, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in install.procs):
            raise AssertionError(f"{what} exited:\n{install.logs_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port} in {seconds} s:\n{install.logs_tail()}")
