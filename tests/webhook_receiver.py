"""A webhook receiver of our own on 127.0.0.1, as a city system would run one: it verifies every POST with the
``standardwebhooks`` library (the endpoint's secret, webhook-id / webhook-timestamp / webhook-signature) and
drops repeats by webhook-id, answering what the test says.

``answers``: the status for the next POSTs (a list is used up one per POST; the last value stays); ``delay``:
seconds to wait before answering (a slow receiver); ``stop()`` / ``start()``: the receiver down (connection
refused) and back on the same port.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Got:
    headers: dict
    body: bytes
    payload: dict | None
    verified: bool

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    secret: str | None = None
    answers: list = field(default_factory=lambda: [200])
    delay: float = 0.0
    body: bytes = b"ok"
    location: str | None = None
    received: list[Got] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/sempelmas"

    @property
    def verified(self) -> list[Got]:
        return [g for g in self.received if g.verified]

    def unique(self) -> dict[str, dict]:
        """What a receiver de-duplicating by webhook-id keeps: one payload per id."""
        out = {}
        for got in self.verified:
            out.setdefault(got.id, got.payload)
        return out

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    ok = True
                except WebhookVerificationError:
                    payload, ok = None, False
                receiver.received.append(Got(headers, body, payload, ok))
                answer = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                if not ok:
                    answer = 400
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(answer)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
