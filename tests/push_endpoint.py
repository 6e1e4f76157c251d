"""A push service of our own on 127.0.0.1 for the Web Push tests, and a browser's side of a subscription.

``PushEndpoint`` receives the notify worker's POSTs as a push service would, answers what the test says
(201 by default), and hands the tests what came: ``Browser`` holds what a browser keeps for one subscription
(its P-256 key pair and 16-byte auth secret), checks the VAPID Authorization header (RFC 8292: an ES256 JWT for
the endpoint's origin, signed by the key named in ``k``) and decrypts the aes128gcm body (RFC 8291).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class PushEndpoint:
    """``answers[path]``: the HTTP status for POSTs to that path (a list is used up one per POST)."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: dict = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, name: str) -> str:
        return f"{self.origin}/push/{name}"


def start_endpoint() -> PushEndpoint:
    endpoint: PushEndpoint

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            endpoint.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = endpoint.answers.get(self.path, 201)
            if isinstance(answer, list):
                answer = answer.pop(0) if len(answer) > 1 else answer[0]
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint = PushEndpoint(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return endpoint


class Browser:
    """One browser's push subscription: what PushSubscription.toJSON() gives the page, and the private half."""

    def __init__(self, endpoint_url: str):
        self.endpoint = endpoint_url
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        self.subscription = {"endpoint": endpoint_url, "expirationTime": None,
                             "keys": {"p256dh": b64u(public), "auth": b64u(self.auth_secret)}}

    def decrypt(self, got: Received) -> dict:
        """The payload, decrypted as the browser does (RFC 8291, aes128gcm), parsed as JSON."""
        assert got.headers.get("content-encoding") == "aes128gcm"
        plain = http_ece.decrypt(got.body, private_key=self.private_key, auth_secret=self.auth_secret,
                                 version="aes128gcm")
        return json.loads(plain)


def check_vapid(got: Received, origin: str, public_key: str) -> dict:
    """Verify the VAPID Authorization header (``vapid t=<JWT>, k=<key>``) as a push service does: ES256 over
    the JWT by ``k``, which must be the site's key, for this push service's origin, not expired. The claims."""
    scheme, _sp, params = got.headers["authorization"].partition(" ")
    assert scheme.lower() == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == public_key
    header_b64, claims_b64, sig_b64 = parts["t"].split(".")
    assert json.loads(unb64u(header_b64))["alg"] == "ES256"
    sig = unb64u(sig_b64)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(parts["k"]))
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims = json.loads(unb64u(claims_b64))
    assert claims["aud"] == origin
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"].startswith(("mailto:", "https://"))
    return claims
