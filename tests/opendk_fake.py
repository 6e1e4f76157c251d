"""A fake of the kecamatan's OpenDK on 127.0.0.1, written from OpenDK's published code (repository OpenSID/OpenDK):

- ``routes/api.php``: ``/api/v1/auth/login``; the letters at ``surat/kirim`` (POST, ``SuratController@store``) and
  ``surat`` (GET, ``index``). The stored copies of routes/api.php predate the letters' routes: those two paths are
  the ones OpenSID villages use (INTEGRATIONS.md, issue 16).
- ``app/Http/Controllers/Api/Auth/AuthController.php`` ``login``: ``email`` required|email, ``password`` required
  (422 ``{field: [..]}``), wrong → 401 ``{"error": "Unauthorized"}``, right → ``{"access_token", "token_type":
  "Bearer", "expires_in"}``; ``auth:api`` on the data routes: 401 ``{"message": "Unauthenticated."}`` without a
  valid, unexpired JWT.
- ``app/Http/Middleware/TokenRegistered.php``: when OpenDK registered a token (its ``api_key_opendk``), the bearer
  must be exactly it, else 401 ``{"error": "Token not registered"}``; ``Api/TokenController.php`` makes that token
  (a JWT valid 100 years) — here ``generate_registered_token``.
- ``app/Http/Controllers/Api/SuratController.php`` ``store``: 400 "Kecamatan belum mengaktifkan modul TTE" when TTE
  is off; 422 on ``desa_id`` required, ``nik`` required|integer|digits:16, ``tanggal`` required|date, ``nomor``
  required|string|unique, ``nama`` required|string, ``file`` required|file|mimes:pdf|max:2048 (KB); 400 for an
  unregistered desa code or NIK; then stores the file as received → 200 ``{"success": true, "message": "Surat
  Berhasil Dikirim!", "data": {...}}`` (SuratResource; its exact envelope is not in the code read, this is the
  shape of OpenDK's other API resources). ``index``: the desa's letters (nomor, file, nama, nik).

The JWTs are real HS256 JWTs signed with the fake's own secret. ``stop()`` and ``start()`` take it down and bring it
back on the same port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

MAX_KB = 2048


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Stored:
    desa_id: str
    nik: str
    tanggal: str
    nomor: str
    nama: str
    filename: str
    pdf: bytes
    authorization: str


@dataclass
class FakeOpenDk:
    users: dict[str, str] = field(default_factory=lambda: {"desa@kecamatan.test": "rahasia-opendk"})
    desa_ids: set[str] = field(default_factory=lambda: {"35.76.03.1004"})
    #: NIKs registered at the kecamatan (OpenDK's Penduduk table); None: any
    niks: set[str] | None = None
    tte: bool = True
    token_ttl: int = 3600
    registered_token: str | None = None
    received: list[Stored] = field(default_factory=list)
    logins: int = 0
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _generation: int = 0
    _port: int = 0
    _server: object = None
    _thread: threading.Thread | None = None

    # ------------------------------------------------------------------ server

    def start(self) -> FakeOpenDk:
        self._server = make_server("127.0.0.1", self._port, self._app, threaded=True)
        self._port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------------ tokens

    def _jwt(self, sub: str, ttl: int) -> str:
        now = int(time.time())
        head = _b64u(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64u(json.dumps({"sub": sub, "iat": now, "exp": now + ttl, "jti": secrets.token_hex(8),
                                     "gen": self._generation}).encode())
        sig = _b64u(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}"

    def _valid_jwt(self, token: str) -> bool:
        try:
            head, body, sig = token.split(".")
            want = _b64u(hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
            claims = json.loads(_unb64u(body))
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(sig, want) and claims["exp"] > time.time() and claims["gen"] == self._generation

    def generate_registered_token(self, email: str = "desa@kecamatan.test") -> str:
        """OpenDK's admin page: a 100-year JWT, saved as ``api_key_opendk``."""
        self.registered_token = self._jwt(email, 100 * 365 * 24 * 3600)
        return self.registered_token

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after its TTL, or a change of OpenDK's JWT secret)."""
        self._generation += 1

    # ------------------------------------------------------------------ routes

    @Request.application
    def _app(self, request: Request) -> Response:
        request.max_content_length = 10 * 1024 * 1024
        route = (request.method, request.path)
        if route == ("POST", "/api/v1/auth/login"):
            resp = self._login(request)
        elif route in (("POST", "/api/v1/surat/kirim"), ("GET", "/api/v1/surat")):
            resp = self._guarded(request)
        else:
            resp = self._json({"message": "Not Found"}, 404)
        self.requests.append((request.method, request.path, resp.status_code))
        return resp

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, mimetype="application/json")

    def _login(self, request: Request) -> Response:
        data = request.get_json(silent=True) or request.form
        email, password = str(data.get("email") or ""), str(data.get("password") or "")
        errors = {}
        if not email:
            errors["email"] = ["The email field is required."]
        elif not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            errors["email"] = ["The email must be a valid email address."]
        if not password:
            errors["password"] = ["The password field is required."]
        if errors:
            return self._json({"message": "The given data was invalid.", "errors": errors}, 422)
        if self.users.get(email) != password:
            return self._json({"error": "Unauthorized"}, 401)
        self.logins += 1
        return self._json({"access_token": self._jwt(email, self.token_ttl), "token_type": "Bearer",
                           "expires_in": self.token_ttl})

    def _guarded(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not self._valid_jwt(token):  # auth:api
            return self._json({"message": "Unauthenticated."}, 401)
        if self.registered_token is not None and token != self.registered_token:  # token.registered
            return self._json({"error": "Token not registered"}, 401)
        if not self.tte:
            return self._json("Kecamatan belum mengaktifkan modul TTE", 400)
        if request.method == "GET":
            return self._index(request)
        return self._store(request, auth)

    def _index(self, request: Request) -> Response:
        desa_id = request.args.get("desa_id", "")
        if not desa_id:
            return self._json({"desa_id": ["The desa id field is required."]}, 422)
        if desa_id not in self.desa_ids:
            return self._json(f"Kode desa {desa_id} tidak terdaftar di kecamatan", 400)
        rows = [{"nomor": s.nomor, "file": s.filename, "nama": s.nama, "nik": s.nik} for s in self.received
                if s.desa_id == desa_id]
        return self._json({"success": True, "message": "Daftar Surat", "data": rows})

    def _store(self, request: Request, auth: str) -> Response:
        form, upload = request.form, request.files.get("file")
        errors: dict[str, list[str]] = {}
        for name in ("desa_id", "nik", "tanggal", "nomor", "nama"):
            if not form.get(name):
                errors[name] = [f"The {name.replace('_', ' ')} field is required."]
        nik = form.get("nik", "")
        if nik and not re.fullmatch(r"\d{16}", nik):
            errors["nik"] = ["The nik must be 16 digits."]
        try:
            if form.get("tanggal"):
                date.fromisoformat(form["tanggal"][:10])
        except ValueError:
            errors["tanggal"] = ["The tanggal is not a valid date."]
        if form.get("nomor") and any(s.nomor == form["nomor"] for s in self.received):
            errors["nomor"] = ["The nomor has already been taken."]
        pdf = upload.read() if upload is not None else b""
        if upload is None or not upload.filename:
            errors["file"] = ["The file field is required."]
        elif not pdf.startswith(b"%PDF-"):  # mimes:pdf looks at the content (finfo), not the name
            errors["file"] = ["The file must be a file of type: pdf."]
        elif len(pdf) > MAX_KB * 1024:
            errors["file"] = [f"The file may not be greater than {MAX_KB} kilobytes."]
        if errors:
            return self._json(errors, 422)
        if form["desa_id"] not in self.desa_ids:
            return self._json(f"Kode desa {form['desa_id']} tidak terdaftar di kecamatan", 400)
        if self.niks is not None and nik not in self.niks:
            return self._json(f"Penduduk dengan NIK {nik} tidak terdaftar di kecamatan", 400)
        stored = Stored(form["desa_id"], nik, form["tanggal"], form["nomor"], form["nama"],
                        f"{int(time.time())}_{upload.filename.strip().lower()}", pdf, auth)
        self.received.append(stored)
        return self._json({"success": True, "message": "Surat Berhasil Dikirim!",
                           "data": {"id": len(self.received), "desa_id": stored.desa_id, "nomor": stored.nomor,
                                    "nama": stored.nama, "file": stored.filename}})
