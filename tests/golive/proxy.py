"""The network in front of a production install, on 127.0.0.1 only, for the production-mode journey:

- ``TestCA``: a certificate authority made for the test (``cryptography``) and a server certificate for the site's
  public name, as a kelurahan gets one from Let's Encrypt;
- ``ReverseProxy``: what nginx does in deploy/nginx-sempelmas.conf: terminates TLS with that certificate and
  passes each request to gunicorn with ``Host``, ``X-Forwarded-For``, ``-Proto`` and ``-Host`` set from what the
  client sent (the app is never told its address: it reads it from these headers through ProxyFix);
- ``ConnectProxy``: stands in for DNS. Clients (the test's HTTP client, and the app's own processes through
  ``https_proxy``) open ``CONNECT layanan.<kelurahan>.go.id:443`` and get a pipe to the reverse proxy, so a name
  that resolves nowhere reaches this machine without /etc/hosts. Every tunnel opened is recorded. It connects
  from the client's own address (each person in the test has one of 127.0.0.0/8), so the reverse proxy's
  X-Forwarded-For names the person, not the proxy, and the app sees it only through ProxyFix.
"""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import select
import socket
import socketserver
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestCA:
    """A CA and one server certificate for ``host``, written as PEM files into ``folder``."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, host: str):
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Uji CA Jalan Masuk")])
        ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
                   .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "uji-ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self.cert_file = folder / "server.pem"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file = folder / "server-key.pem"
        self.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ReverseProxy:
    """TLS on 127.0.0.1:<port>, every request passed to ``upstream`` (host, port) as nginx passes it."""

    def __init__(self, tls: ssl.SSLContext, upstream: tuple[str, int]):
        proxy = self
        self.requests: list[tuple[str, str, str]] = []  # (method, Host, path) as received

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _pass(self) -> None:
                host = self.headers.get("Host", "")
                proxy.requests.append((self.command, host, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP
                           and not k.lower().startswith("x-forwarded-")}
                before = self.headers.get("X-Forwarded-For")  # $proxy_add_x_forwarded_for
                headers["X-Forwarded-For"] = f"{before}, {self.client_address[0]}" if before else \
                    self.client_address[0]
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-Host"] = host
                conn = http.client.HTTPConnection(*upstream, timeout=100)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _pass

        class TLSServer(_Server):
            def finish_request(self, request, client_address):  # the handshake in the request's thread
                try:
                    wrapped = tls.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    super().finish_request(wrapped, client_address)
                finally:
                    wrapped.close()

        self.server = TLSServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="reverse-proxy", daemon=True)

    def start(self) -> ReverseProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ConnectProxy:
    """An HTTP proxy that only tunnels (CONNECT) to the names in ``routes`` ({host: (ip, port)}), whatever port
    the client asks for (443: the site's address has no port, as a real one). Anything else: 403."""

    def __init__(self, routes: dict[str, tuple[str, int]]):
        proxy = self
        self.tunnels: list[str] = []  # "host:port" of every tunnel opened

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 16384:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
                target = line[1] if len(line) == 3 and line[0] == "CONNECT" else ""
                host = target.rsplit(":", 1)[0]
                if host not in routes:
                    self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                proxy.tunnels.append(target)
                # from the client's own address, so the reverse proxy sees who is asking (as a router would)
                with socket.create_connection(routes[host], timeout=10,
                                              source_address=(self.client_address[0], 0)) as upstream:
                    self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    rest = head.split(b"\r\n\r\n", 1)[1]
                    if rest:
                        upstream.sendall(rest)
                    _pipe(self.request, upstream)

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="connect-proxy", daemon=True)

    def start(self) -> ConnectProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    socks = [a, b]
    while True:
        readable, _w, _x = select.select(socks, [], [], 120)
        if not readable:
            return
        for s in readable:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            (b if s is a else a).sendall(data)
