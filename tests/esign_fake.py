"""A fake of BSrE's Esign Client Service on 127.0.0.1, written from the published v1/v2 descriptions (the project's
INTEGRATIONS.md, BSrE section; OpenSID ``donjo-app/controllers/external_api/Tte.php``; kiiskominfokepri/esign-ts
``DOCS.md``, ``src/v1/EsignClient.ts``, ``src/v2/EsignClient.ts``, ``src/dto/*``), that REALLY signs: pyHanko,
with a per-NIK certificate from a test root it makes itself ("BSrE test root"), so the PDF it returns validates
against ``root_der``.

- Basic auth on every route (Spring-style 401 ``{"status": 401, "error": "Unauthorized"}`` otherwise).
- v1: ``GET /api/user/status/{nik}`` → ``{"status_code": 1111 (usable) | 1110, "status", "message"}``;
  ``POST /api/sign/pdf`` multipart ``file``, ``nik``, ``passphrase``, ``tampilan`` (+ visible fields) → the signed
  PDF (``application/pdf``, header ``id_dokumen``).
- v2: ``POST /api/v2/user/check/status`` ``{nik}`` → ``{"status", "message"}``; ``POST /api/v2/sign/pdf`` JSON
  ``{nik, passphrase | totp, signatureProperties, file: [base64…]}`` → ``{"file": [base64…], "time"}``;
  ``POST /api/v2/verify/pdf`` ``{file}`` → ``{"conclusion", "description", "signatureInformations": [...]}``.
- Refusals: 400 ``{"error": "Passphrase anda salah", "status_code": 2031}``, 400 ``{"error": "User tidak
  terdaftar", "status_code": 2011}``, 400 ``{"error": "Sertifikat user tidak aktif (EXPIRED)"}``, 400 ``{"error":
  "TOTP tidak valid atau sudah kedaluwarsa"}`` (the last two: no published code, the words are the fake's).
- TOTP: RFC 6238 (HMAC-SHA1, 30 s steps, 6 digits, ±1 step) over each user's ``totp_secret``.

Failures on demand: ``fail_next(kind)`` (the next signing request) or ``mode = kind`` (every one until reset):
``"expired"`` (certificate expired), ``"500"``, ``"slow"`` (answers after ``slow_seconds``), ``"trickle"`` (a 200
whose body comes a byte every 0.2 s, for ``slow_seconds``), ``"not_pdf"`` (200,
not a PDF), ``"bad_signature"`` (a byte inside the signed range flipped after signing), ``"untrusted"`` (signed by a
certificate of another root), ``"echo"`` (a careless gateway repeating the secret in its error), ``"redirect"`` (a
307 to another path, which would carry the secret again if followed). Down: ``stop()``
(connection refused; ``start()`` brings it back on the same port). A user's ``status`` other than ``ISSUE`` makes
signing refused and the status check say so.

A visible signature gets pyHanko's default stamp in a box at the given page and coordinates (default (50, 50) on
page 1): the fake neither draws the image or QR nor looks for the ``tag_koordinat`` text.

``requests`` records what arrived, secret fields included (so tests can prove they were sent there and only
there). The ``esign_gateway`` fixture gives a started fake: import it into a test module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

NIK = "3578010101800001"
NAME = "DRS. BAMBANG SUTRISNO"
PASSPHRASE = "rahasia-bsre-123!"
TOTP_SECRET = b"12345678901234567890"  # RFC 6238's own test secret
USERNAME, PASSWORD = "sempelmas", "akun-esign-uji"
FAILURES = ("expired", "500", "slow", "trickle", "not_pdf", "bad_signature", "untrusted", "echo", "redirect")


def totp(secret: bytes, at: float | None = None, *, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1) of ``secret`` at time ``at`` (default: now)."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def totp_ok(secret: bytes, code: str, at: float | None = None) -> bool:
    now = time.time() if at is None else at
    return any(hmac.compare_digest(totp(secret, now + d * 30), code) for d in (-1, 0, 1))


@dataclass
class FakeUser:
    name: str
    passphrase: str
    totp_secret: bytes
    #: ISSUE (can sign) | EXPIRED | RENEW | NEW | NO_CERTIFICATE | NOT_REGISTERED | SUSPEND | REVOKE
    status: str = "ISSUE"


@dataclass
class Received:
    method: str
    path: str
    auth: tuple[str, str] | None
    #: the form fields (v1) or the JSON's top-level fields (v2, files replaced by their decoded sizes)
    fields: dict
    status: int = 0


def _name(cn: str, nik: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Balai Sertifikasi Elektronik (uji)"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if nik:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, nik))
    return x509.Name(attrs)


class _Pki:
    """A root and the signer certificates it issues (one key per NIK), made with ``cryptography``."""

    def __init__(self, root_cn: str):
        now = datetime.now(UTC) - timedelta(days=1)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.root = (x509.CertificateBuilder().subject_name(_name(root_cn)).issuer_name(_name(root_cn))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                    critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), False)
                     .sign(self.key, hashes.SHA256()))
        self._signers: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    @property
    def root_der(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.DER)

    def signer(self, nik: str, name: str):
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        with self._lock:
            if (nik, name) not in self._signers:
                now = datetime.now(UTC) - timedelta(days=1)
                key = ec.generate_private_key(ec.SECP256R1())
                cert = (x509.CertificateBuilder().subject_name(_name(name, nik)).issuer_name(self.root.subject)
                        .public_key(key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now).not_valid_after(now + timedelta(days=730))
                        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                        # digitalSignature + nonRepudiation (contentCommitment), as a BSrE signing certificate
                        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                                       critical=True)
                        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                       False)
                        .sign(self.key, hashes.SHA256()))
                der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
                self._signers[(nik, name)] = signers.SimpleSigner(
                    signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                    signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
                    cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(self.root_der)]))
            return self._signers[(nik, name)]


def flip_signed_byte(pdf: bytes) -> bytes:
    """One byte of stream data inside the first signed range changed: the file still parses, the digest fails."""
    import re

    first_range_end = int(re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf).group(1))
    data = bytearray(pdf)
    start = pdf.find(b"stream", 0, first_range_end)
    end = pdf.find(b"endstream", start, first_range_end)
    pos = start + len(b"stream") + 3 if start >= 0 and end > start + 12 else 12
    data[pos] ^= 0x01
    return bytes(data)


@dataclass
class FakeEsign:
    users: dict[str, FakeUser] = field(default_factory=lambda: {
        NIK: FakeUser(NAME, PASSPHRASE, TOTP_SECRET, "ISSUE")})
    username: str = USERNAME
    password: str = PASSWORD
    #: a failure on every signing request until set back to None (see the module docstring)
    mode: str | None = None
    slow_seconds: float = 3.0
    requests: list[Received] = field(default_factory=list)
    signed: int = 0
    _next: list[str] = field(default_factory=list)
    _port: int = 0
    _server: object = None
    _wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.pki = _Pki("BSrE test root")
        self.other_pki = _Pki("Bukan BSrE root")

    # ------------------------------------------------------------------ server

    def start(self) -> FakeEsign:
        self._wake.clear()
        self._server = make_server("127.0.0.1", self._port, self._app, threaded=True)
        self._port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._wake.set()  # a "slow" answer still waiting ends now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def root_der(self) -> bytes:
        return self.pki.root_der

    def fail_next(self, kind: str) -> None:
        assert kind in FAILURES, kind
        self._next.append(kind)

    def totp_now(self, nik: str = NIK) -> str:
        return totp(self.users[nik].totp_secret)

    # ------------------------------------------------------------------ routes

    @Request.application
    def _app(self, request: Request) -> Response:
        request.max_content_length = 100 * 1024 * 1024
        auth = request.authorization
        creds = (auth.username, auth.password) if auth and auth.type == "basic" else None
        received = Received(request.method, request.path, creds, {})
        self.requests.append(received)
        if creds != (self.username, self.password):
            resp = self._json({"timestamp": datetime.now(UTC).isoformat(), "status": 401, "error": "Unauthorized",
                               "path": request.path}, 401)
        else:
            resp = self._route(request, received)
        received.status = resp.status_code
        return resp

    def _route(self, request: Request, received: Received) -> Response:
        path, method = request.path, request.method
        if method == "GET" and path.startswith("/api/user/status/"):
            return self._status_v1(path.rsplit("/", 1)[-1])
        if (method, path) == ("POST", "/api/sign/pdf"):
            return self._sign_v1(request, received)
        if (method, path) == ("POST", "/api/v2/user/check/status"):
            body = request.get_json(silent=True) or {}
            received.fields = dict(body)
            return self._status_v2(str(body.get("nik") or ""))
        if (method, path) == ("POST", "/api/v2/sign/pdf"):
            return self._sign_v2(request, received)
        if (method, path) == ("POST", "/api/v2/verify/pdf"):
            return self._verify_v2(request)
        return self._json({"status": 404, "error": "Not Found", "path": path}, 404)

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, mimetype="application/json")

    def _status_v1(self, nik: str) -> Response:
        user = self.users.get(nik)
        if user is None:
            return self._json({"status_code": 1110, "status": "NOT_REGISTERED", "message": "User tidak terdaftar"})
        active = user.status == "ISSUE"
        return self._json({"status_code": 1111 if active else 1110, "status": user.status,
                           "message": "Sertifikat aktif" if active else f"Sertifikat tidak aktif ({user.status})"})

    def _status_v2(self, nik: str) -> Response:
        user = self.users.get(nik)
        status = user.status if user else "NOT_REGISTERED"
        return self._json({"status": status, "message": "Pengguna dapat melakukan tanda tangan" if status == "ISSUE"
                           else f"Pengguna tidak dapat melakukan tanda tangan ({status})"})

    # ------------------------------------------------------------------ signing

    def _failure(self) -> str | None:
        return self._next.pop(0) if self._next else self.mode

    def _refusal(self, nik: str, passphrase: str | None, code: str | None, failure: str | None) -> Response | None:
        user = self.users.get(nik)
        if failure == "redirect":
            return Response("", status=307, headers={"Location": "/api/elsewhere"})
        if failure == "echo":
            return self._json({"error": "Validasi gagal",
                               "message": f"nilai '{passphrase or code}' untuk NIK {nik} tidak dapat diproses"}, 422)
        if user is None:
            return self._json({"error": "User tidak terdaftar", "status_code": 2011}, 400)
        if failure == "expired" or user.status != "ISSUE":
            status = "EXPIRED" if failure == "expired" else user.status
            return self._json({"error": f"Sertifikat user tidak aktif ({status})"}, 400)
        if code is not None:
            if not totp_ok(user.totp_secret, code):
                return self._json({"error": "TOTP tidak valid atau sudah kedaluwarsa"}, 400)
        elif not passphrase or not hmac.compare_digest(passphrase.encode(), user.passphrase.encode()):
            return self._json({"error": "Passphrase anda salah", "status_code": 2031}, 400)
        if failure == "500":
            return self._json({"timestamp": datetime.now(UTC).isoformat(), "status": 500,
                               "error": "Internal Server Error", "path": "/api/sign/pdf"}, 500)
        if failure == "slow":
            self._wake.wait(self.slow_seconds)
        if failure == "trickle":
            return Response(self._trickle(), mimetype="application/pdf")
        return None

    def _trickle(self):
        yield b"%PDF-1.7\n"
        until = time.monotonic() + self.slow_seconds
        while time.monotonic() < until and not self._wake.wait(0.2):
            yield b" "

    def _sign(self, pdf: bytes, nik: str, visible: dict | None, reason: str, location: str,
              failure: str | None) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        user = self.users[nik]
        signer = (self.other_pki if failure == "untrusted" else self.pki).signer(nik, user.name)
        field_name = f"BSrE-{self.signed + 1}"
        spec = None
        if visible is not None:
            x, y = float(visible.get("x") or 50), float(visible.get("y") or 50)
            w, h = float(visible.get("width") or 150), float(visible.get("height") or 60)
            spec = fields.SigFieldSpec(field_name, on_page=max(int(visible.get("page") or 1), 1) - 1,
                                       box=(int(x), int(y), int(x + w), int(y + h)))
        meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES, reason=reason or None,
                                            location=location or None)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        out = signers.PdfSigner(meta, signer, new_field_spec=spec).sign_pdf(writer).getvalue()
        self.signed += 1
        return flip_signed_byte(out) if failure == "bad_signature" else out

    def _sign_v1(self, request: Request, received: Received) -> Response:
        form, upload = request.form, request.files.get("file")
        received.fields = dict(form.items())
        if upload is None:
            return self._json({"error": "File tidak boleh kosong"}, 400)
        pdf = upload.read()
        received.fields["file"] = len(pdf)
        if "imageTTD" in request.files:
            received.fields["imageTTD"] = len(request.files["imageTTD"].read())
        nik, tampilan = form.get("nik", ""), form.get("tampilan", "")
        if not nik or tampilan not in ("invisible", "visible"):
            return self._json({"error": "Parameter nik dan tampilan (invisible|visible) wajib diisi"}, 400)
        failure = self._failure()
        refusal = self._refusal(nik, form.get("passphrase"), None, failure)
        if refusal is not None:
            return refusal
        if failure == "not_pdf":
            return Response("<html><body>Esign Client Service</body></html>", mimetype="text/html")
        visible = None
        if tampilan == "visible":
            visible = {"page": form.get("page"), "x": form.get("xAxis"), "y": form.get("yAxis"),
                       "width": form.get("width"), "height": form.get("height")}
        signed = self._sign(pdf, nik, visible, form.get("reason", ""), form.get("location", ""), failure)
        return Response(signed, mimetype="application/pdf", headers={"id_dokumen": f"DOC-{self.signed}"})

    def _sign_v2(self, request: Request, received: Received) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._json({"error": "Body harus JSON"}, 400)
        received.fields = {k: v for k, v in body.items() if k != "file"}
        try:
            pdfs = [base64.b64decode(f, validate=True) for f in body.get("file") or []]
        except (ValueError, TypeError):
            return self._json({"error": "File harus base64"}, 400)
        received.fields["file"] = [len(p) for p in pdfs]
        props = body.get("signatureProperties") or []
        nik = str(body.get("nik") or "")
        if not pdfs or not props or not nik or not (body.get("passphrase") or body.get("totp")):
            return self._json({"error": "nik, passphrase atau totp, signatureProperties dan file wajib diisi"}, 400)
        failure = self._failure()
        refusal = self._refusal(nik, body.get("passphrase"), body.get("totp") if not body.get("passphrase")
                                else None, failure)
        if refusal is not None:
            return refusal
        out = []
        for i, pdf in enumerate(pdfs):
            prop = props[i] if i < len(props) else props[0]
            if failure == "not_pdf":
                out.append(base64.b64encode(b"<html><body>Esign Client Service</body></html>").decode())
                continue
            visible = None
            if str(prop.get("tampilan", "")).upper() == "VISIBLE":
                visible = {"page": prop.get("page"), "x": prop.get("originX"), "y": prop.get("originY"),
                           "width": prop.get("width"), "height": prop.get("height")}
            signed = self._sign(pdf, nik, visible, prop.get("reason") or "", prop.get("location") or "", failure)
            out.append(base64.b64encode(signed).decode())
        return self._json({"file": out, "time": datetime.now(UTC).isoformat()})

    def _verify_v2(self, request: Request) -> Response:
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext

        body = request.get_json(silent=True) or {}
        try:
            pdf = base64.b64decode(body.get("file") or "", validate=True)
            sigs = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        except Exception:  # noqa: BLE001 - anything unreadable is "not a PDF" to the gateway
            return self._json({"error": "Dokumen bukan PDF"}, 400)
        infos = []
        ctx = ValidationContext(trust_roots=[asn1_x509.Certificate.load(self.root_der)], allow_fetching=False)
        for sig in sigs:
            status = validate_pdf_signature(sig, ctx)
            infos.append({"signerName": status.signing_cert.subject.native.get("common_name"),
                          "fieldName": sig.field_name, "integrityValid": bool(status.intact),
                          "certificateTrusted": bool(status.trusted)})
        if not infos:
            conclusion = "NO_SIGNATURE"
        elif all(i["integrityValid"] and i["certificateTrusted"] for i in infos):
            conclusion = "VALID"
        else:
            conclusion = "INVALID"
        return self._json({"conclusion": conclusion, "description": f"{len(infos)} tanda tangan diperiksa",
                           "signatureInformations": infos})


@pytest.fixture
def esign_gateway():
    """A started fake Esign Client Service on 127.0.0.1 (stopped afterwards)."""
    gateway = FakeEsign().start()
    yield gateway
    gateway.stop()
