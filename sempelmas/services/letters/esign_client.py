"""An HTTP client for BSrE's (BSSN) Esign Client Service, the on-premises gateway that signs whole PDFs with the
official's BSrE certificate.

Written from the published descriptions (the project's INTEGRATIONS.md, BSrE section):
- v1, as OpenSID calls it (``donjo-app/controllers/external_api/Tte.php``): HTTP Basic auth;
  ``GET /api/user/status/{nik}``; ``POST /api/sign/pdf`` multipart ``file``, ``nik``, ``passphrase``, ``tampilan``
  (``invisible`` | ``visible``; visible adds ``width``, ``height``, ``page``, ``xAxis``, ``yAxis``, ``tag_koordinat``
  and ``image=true`` + an ``imageTTD`` file, or ``image=false`` + ``linkQR``, and ``reason``/``location``: the
  field names of kiiskominfokepri/esign-ts ``src/dto/VisibleSignOptions.ts``). The answer is the signed PDF itself.
- v2 (kiiskominfokepri/esign-ts ``DOCS.md``, ``src/v2/EsignClient.ts``, after "Petunjuk Teknis API Esign Client
  Service v2.2.1"): Basic auth; JSON. ``POST /api/v2/sign/pdf`` ``{nik, passphrase | totp, signatureProperties:
  [{tampilan: INVISIBLE|VISIBLE, imageBase64, page, originX, originY, width, height, tag_koordinat, reason,
  location}], file: [base64]}`` → ``{file: [base64], time}``; ``POST /api/v2/user/check/status`` ``{nik}`` →
  ``{status: ISSUE | EXPIRED | RENEW | WAITING_FOR_VERIFICATION | NEW | NO_CERTIFICATE | NOT_REGISTERED | SUSPEND |
  REVOKE}`` (only ISSUE can sign); ``POST /api/v2/verify/pdf`` ``{file}`` → the gateway's report.
- Error answers: a JSON body with ``error`` (else ``message``), and on the gateway's own refusals a
  ``status_code``: 2031 "Passphrase anda salah", 2011 "User tidak terdaftar" (as integrators check them); the v1
  user status answers ``status_code`` 1111 for a usable certificate, 1110 for a NIK not registered. Other refusals
  are recognised by their words (TOTP, certificate not active/expired/revoked) and otherwise reported as refused
  with the gateway's own words.

Safety: the passphrase or TOTP goes in the one signing request and nowhere else: not logged, not in any exception
(``EsignError`` carries only our message and the gateway's words with the secret blanked out, and is raised
outside the ``except`` block so no ``requests`` exception holding the request body hangs on it). Connect and read
are always bounded, the whole exchange too (connect + read timeouts, plus at most one more read: a gateway
trickling bytes cannot hold a worker), redirects are not
followed (a 307 would resend the passphrase elsewhere), and the answer is capped in size.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import time
from dataclasses import dataclass

import requests
import urllib3

from sempelmas.domain.i18n import lazy as _

log = logging.getLogger(__name__)

#: the largest signed PDF accepted back from the gateway
MAX_PDF_BYTES = 50 * 1024 * 1024
#: a v2 answer carries the PDF in base64 (4/3 larger) inside JSON
MAX_RESPONSE_BYTES = MAX_PDF_BYTES * 4 // 3 + 64 * 1024
#: how much of the gateway's words an error keeps
GATEWAY_WORDS_MAX = 300
KINDS = ("passphrase", "totp", "not_active", "unavailable", "timeout", "rejected", "bad_response")

# The gateway's own codes (see the module docstring).
CODE_WRONG_PASSPHRASE = 2031
CODE_USER_NOT_REGISTERED = 2011
STATUS_CODE_ACTIVE = 1111
ACTIVE_STATUS = "ISSUE"

_NIK = re.compile(r"[0-9]{16}")  # ASCII digits only: it goes into a URL path (v1)
_NOT_ACTIVE_WORDS = ("tidak terdaftar", "belum terdaftar", "not registered", "not_registered", "sertifikat",
                     "certificate", "expired", "kedaluwarsa", "kadaluarsa", "kadaluwarsa", "revoke", "suspend",
                     "tidak aktif", "no_certificate", "belum diterbitkan")


class EsignError(Exception):
    """The gateway did not sign (or did not answer as described). ``kind`` says why, for the caller's decision;
    ``message`` is for the official, in their language; ``gateway_message`` is the gateway's own words (secret
    blanked out), for the admin. Never carries the passphrase or the TOTP."""

    kind: str

    def __init__(self, kind: str, message: str, *, gateway_message: str = "", http_status: int | None = None):
        assert kind in KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.gateway_message = gateway_message
        self.http_status = http_status

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return f"EsignError(kind={self.kind!r}, message={str(self.message)!r})"


@dataclass(frozen=True)
class EsignConfig:
    base_url: str
    username: str
    password: str
    version: str = "v2"  # 'v1' | 'v2'
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    def __post_init__(self):
        if self.version not in ("v1", "v2"):
            raise ValueError(f"ESIGN_API_VERSION must be 'v1' or 'v2', not {self.version!r}")
        if not (0 < self.connect_timeout <= 600 and 0 < self.read_timeout <= 3600):
            raise ValueError("ESIGN_CONNECT_TIMEOUT and ESIGN_READ_TIMEOUT must be positive and bounded")

    def __repr__(self) -> str:  # the gateway account's password stays out of logs and tracebacks
        return (f"EsignConfig(base_url={self.base_url!r}, username={self.username!r}, version={self.version!r}, "
                f"connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout})")

    @classmethod
    def from_app(cls, app) -> EsignConfig | None:
        """From ESIGN_URL, ESIGN_USERNAME, ESIGN_PASSWORD, ESIGN_API_VERSION, ESIGN_CONNECT_TIMEOUT,
        ESIGN_READ_TIMEOUT; None when ESIGN_URL is empty (no gateway configured)."""
        cfg = app.config
        url = (cfg.get("ESIGN_URL") or "").strip()
        if not url:
            return None
        return cls(base_url=url.rstrip("/"), username=cfg.get("ESIGN_USERNAME") or "",
                   password=cfg.get("ESIGN_PASSWORD") or "",
                   version=(cfg.get("ESIGN_API_VERSION") or "v2").strip().lower(),
                   connect_timeout=float(cfg.get("ESIGN_CONNECT_TIMEOUT") or 5.0),
                   read_timeout=float(cfg.get("ESIGN_READ_TIMEOUT") or 60.0))


@dataclass(frozen=True)
class UserStatus:
    active: bool
    #: the gateway's own words (and its status name), for the admin
    message: str


@dataclass(frozen=True)
class Appearance:
    """A visible signature; ``None`` in place of an Appearance signs invisibly."""

    image: bytes | None = None
    link_qr: str | None = None
    page: int = 1
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    #: tag_koordinat: a text in the PDF (e.g. "[qr_bsre]") where the gateway places the appearance
    tag: str | None = None


@dataclass
class _Answer:
    status: int
    content_type: str
    body: bytes

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def _mask_nik(nik: str) -> str:
    return f"…{nik[-4:]}" if len(nik) >= 4 else "…"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _looks_like_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


class EsignClient:
    def __init__(self, config: EsignConfig):
        self.config = config

    # ------------------------------------------------------------------------------------------- API

    def user_status(self, nik: str) -> UserStatus:
        """Whether the official with ``nik`` holds a certificate the gateway can sign with now."""
        self._check_nik(nik)
        if self.config.version == "v1":
            answer = self._call("GET", f"/api/user/status/{nik}", secrets=(), what="status")
        else:
            answer = self._call("POST", "/api/v2/user/check/status", json_body={"nik": nik}, secrets=(),
                                what="status")
        body = answer.json()
        if answer.status >= 500 or not isinstance(body, dict):
            self._raise_for(answer, secrets=())
        nested = body.get("data") if isinstance(body.get("data"), dict) else {}
        status = str(body.get("status") or body.get("userStatus") or nested.get("status") or "")
        words = str(body.get("message") or body.get("error") or body.get("deskripsi_status") or "")
        # a 401 that names no user status (none, or just the HTTP code echoed) refuses the app's credentials
        if answer.status == 401 and "status_code" not in body and (not status or status.isdigit()):
            self._raise_for(answer, secrets=())
        code = body.get("status_code")
        if code is not None and str(code).isdigit():
            active = int(code) == STATUS_CODE_ACTIVE
        else:
            active = status.upper() == ACTIVE_STATUS
        if answer.status != 200:
            active = False
        message = " — ".join(part for part in (status, words) if part) or f"HTTP {answer.status}"
        return UserStatus(active=active, message=message[:GATEWAY_WORDS_MAX])

    def sign_pdf(self, pdf: bytes, *, nik: str, passphrase: str | None = None, totp: str | None = None,
                 appearance: Appearance | None = None, reason: str = "", location: str = "") -> bytes:
        """The PDF signed by the gateway with the certificate of ``nik``. Exactly one of ``passphrase`` and
        ``totp`` (v2 only); the answer must be a PDF (its signature is the caller's to validate)."""
        self._check_nik(nik)
        if (passphrase is None) == (totp is None) or not (passphrase or totp):
            raise EsignError("passphrase", _("Masukkan passphrase (atau kode TOTP) sertifikat elektronik."))
        if totp is not None and self.config.version == "v1":
            raise EsignError("rejected", _("Esign Client Service v1 tidak menerima kode TOTP; gunakan passphrase."))
        if totp is not None and not re.fullmatch(r"[0-9]{6,8}", totp):
            raise EsignError("totp", _("Kode TOTP harus 6 angka dari aplikasi autentikator."))
        secrets = tuple(s for s in (passphrase, totp) if s)
        if self.config.version == "v1":
            answer = self._sign_v1(pdf, nik, passphrase or "", appearance, reason, location)
            signed = answer.body if answer.status == 200 else None
            if signed is not None and not _looks_like_pdf(signed):
                body = answer.json()
                if isinstance(body, dict) and ("error" in body or "status_code" in body):
                    self._raise_for(answer, secrets=secrets)
                raise EsignError("bad_response", _("Esign Client Service menjawab berhasil, tetapi yang dikirim "
                                                   "kembali bukan berkas PDF. Surat belum ditandatangani."),
                                 http_status=200)
        else:
            answer = self._sign_v2(pdf, nik, passphrase, totp, appearance, reason, location)
            signed = self._v2_file(answer, secrets) if answer.status == 200 else None
        if signed is None:
            self._raise_for(answer, secrets=secrets)
        log.info("esign: PDF signed by the gateway for NIK %s (%d bytes in, %d out)", _mask_nik(nik), len(pdf),
                 len(signed))
        return signed

    def verify_pdf(self, pdf: bytes) -> dict:
        """The gateway's own verification report of ``pdf`` (v2 only)."""
        if self.config.version != "v2":
            raise EsignError("rejected", _("Verifikasi melalui Esign Client Service hanya tersedia pada API v2."))
        answer = self._call("POST", "/api/v2/verify/pdf",
                            json_body={"file": base64.b64encode(pdf).decode("ascii")}, secrets=(), what="verify")
        body = answer.json()
        if answer.status != 200 or not isinstance(body, dict) or "error" in body:
            self._raise_for(answer, secrets=())
        return body

    # ------------------------------------------------------------------------------------ requests

    def _sign_v1(self, pdf, nik, passphrase, appearance, reason, location) -> _Answer:
        fields: list[tuple[str, str]] = [("nik", nik), ("passphrase", passphrase),
                                         ("tampilan", "visible" if appearance else "invisible")]
        files: list[tuple[str, tuple]] = [("file", ("surat.pdf", pdf, "application/pdf"))]
        if appearance is not None:
            if appearance.image is not None:
                fields.append(("image", "true"))
                files.append(("imageTTD", ("ttd.png", appearance.image, "image/png")))
            elif appearance.link_qr:
                fields += [("image", "false"), ("linkQR", appearance.link_qr)]
            if appearance.image is not None or appearance.link_qr:
                fields += [("page", str(appearance.page)), ("xAxis", _num(appearance.x)),
                           ("yAxis", _num(appearance.y))]
            fields += [("width", _num(appearance.width)), ("height", _num(appearance.height))]
            if appearance.tag:
                fields.append(("tag_koordinat", appearance.tag))
            if reason:
                fields.append(("reason", reason))
            if location:
                fields.append(("location", location))
        return self._call("POST", "/api/sign/pdf", data=fields, files=files, secrets=(passphrase,), what="sign")

    def _sign_v2(self, pdf, nik, passphrase, totp, appearance, reason, location) -> _Answer:
        props: dict = {"tampilan": "VISIBLE" if appearance else "INVISIBLE"}
        if appearance is not None:
            image = appearance.image
            if image is None and appearance.link_qr:
                image = _qr_png(appearance.link_qr)  # v2 takes an image only: the QR is drawn here
            if image is not None:
                props["imageBase64"] = base64.b64encode(image).decode("ascii")
            props.update(page=appearance.page, originX=appearance.x, originY=appearance.y, width=appearance.width,
                         height=appearance.height)
            if appearance.tag:
                props["tag_koordinat"] = appearance.tag
        props["reason"] = reason
        props["location"] = location
        payload: dict = {"nik": nik, "signatureProperties": [props],
                         "file": [base64.b64encode(pdf).decode("ascii")]}
        if passphrase:
            payload["passphrase"] = passphrase
        else:
            payload["totp"] = totp
        return self._call("POST", "/api/v2/sign/pdf", json_body=payload,
                          secrets=tuple(s for s in (passphrase, totp) if s), what="sign")

    def _v2_file(self, answer: _Answer, secrets) -> bytes | None:
        body = answer.json()
        if not isinstance(body, dict):
            raise EsignError("bad_response", _("Esign Client Service menjawab berhasil, tetapi jawabannya bukan "
                                               "JSON yang dikenal. Surat belum ditandatangani."), http_status=200)
        if "error" in body:
            return None  # a refusal in a 200 (as the v2 client libraries expect): classified by the caller
        files = body.get("file")
        try:
            signed = base64.b64decode(files[0], validate=True)
        except (TypeError, IndexError, KeyError, ValueError, binascii.Error):
            signed = b""
        if not _looks_like_pdf(signed):
            raise EsignError("bad_response", _("Esign Client Service menjawab berhasil, tetapi yang dikirim kembali "
                                               "bukan berkas PDF. Surat belum ditandatangani."), http_status=200)
        return signed

    def _call(self, method: str, path: str, *, secrets: tuple[str, ...], what: str, json_body=None, data=None,
              files=None) -> _Answer:
        """One bounded exchange with the gateway; a transport failure becomes an EsignError raised outside the
        ``except`` block (the ``requests`` exception holds the request, and with it the secret)."""
        cfg = self.config
        started = time.monotonic()
        deadline = started + cfg.connect_timeout + cfg.read_timeout
        failure: tuple[str, str] | None = None
        answer: _Answer | None = None
        try:
            with requests.Session() as session:
                session.trust_env = False  # no proxy from the environment between us and an on-premises gateway
                with session.request(method, cfg.base_url + path, auth=(cfg.username, cfg.password),
                                     json=json_body, data=data, files=files, headers={"Accept": "application/json"},
                                     timeout=(cfg.connect_timeout, cfg.read_timeout), stream=True,
                                     allow_redirects=False) as resp:
                    length = resp.headers.get("Content-Length", "")
                    if length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
                        failure = ("too_big", "")
                    else:
                        buf = io.BytesIO()
                        for chunk in resp.iter_content(64 * 1024):
                            buf.write(chunk)
                            if buf.tell() > MAX_RESPONSE_BYTES:
                                failure = ("too_big", "")
                                break
                            if time.monotonic() > deadline:
                                failure = ("timeout", "read")
                                break
                        if failure is None:
                            answer = _Answer(resp.status_code, resp.headers.get("Content-Type", ""), buf.getvalue())
        except requests.exceptions.ConnectTimeout:
            failure = ("timeout", "connect")
        except (requests.exceptions.ReadTimeout, TimeoutError):
            failure = ("timeout", "read")
        except requests.exceptions.ConnectionError as exc:
            # a read timeout inside the body stream arrives as ConnectionError(ReadTimeoutError)
            timed_out = bool(exc.args) and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError)
            failure = ("timeout", "read") if timed_out else ("unavailable", type(exc).__name__)
        except requests.RequestException as exc:
            failure = ("unavailable", type(exc).__name__)
        elapsed = time.monotonic() - started
        shown = "/api/user/status/…" if path.startswith("/api/user/status/") else path  # no NIK in the log
        if failure is not None:
            kind, detail = failure
            log.warning("esign: %s %s failed after %.1f s: %s %s", method, shown, elapsed, kind, detail)
            if kind == "too_big":
                raise EsignError("bad_response", _("Jawaban Esign Client Service terlalu besar (lebih dari %(mb)d MB)."
                                                   " Surat belum ditandatangani.", mb=MAX_PDF_BYTES // 2**20))
            if kind == "timeout" and detail == "connect":
                raise EsignError("timeout", _("Esign Client Service tidak dapat dihubungi dalam %(s)s detik. "
                                              "Surat belum ditandatangani; coba lagi nanti.",
                                              s=_num(cfg.connect_timeout)))
            if kind == "timeout":
                raise EsignError("timeout", _("Esign Client Service tidak menjawab dalam %(s)s detik. Surat belum "
                                              "ditandatangani; coba lagi nanti.",
                                              s=_num(cfg.read_timeout)))
            raise EsignError("unavailable", _("Esign Client Service tidak dapat dihubungi (%(url)s). Surat belum "
                                              "ditandatangani; periksa bahwa layanan BSrE di server kelurahan "
                                              "berjalan.", url=cfg.base_url))
        assert answer is not None
        log.info("esign: %s %s → HTTP %d in %.2f s (%s)", method, shown, answer.status, elapsed, what)
        return answer

    # ------------------------------------------------------------------------------------ errors

    @staticmethod
    def _check_nik(nik: str) -> None:
        if not isinstance(nik, str) or not _NIK.fullmatch(nik):
            raise EsignError("rejected", _("NIK penandatangan harus 16 angka; periksa data pejabat."))

    def _raise_for(self, answer: _Answer, *, secrets: tuple[str, ...]):
        """Turn a refusal of the gateway into an EsignError of the right kind."""
        body = answer.json()
        words, code = "", None
        if isinstance(body, dict):
            words = str(body.get("error") or body.get("message") or body.get("deskripsi_status") or
                        body.get("status") or "")
            if body.get("message") and body.get("error") and str(body["message"]) != str(body["error"]):
                words = f"{body['error']}: {body['message']}"
            raw_code = body.get("status_code")
            code = int(raw_code) if raw_code is not None and str(raw_code).isdigit() else None
        elif answer.body and not answer.body.lstrip().startswith(b"%PDF"):
            words = answer.body[:GATEWAY_WORDS_MAX].decode("utf-8", "replace")
        words = _blank(words, secrets)[:GATEWAY_WORDS_MAX]
        low = words.lower()
        status = answer.status
        log.warning("esign: refused, HTTP %d, code %s: %s", status, code, words)

        def error(kind, message):
            return EsignError(kind, message, gateway_message=words, http_status=status)

        if code == CODE_WRONG_PASSPHRASE or "passphrase" in low:
            raise error("passphrase", _("Passphrase sertifikat elektronik BSrE salah. Surat belum ditandatangani."))
        if status < 500 and ("totp" in low or "otp" in re.findall(r"[a-z]+", low)):
            raise error("totp", _("Kode TOTP salah atau sudah kedaluwarsa. Ambil kode baru dari aplikasi "
                                  "autentikator lalu coba lagi."))
        if code == CODE_USER_NOT_REGISTERED:
            raise error("not_active", _("NIK penandatangan tidak terdaftar di BSrE. Surat belum ditandatangani; "
                                        "minta admin memeriksa data pejabat."))
        # a crash's words (a Java stack trace naming CertificateException) say nothing about the official
        if status < 500 and any(w in low for w in _NOT_ACTIVE_WORDS):
            raise error("not_active", _("Sertifikat elektronik BSrE penandatangan tidak aktif (belum terbit, "
                                        "kedaluwarsa, ditangguhkan atau dicabut). Surat belum ditandatangani; "
                                        "hubungi admin untuk memperbarui sertifikat."))
        if status == 401:
            raise error("rejected", _("Esign Client Service menolak akun aplikasi (ESIGN_USERNAME/ESIGN_PASSWORD). "
                                      "Surat belum ditandatangani; minta admin memeriksa pengaturan."))
        if status >= 500:
            raise error("unavailable", _("Esign Client Service sedang bermasalah (HTTP %(status)d). Surat belum "
                                         "ditandatangani; coba lagi nanti.", status=status))
        if 300 <= status < 400:
            raise error("rejected", _("Esign Client Service mengalihkan permintaan (HTTP %(status)d); ESIGN_URL "
                                      "perlu diperiksa admin. Surat belum ditandatangani.", status=status))
        if status == 200:
            raise error("bad_response", _("Jawaban Esign Client Service tidak dikenali. Surat belum "
                                          "ditandatangani."))
        raise error("rejected", _("Esign Client Service menolak permintaan (HTTP %(status)d). Surat belum "
                                  "ditandatangani.", status=status))


def _blank(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _qr_png(link: str) -> bytes:
    import qrcode

    buf = io.BytesIO()
    qrcode.make(link, border=1).save(buf, format="PNG")
    return buf.getvalue()
