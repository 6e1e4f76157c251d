"""Benchmark: the notifier's delivery rate with one claim per message, and how soon a killed notifier's work resumes.

1. Throughput: N outbox messages (WhatsApp/SMS) delivered by ``delivery.deliver_due`` to a local HTTP gateway
   (a threaded server on 127.0.0.1 answering 200), against the bare baseline in the same run: the same N POSTs
   through ``channels.send_gateway`` with no database at all. The difference is what the claim, its lease and the
   recorded outcome cost per message.
2. Resume after ``kill -9``: a real ``flask notify-worker`` subprocess sends M messages; the gateway holds one
   request, the notifier is killed with SIGKILL at a random moment while it waits, and a new notifier is started
   at once. Measured: from the restart until every message is sent; checked: every message reached the gateway,
   only the interrupted one twice, and both times under the same Idempotency-Key.

    .venv/bin/python bench/bench_notify.py [--messages 2000] [--kills 3] [--database-url URL (an empty database)]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: acceptance: issue 13 asks a restarted notifier to resume within 10 s
RESUME_LIMIT_S = 10.0
#: what claiming, leasing and recording one message may add to its send. A real gateway over the internet answers
#: in 50-1,000 ms and a kelurahan sends a few hundred messages a day: 5 ms is < 10 % of the fastest such answer
#: and 200 messages a second of bookkeeping. (The loopback gateway here answers in well under a millisecond, so
#: a ratio to it would measure nothing a resident can notice.)
OVERHEAD_LIMIT_MS = 5.0


class Gateway:
    """A WhatsApp/SMS gateway on 127.0.0.1 that records (Idempotency-Key, body) and can hold one request."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.hold_at: int | None = None  # the request number (1-based) to keep waiting
        self.arrived = threading.Event()
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((self.headers.get("Idempotency-Key", ""), body))
                if gateway.hold_at == len(gateway.received):
                    gateway.arrived.set()
                    gateway.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except OSError:
                    pass  # the notifier was killed while we held it

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kirim"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, hold_at: int | None = None) -> None:
        self.received.clear()
        self.hold_at = hold_at
        self.arrived.clear()
        self.release.clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--database-url", default=None, help="an empty database (default: a temporary SQLite file)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    gateway = Gateway()
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": "bench", "SEMPELMAS_ENV": "development",
                       "NOTIFY_GATEWAY_URL": gateway.url})
    from flask_migrate import upgrade
    from sqlalchemy import delete, func, select

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.notifications import OutboxMessage, OutboxStatus
    from sempelmas.services.operations import channels, delivery, outbox

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(work),
                      "NOTIFY_GATEWAY_URL": gateway.url})
    ok = True
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))

        def queue(n: int) -> None:
            for i in range(n):
                outbox.queue_external(None, email=None, phone=f"+6281234{i:06d}", subject="Uji",
                                      body=f"Permohonan JGL-2026-{i:06d}: status berubah. https://layanan.example.id/")
            db.session.commit()

        # ---- 1. throughput
        n = args.messages
        t0 = time.perf_counter()
        for i in range(n):
            channels.send_gateway(f"+6281234{i:06d}", f"Permohonan JGL-2026-{i:06d}: status berubah.", uid=f"b-{i}")
        bare = time.perf_counter() - t0
        gateway.reset()
        queue(n)
        t0 = time.perf_counter()
        sent = 0
        while sent < n:
            got = delivery.deliver_due(limit=500)["sent"]
            if not got:
                break
            sent += got
        real = time.perf_counter() - t0
        left = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status != OutboxStatus.SENT))
        overhead_ms = (real - bare) / n * 1000
        print(f"throughput, {n:,} messages ({url.split(':', 1)[0]}):")
        print(f"  bare POSTs (no database)     {n / bare:8.0f} msg/s  {bare / n * 1000:6.2f} ms each")
        print(f"  deliver_due (claim per msg)  {n / real:8.0f} msg/s  {real / n * 1000:6.2f} ms each")
        print(f"  claim + lease + outcome cost {overhead_ms:6.2f} ms per message (≤ {OVERHEAD_LIMIT_MS:.0f}); "
              f"not sent: {left}")
        ok &= left == 0 and len(gateway.received) == n and overhead_ms <= OVERHEAD_LIMIT_MS

        # ---- 2. resume after kill -9
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
        command = [sys.executable, "-m", "flask", "--app", "app", "notify-worker"]
        rng = random.Random(13)
        resumes = []
        for k in range(args.kills):
            m = 20
            hold_at = rng.randint(1, m)
            gateway.reset(hold_at=hold_at)
            queue(m)
            log = (work / f"notifier-{k}.log").open("wb")
            first = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            if not gateway.arrived.wait(60):
                first.kill()
                print("  the notifier never reached the held message")
                ok = False
                break
            time.sleep(rng.uniform(0, 2.0))  # somewhere in the send, lease renewed or not yet
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            gateway.release.set()
            restarted = time.monotonic()
            second = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            resumed = None
            while time.monotonic() - restarted < 60:
                db.session.rollback()
                if db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status != OutboxStatus.SENT)) == 0:
                    resumed = time.monotonic() - restarted
                    break
                time.sleep(0.05)
            second.terminate()
            second.wait(10)
            log.close()
            keys = [key for key, _ in gateway.received]
            uids = set(db.session.scalars(select(OutboxMessage.uid)))
            repeated = {key for key in keys if keys.count(key) > 1}
            good = (resumed is not None and set(keys) == uids and len(keys) == m + 1 and len(repeated) == 1
                    and keys[hold_at - 1] in repeated)
            resumes.append(resumed if resumed is not None else float("inf"))
            print(f"  kill {k + 1}: held request {hold_at:2d} of {m}; all sent {resumes[-1]:.2f} s after the restart; "
                  f"gateway got {len(keys)} POSTs, {len(repeated)} id twice (the interrupted one: "
                  f"{'yes' if keys and keys[hold_at - 1] in repeated else 'no'})")
            ok &= good
            db.session.execute(delete(OutboxMessage))
            db.session.commit()
        if resumes:
            lease, renew = delivery.CLAIM_LEASE.total_seconds(), delivery.RENEW_EVERY.total_seconds()
            print(f"resume after kill -9: max {max(resumes):.2f} s (≤ {RESUME_LIMIT_S:.0f} s), "
                  f"lease {lease:.0f} s renewed every {renew:.0f} s")
            ok &= max(resumes) <= RESUME_LIMIT_S
    gateway.server.shutdown()
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
