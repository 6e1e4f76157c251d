"""Talking to the kecamatan's OpenDK the way OpenSID villages do: a login for a bearer token, then a multipart
POST of the signed letter.

Written from OpenDK's own code (repository OpenSID/OpenDK) and OpenSID's client side (OpenSID/OpenSID):
- ``routes/api.php``: the API under ``/api/v1``, ``auth/login`` (the copies read, commits 0096ebcd and 4b1d5bb3,
  predate the letters' routes; ``surat/kirim`` is the path OpenSID villages post to, per the project's
  INTEGRATIONS.md and issue 16). ``Api/SuratController.php`` (commit a00b39ae) has only ``index`` (a desa's
  letters), ``store`` and ``download``: no action withdraws or revokes a letter.
- ``app/Http/Controllers/Api/Auth/AuthController.php``: ``login`` validates ``email`` (required|email) and
  ``password`` (required), answers 401 ``{"error": "Unauthorized"}`` or ``{"access_token", "token_type":
  "Bearer", "expires_in": <seconds>}`` (a JWT); the data routes sit behind ``auth:api`` (401 ``{"message":
  "Unauthenticated."}`` for a missing or expired token).
- ``app/Http/Middleware/TokenRegistered.php``: the bearer must equal OpenDK's ``api_key_opendk`` setting, else 401
  ``{"error": "Token not registered"}``. That setting is a long-lived JWT OpenDK's admin generates
  (``Api/TokenController.php``: TTL 100 years) and gives the village: there is no separate API-key header, the
  registered token IS the bearer. OpenSID sends ``Authorization: Bearer <api_opendk_key>``
  (``donjo-app/controllers/Sinkronisasi.php``).
- ``SuratController`` ``store``: 400 when the kecamatan has not turned TTE on;
  422 ``{field: [messages]}`` unless ``desa_id`` required, ``nik`` required|integer|digits:16, ``tanggal``
  required|date, ``nomor`` required|string|unique, ``nama`` required|string, ``file`` required|file|mimes:pdf|
  max:2048 (kilobytes); 400 when the desa code or the NIK is not registered at the kecamatan; then it stores the
  file as sent and answers ``SuratResource(true, 'Surat Berhasil Dikirim!', …)``.

So: with a registered token configured it is the bearer (no login); otherwise the connector logs in with the
account's e-mail and password, keeps the token until shortly before ``expires_in`` runs out or until a 401, then
logs in again once and retries. Errors map to the outbox's: ``channels.DeliveryError`` (retried with backoff),
``channels.Undeliverable`` (refused for good: OpenDK's validation), ``channels.OutcomeUnknown`` (sent, no answer).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import requests

from sempelmas.services.integration.opendk_settings import Connection
from sempelmas.services.operations import channels

#: OpenDK's limit for the file: ``max:2048`` in Laravel's validator counts kilobytes
MAX_FILE_BYTES = 2048 * 1024
#: log in again this long before the token's announced expiry
EXPIRY_MARGIN_SECONDS = 30
TIMEOUT_SECONDS = 30
#: how much of OpenDK's answer the log keeps
ANSWER_MAX = 1000


@dataclass
class Answer:
    status: int
    text: str


class _TokenCache:
    """Login tokens per OpenDK account, in this process: a notifier logs in once, not per letter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    @staticmethod
    def key(conn: Connection) -> str:
        return hashlib.sha256(f"{conn.base_url}\n{conn.email}\n{conn.password}".encode()).hexdigest()

    def get(self, conn: Connection) -> str | None:
        with self._lock:
            token, until = self._tokens.get(self.key(conn), (None, 0.0))
        return token if token and time.monotonic() < until else None

    def put(self, conn: Connection, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[self.key(conn)] = (token, time.monotonic() + max(expires_in - EXPIRY_MARGIN_SECONDS, 1))

    def drop(self, conn: Connection) -> None:
        with self._lock:
            self._tokens.pop(self.key(conn), None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


tokens = _TokenCache()


def _short(resp: requests.Response) -> str:
    return f"HTTP {resp.status_code}: {resp.text[:ANSWER_MAX]}".strip()


def _unreached(exc: Exception, what: str) -> channels.DeliveryError:
    """A failure of ``requests``: not connected at all (DeliveryError) or sent and no answer (OutcomeUnknown)."""
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout):
        return channels.DeliveryError(f"OpenDK tidak dapat dihubungi ({what}): {type(exc).__name__}: {exc}")
    return channels.OutcomeUnknown(f"OpenDK tidak menjawab ({what}); surat mungkin sudah diterima: "
                                   f"{type(exc).__name__}: {exc}")


def login(conn: Connection) -> str:
    """POST /api/v1/auth/login with the account; caches and returns the token. Raises DeliveryError."""
    try:
        resp = requests.post(f"{conn.base_url}/api/v1/auth/login",
                             json={"email": conn.email, "password": conn.password},
                             headers={"Accept": "application/json"}, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise channels.DeliveryError(f"OpenDK tidak dapat dihubungi (login): {type(exc).__name__}: {exc}") from exc
    if resp.status_code != 200:
        raise channels.DeliveryError(f"OpenDK menolak login akun {conn.email}: {_short(resp)}")
    try:
        body = resp.json()
        token = str(body["access_token"])
        expires_in = float(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError) as exc:
        raise channels.DeliveryError(f"jawaban login OpenDK tidak dikenali: {_short(resp)}") from exc
    tokens.put(conn, token, expires_in)
    return token


def _bearer(conn: Connection) -> str:
    if conn.api_key:
        return conn.api_key
    return tokens.get(conn) or login(conn)


def _post_letter(conn: Connection, bearer: str, fields: dict, filename: str, pdf: bytes) -> requests.Response:
    try:
        return requests.post(f"{conn.base_url}/api/v1/surat/kirim", data=fields,
                             files={"file": (filename, pdf, "application/pdf")},
                             headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
                             timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise _unreached(exc, "kirim surat") from exc


def already_there(conn: Connection, bearer: str, nomor: str) -> bool:
    """Whether OpenDK's list of this desa's letters (GET /api/v1/surat) holds ``nomor``: a retry after an answer
    that never came back finds its letter already stored (OpenDK's ``nomor`` is unique)."""
    try:
        resp = requests.get(f"{conn.base_url}/api/v1/surat", params={"desa_id": conn.desa_id},
                            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
                            timeout=TIMEOUT_SECONDS)
        data = resp.json().get("data") if resp.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError):
        return False
    return any(isinstance(item, dict) and item.get("nomor") == nomor for item in (data or []))


def send_letter(conn: Connection, fields: dict, filename: str, pdf: bytes) -> Answer:
    """Send one signed letter (``fields``: desa_id, nik, tanggal, nomor, nama; ``pdf`` exactly as stored) and return
    OpenDK's answer; raises a ``channels.DeliveryError`` (or subclass) when it was not accepted."""
    if len(pdf) > MAX_FILE_BYTES:
        raise channels.Undeliverable(f"berkas {len(pdf)} bita, batas OpenDK {MAX_FILE_BYTES} bita (2 MB)")
    bearer = _bearer(conn)
    resp = _post_letter(conn, bearer, fields, filename, pdf)
    if resp.status_code == 401 and not conn.api_key:
        # the token expired or was invalidated: log in again, once
        tokens.drop(conn)
        bearer = login(conn)
        resp = _post_letter(conn, bearer, fields, filename, pdf)
    if 200 <= resp.status_code < 300:
        return Answer(resp.status_code, resp.text[:ANSWER_MAX])
    if resp.status_code == 401:
        raise channels.DeliveryError(f"OpenDK menolak token: {_short(resp)}")
    if resp.status_code == 422:
        try:
            errors = resp.json()
        except ValueError:
            errors = {}
        if isinstance(errors, dict) and set(errors) == {"nomor"} and already_there(conn, bearer, fields["nomor"]):
            return Answer(resp.status_code, f"sudah tersimpan di OpenDK sebelumnya ({_short(resp)})")
        raise channels.Undeliverable(f"OpenDK menolak isian surat: {_short(resp)}")
    raise channels.DeliveryError(f"OpenDK menjawab {_short(resp)}")
