"""Configuration: defaults here, then ``instance/config.py``, then environment variables.

The secret key is never defaulted outside tests: ``make run`` writes a random one into
``instance/secret_key`` and production must supply one (environment, instance config or that file).

``PUBLIC_URL`` is the one address of the site that links printed or sent outside the browser carry (the QR
code and footer of signed letters, e-mail and WhatsApp messages, exports): ``sempelmas/links.py`` builds them
all. In development it defaults to the address ``make run`` serves (``SEMPELMAS_HOST``/``SEMPELMAS_PORT``).

``SEMPELMAS_ENV=production`` refuses to start (``ConfigError``, naming the setting) without a usable
``PUBLIC_URL`` and ``SECRET_KEY``: see ``check_production``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "SEMPELMAS_"
ENVIRONMENTS = ("development", "production")
#: the shortest SECRET_KEY production accepts (``secrets.token_hex(32)`` gives 64 characters)
SECRET_KEY_MIN_LENGTH = 32
#: fragments of the values people leave in example files; a production SECRET_KEY containing one is refused
#: (five letters or more: a random key holds a given four-letter word too often to refuse it)
SECRET_KEY_PLACEHOLDERS = ("change", "ganti", "replace", "example", "contoh", "placeholder", "secret", "rahasia",
                           "password", "sandi", "your-", "your_", "fixme", "dummy", "default", "xxxxx")
#: fewer distinct characters means "aaaa…" or "abab…" (a random 32-character hex key practically never has)
SECRET_KEY_MIN_DISTINCT = 8
#: names reserved for examples and tests (RFC 2606, RFC 6761): never a kelurahan's real address
EXAMPLE_DOMAINS = ("example", "invalid", "test", "localhost", "example.com", "example.net", "example.org")
#: words of this project's own example addresses (deploy/sempelmas.env.example, README)
EXAMPLE_HOST_WORDS = ("contoh", "kelurahan-anda")


class ConfigError(RuntimeError):
    """A setting the app refuses to start with; the message names it and says what to do."""


class DefaultConfig:
    #: "development" (demo allowed) or "production" (no demo data, strict secrets)
    ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from DATABASE_URL or the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}  # pool_pre_ping is added for server databases
    SQLITE_BUSY_TIMEOUT_MS = 10_000

    # Sessions: HttpOnly + SameSite=Lax always; Secure when the site is served over HTTPS.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: None = follow the site: Secure in production when PUBLIC_URL is https (SEMPELMAS_HTTPS sets it either way)
    SESSION_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE: bool | None = None
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12

    # Behind nginx: how many proxies set X-Forwarded-* (0 = not behind a proxy).
    PROXY_COUNT = 0

    WTF_CSRF_TIME_LIMIT = None  # a resident may fill a long form slowly on a phone

    # Flask-Limiter: storage must be shared by all workers in production (e.g. redis://);
    # memory:// is set explicitly so the choice is visible.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "20 per minute"
    REGISTER_RATE_LIMIT = "10 per hour"
    #: the registration form's live register check (/daftar/cek-data): it says whether NIK + KK + birth date match
    #: an entry, so it is bounded like a login
    REGISTER_CHECK_RATE_LIMIT = "60 per hour"  # a pendamping at the office registers several people an hour
    RESET_RATE_LIMIT = "10 per hour"
    # The integration API (/api/v1, sempelmas/web/api): per client (its row's rate_limit, else this)
    API_RATE_LIMIT = "120/minute"
    #: a client's last_used_at is written at most this often (a write per call would serialise the API's reads)
    API_LAST_USED_INTERVAL_SECONDS = 60
    #: the API's letters register lists letters signed at least this long ago: a letter's signed_at is taken
    #: before its signing transaction commits, so a concurrent signing could commit a letter behind a cursor
    #: already handed out; waiting this long keeps "no row skipped" true (services/integration/letters.py)
    API_REGISTER_SETTLE_SECONDS = 120
    #: public complaint filings per client address (the form at /pengaduan)
    COMPLAINT_RATE_LIMIT = "10 per hour"
    #: messages on a request's thread ("Tanya petugas") per account, and how many days after a request closed
    #: (done, rejected, cancelled) its resident may still ask about it (services/requests/questions.py)
    QUESTION_RATE_LIMIT = "30 per hour"
    QUESTION_DAYS_AFTER_CLOSE = 30
    # Wrong passwords and reset codes (services/people/login_guard.py; counted in the database, so every worker
    # sees them). One source address, or one trusted device, of an account: this many failures, then a lockout
    # of that source or device only, doubling with each further lockout in the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    #: failures from all untrusted clients of one account (many addresses): then only devices that signed in
    #: to the account before get in, for this long, doubling likewise; the owner is told
    LOGIN_ACCOUNT_MAX_FAILURES = 20
    LOGIN_ACCOUNT_LOCKOUT_MINUTES = 15
    LOGIN_LOCKOUT_MAX_MINUTES = 24 * 60
    #: a key without a failure for this long starts again from nothing
    LOGIN_FAILURE_WINDOW_HOURS = 24
    #: at most one "someone is trying your password" notice per account in this time
    LOGIN_NOTICE_MINUTES = 60
    #: the signed cookie that makes a browser a trusted device of the accounts that signed in on it
    DEVICE_COOKIE_NAME = "sempelmas_perangkat"
    DEVICE_COOKIE_DAYS = 365
    #: a signed-in session's "last seen" is written at most this often (services/people/sessions.py)
    SESSION_TOUCH_SECONDS = 300

    # Argon2id parameters (argon2-cffi defaults follow RFC 9106 low-memory profile).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    BABEL_DEFAULT_LOCALE = "id"
    LANGUAGES = ("id", "en")
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent.parent / "translations")

    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    #: documents a request may carry (the paper pengantar included)
    UPLOAD_MAX_FILES = 8
    #: a whole request form: every file at its limit, plus room for the answers and multipart overhead
    MAX_CONTENT_LENGTH = UPLOAD_MAX_FILES * UPLOAD_MAX_BYTES + 2 * 1024 * 1024
    #: files of request forms not yet sent, per resident account (services/attachments.store): submitting the
    #: form, replacing a file and the purge of forms unsent for two days free it
    DRAFT_UPLOAD_QUOTA_MB = 100
    #: an uploaded PDF document: refused above this many revisions (incremental updates: a scan or a letter has
    #: one to a few), and parsed in a child with this budget (services/files/isolation.py; 500 pages take ~0.05 s)
    UPLOAD_PDF_MAX_REVISIONS = 50
    UPLOAD_PDF_CHECK_SECONDS = 1.2
    UPLOAD_PDF_CHECK_MEMORY_MB = 256
    #: a stored upload that no committed record names is deleted by the sweep (services/files/upload_store.py: the
    #: worker's start, `flask doctor`, each backup) once it is older than this: far longer than any request may
    #: hold an upload before its commit (the web server's timeout), so a file about to be committed is never taken
    UPLOAD_ORPHAN_GRACE_SECONDS = 3600
    IMAGE_MAX_SIDE = 2000
    #: memory one photo may take at the peak of decoding and shrinking it (services/uploads.decode_cost; a
    #: JPEG is decoded at 1/2-1/8 scale first): a larger image is refused from its header, before decoding.
    #: 128 MB ≈ 20 megapixels of PNG, 13 with transparency, 9 of WebP; any camera JPEG
    IMAGE_MAX_DECODE_MB = 128
    #: what all the photos of one HTTP request may spend together (a form with several photos): bounds the
    #: time a worker gives one request (~1.5 s of decoding on these machines); eight phone photos take ~200
    IMAGE_REQUEST_MAX_DECODE_MB = 384
    CONSENT_VERSION = "2026-11"
    PASSWORD_RESET_HOURS = 24

    #: how long each worker may show a profile changed by another worker
    PROFILE_CACHE_SECONDS = 60
    #: the staff queue's counts per status, re-read at most this often by each worker for page views
    #: (an action always re-reads them); 0 turns the cache off
    QUEUE_COUNTS_CACHE_SECONDS = 2
    WORKER_POLL_SECONDS = 1.0
    #: a running job's process refreshes its heartbeat this often; a job without one for JOB_LEASE_SECONDS
    #: lost its process (killed, machine restarted) and is taken up again or marked failed (services/operations/jobs.py)
    JOB_HEARTBEAT_SECONDS = 5.0
    JOB_LEASE_SECONDS = 60.0
    #: runs of one job (the first included) before a job that keeps dying or meeting a busy database fails
    JOB_MAX_ATTEMPTS = 3
    #: batch signing runs in a process of its own, this much "nicer" than the web workers so pages keep
    #: answering meanwhile, and ended after this long whatever it did (services/letters/batch_signing.py)
    BATCH_SIGN_NICE = 10
    BATCH_SIGN_MAX_SECONDS = 1800
    #: after each letter a batch leaves SQLite's write lock free this long, so the pages' own writes (a login,
    #: an audit entry) get in (SQLite's busy handler re-polls every 25-100 ms): ~0.1 s a letter → ~0.15 s
    BATCH_SIGN_PAUSE_SECONDS = 0.05
    IMPORT_CHUNK_SIZE = 2000
    #: a register file (services/people/register_import.py): an XLSX may inflate to this much (a 20,000-row register
    #: inflates to ~15 MB; a zip bomb to gigabytes), and a file may hold this many data rows
    IMPORT_XLSX_MAX_MB = 128
    IMPORT_MAX_ROWS = 200_000
    #: an uploaded register file (the kelurahan's population data) whose preview is not applied is deleted by the
    #: retention run this many days after its upload (applied, failed or found to change nothing, it goes at
    #: once); 0 = at the next retention run
    IMPORT_PREVIEW_DAYS = 7
    #: rows in one register upsert through the API (POST /api/v1/residents; services/integration/residents.py):
    #: more is refused (413) before a row is read; 5,000 rows are ~1.5 MB of JSON and ~1 s of work
    API_UPSERT_MAX_ROWS = 5000

    # Flask-Compress: text the browser reads, brotli (browsers over HTTPS) or gzip; never PDFs or images,
    # which are compressed already (they are not in the list). Static text files are read into memory
    # first (sempelmas/web/static_versions.py): Flask-Compress's streaming path leaves the file open.
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                          "application/json", "application/manifest+json", "image/svg+xml"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_STREAMS = False
    COMPRESS_MIN_SIZE = 500  # smaller bodies (htmx counters, 204s) gain less than the header costs
    COMPRESS_LEVEL = 6  # gzip
    COMPRESS_BR_LEVEL = 5

    #: the site's public address, e.g. "https://layanan.jagalan.go.id": the QR code and footer of every signed
    #: letter, the links in e-mail/WhatsApp messages and exports (built only by sempelmas/links.py). Required in
    #: production; unset in development = the address `make run` serves (SERVE_HOST, SERVE_PORT).
    PUBLIC_URL: str | None = None
    #: production refuses an http:// PUBLIC_URL unless this is set (a kelurahan LAN without TLS)
    PUBLIC_URL_ALLOW_HTTP = False
    #: the address `make run` serves (SEMPELMAS_HOST, SEMPELMAS_PORT from its HOST and PORT), development's
    #: PUBLIC_URL when that is unset; a wildcard host (0.0.0.0, ::) becomes this machine's LAN address
    SERVE_HOST = "127.0.0.1"
    SERVE_PORT = 5000

    # Notifications outside the app (the notify worker sends them; unset = bell only).
    MAIL_SERVER: str | None = None  # SMTP host; e-mail is queued only when it is set
    MAIL_PORT = 587
    MAIL_USE_TLS = True  # STARTTLS after connecting
    MAIL_USE_SSL = False  # TLS from the start (usually port 465)
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM: str | None = None  # e.g. "Kelurahan Jagalan <layanan@jagalan.go.id>"
    MAIL_TIMEOUT = 10
    #: WhatsApp/SMS through a generic HTTP gateway: POSTed JSON, queued only when the URL is set
    NOTIFY_GATEWAY_URL: str | None = None
    NOTIFY_GATEWAY_AUTH_HEADER: str | None = None  # e.g. "Authorization: Bearer xyz"
    #: the JSON body; {phone}, {message} and {id} (the message's own id, the same on every attempt) are
    #: replaced by JSON-escaped text. Every POST also carries the id as an Idempotency-Key header.
    NOTIFY_GATEWAY_TEMPLATE = '{"to": "{phone}", "message": "{message}"}'
    NOTIFY_GATEWAY_TIMEOUT = 10
    #: attempts before a message is marked failed (retries back off: 1, 5, 15, 60, 180, 720 minutes…)
    NOTIFY_MAX_ATTEMPTS = 8
    NOTIFY_POLL_SECONDS = 5.0
    #: webhooks (services/operations/webhooks.py): seconds a receiver has to answer (redirects are not followed)
    WEBHOOK_TIMEOUT = 10
    #: failed deliveries in a row after which an endpoint is paused and the admins told
    WEBHOOK_PAUSE_AFTER = 10
    #: endpoints on private, loopback or link-local addresses (and http:// to localhost): None = allowed in
    #: development only; production refuses them (no SSRF into the kelurahan's LAN) unless this is set to True
    WEBHOOK_ALLOW_PRIVATE: bool | None = None
    #: the webhook log (events, deliveries sent or failed, their attempts) is deleted by the retention run this
    #: many days after the delivery; queued and held deliveries are kept whatever their age. 0 keeps it all.
    WEBHOOK_LOG_DAYS = 90
    #: Web Push to the installed app (services/operations/push.py): residents turn it on per phone
    WEB_PUSH = True
    #: the VAPID private key (PEM text, a PEM file's path, or raw base64url); unset → created once into
    #: <PUSH_DIR>/vapid-private.pem; PUSH_DIR defaults to PKI_DIR, which the backups hold (a new key voids every
    #: subscription)
    VAPID_PRIVATE_KEY: str | None = None
    PUSH_DIR: str | None = None
    #: how the push services reach the operator: "mailto:…" or "https://…" (default: MAIL_FROM, else PUBLIC_URL)
    VAPID_SUBJECT: str | None = None
    #: how long a push service keeps a message for a phone that is off (seconds)
    PUSH_TTL_SECONDS = 2 * 24 * 3600
    PUSH_TIMEOUT = 10
    #: tests only: accept push endpoints on http://127.0.0.1 (otherwise an https URL on a public host name)
    PUSH_ALLOW_LOCAL_ENDPOINTS = False

    # BSrE Esign Client Service (services/letters/esign_client.py): the on-premises gateway that signs with the
    # officials' BSrE certificates; unset ESIGN_URL = no BSrE backend.
    #: e.g. "http://10.0.0.5" (the gateway's base address, without /api)
    ESIGN_URL: str | None = None
    #: the application account the gateway's admin gives (HTTP Basic auth)
    ESIGN_USERNAME: str | None = None
    ESIGN_PASSWORD: str | None = None
    #: "v1" (multipart /api/sign/pdf, passphrase only) or "v2" (JSON /api/v2/..., passphrase or TOTP)
    ESIGN_API_VERSION = "v2"
    #: seconds to connect, and to wait for the signed PDF (a whole exchange: their sum plus at most one more read)
    ESIGN_CONNECT_TIMEOUT = 5.0
    ESIGN_READ_TIMEOUT = 60.0
    #: PEM file with the BSrE root (and intermediate) certificates BSrE-signed letters must validate against
    #: (services/letters/esign_roots.py): the signing flow, the verification page and the upload check use it
    ESIGN_TRUST_ROOTS: str | None = None

    # Digital signatures (services/letters/ca.py): the kelurahan CA lives in PKI_DIR (default <instance>/pki).
    PKI_DIR: str | None = None
    #: the CA key's passphrase; empty outside production → generated once into <PKI_DIR>/ca-passphrase
    PKI_CA_PASSPHRASE: str | None = None
    #: RFC 3161 timestamp authority: letters become PAdES B-LTA (signature + document timestamp); unset → B-LT
    PKI_TSA_URL: str | None = None
    #: HTTP Basic credentials of the TSA, if it asks for them
    PKI_TSA_USERNAME: str | None = None
    PKI_TSA_PASSWORD: str | None = None
    #: PEM file of the TSA's root certificate(s), trusted for its timestamps (a TSA under the kelurahan CA needs none)
    PKI_TSA_TRUST_ROOTS: str | None = None
    #: seconds to wait for the TSA (and its revocation info) before signing fails
    PKI_TSA_TIMEOUT = 10
    #: ``flask ltv run`` re-timestamps letters whose last timestamp's TSA certificate expires within these days
    LTV_REFRESH_DAYS = 90
    #: wrong signing passphrases allowed per official within the window before signing is paused
    PKI_MAX_FAILURES = 5
    PKI_FAILURE_WINDOW_MINUTES = 15
    #: scrypt cost (N = 2**value, r = 8, p = 1) of the PKCS#8 encryption of private keys
    PKI_KEY_SCRYPT_LOG_N = 13
    # (the QR code on a signed letter carries <PUBLIC_URL>/v/<code>)
    # Public letter verification (/v/<code>).
    #: signed letters (random file names); default <instance>/letters
    LETTER_DIR: str | None = None
    #: per client address, against walking the codes (the benchmark raises it)
    VERIFY_RATE_LIMIT = "60 per minute"
    #: the PDF a verifier uploads to compare with the issued letter
    VERIFY_UPLOAD_MAX_BYTES = 15 * 1024 * 1024
    #: an uploaded copy is parsed only while it stays this close to the issued letter (a PDF viewer's few
    #: incremental saves: a note, a stamp); a file beyond is answered "cannot be checked" without parsing
    #: (services/letters.py: pyHanko's cost grows with the square of the revisions)
    VERIFY_CHECK_EXTRA_BYTES = 1024 * 1024
    VERIFY_CHECK_EXTRA_REVISIONS = 8
    VERIFY_CHECK_EXTRA_OBJECTS = 2000
    #: the parse and signature check of an uploaded copy (other than the issued file itself) run in a forked
    #: child with this budget (wall-clock seconds, memory beyond what the worker maps); a letter needs ~0.02 s
    VERIFY_CHECK_SECONDS = 1.2
    VERIFY_CHECK_MEMORY_MB = 256
    #: scans are counted in memory per worker and written every N seconds (0 = at once), or sooner when
    #: N scans have piled up (a memory bound). One UPDATE per letter scanned in the window: a busy hour of
    #: scans costs a few writes, not one per scan (bench/bench_verify.py). Counts are for staff, not urgent.
    VERIFY_SCAN_FLUSH_SECONDS = 30
    VERIFY_SCAN_FLUSH_HITS = 20_000
    #: how long the (cookie-less) upload form on a verification page stays valid
    VERIFY_FORM_MAX_AGE = 6 * 3600

    # Backup and retention (services/operations/backup.py, services/operations/retention.py;
    # `flask backup …`, `flask retention run`).
    #: where archives are written; default <instance>/backups (put it on another disk if you can)
    BACKUP_DIR: str | None = None
    #: archives kept in BACKUP_DIR: older ones are deleted after a successful backup (0 = keep all)
    BACKUP_KEEP = 14
    #: a copy off the machine after each backup: a local folder (another disk) or user@host:/path (rsync over SSH)
    BACKUP_COPY_TARGET: str | None = None
    #: archives kept at the copy target (None = BACKUP_KEEP; 0 = keep all)
    BACKUP_COPY_KEEP: int | None = None
    #: the remote shell rsync and the remote pruning use, e.g. "ssh -i /etc/sempelmas/backup_key"
    BACKUP_SSH_COMMAND = "ssh -o BatchMode=yes"
    #: uploaded documents of finished requests (done, rejected, cancelled) are deleted this many days after the
    #: request closed; the letters, the register and the request records stay. One year leaves room for
    #: complaints, corrections and audits of the year's service before the personal documents go (UU PDP:
    #: keep personal data no longer than needed). 0 turns the retention run off.
    ATTACHMENT_RETENTION_DAYS = 365

    # `flask doctor` (services/operations/doctor.py): the thresholds of its checks.
    #: free space (MB) on the file systems of instance/, LETTER_DIR, UPLOAD_DIR, BACKUP_DIR: below FAULT it fails
    DOCTOR_DISK_FAULT_FREE_MB = 1024
    DOCTOR_DISK_WARN_FREE_MB = 5120
    #: the newest backup archive may be this old (a nightly timer and some slack)
    DOCTOR_BACKUP_MAX_AGE_HOURS = 26
    #: the job worker and the notifier mark themselves alive after each round (services/operations/heartbeat.py);
    #: a mark older than this means the process stopped, hangs or cannot reach the database
    DOCTOR_HEARTBEAT_MAX_SECONDS = 300
    #: this machine's clock against the database server's
    DOCTOR_CLOCK_WARN_SKEW_SECONDS = 2
    DOCTOR_CLOCK_MAX_SKEW_SECONDS = 30


def _env_overrides() -> dict:
    """Read the settings an operator sets from the environment."""
    env = os.environ
    out: dict = {}
    if env.get("SEMPELMAS_ENV"):
        out["ENV"] = env["SEMPELMAS_ENV"]
    if env.get("SECRET_KEY"):
        out["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if env.get("RATELIMIT_STORAGE_URI"):
        out["RATELIMIT_STORAGE_URI"] = env["RATELIMIT_STORAGE_URI"]
    if env.get("RATELIMIT_KEY_PREFIX"):
        # in the store itself (limits' key_prefix), so every counter of this deployment is apart from the other
        # kelurahan's on one shared redis, the verification page's direct counter included
        out["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": env["RATELIMIT_KEY_PREFIX"]}
    for name in ("PUBLIC_URL", "MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM",
                 "NOTIFY_GATEWAY_URL", "NOTIFY_GATEWAY_AUTH_HEADER", "NOTIFY_GATEWAY_TEMPLATE",
                 "VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "PUSH_DIR",
                 "PKI_DIR", "PKI_CA_PASSPHRASE", "PKI_TSA_URL",
                 "PKI_TSA_USERNAME", "PKI_TSA_PASSWORD", "PKI_TSA_TRUST_ROOTS",
                 "BACKUP_DIR", "BACKUP_COPY_TARGET", "BACKUP_SSH_COMMAND"):
        if env.get(name):
            out[name] = env[name]
    for name in ("MAIL_PORT", "NOTIFY_MAX_ATTEMPTS", "BACKUP_KEEP", "BACKUP_COPY_KEEP", "ATTACHMENT_RETENTION_DAYS",
                 "DRAFT_UPLOAD_QUOTA_MB", "UPLOAD_ORPHAN_GRACE_SECONDS", "IMPORT_PREVIEW_DAYS",
                 "WEBHOOK_TIMEOUT", "WEBHOOK_PAUSE_AFTER", "WEBHOOK_LOG_DAYS",
                 "PKI_TSA_TIMEOUT", "LTV_REFRESH_DAYS",
                 "DOCTOR_DISK_FAULT_FREE_MB", "DOCTOR_DISK_WARN_FREE_MB", "DOCTOR_BACKUP_MAX_AGE_HOURS",
                 "DOCTOR_HEARTBEAT_MAX_SECONDS", "DOCTOR_CLOCK_WARN_SKEW_SECONDS", "DOCTOR_CLOCK_MAX_SKEW_SECONDS"):
        if env.get(name):
            out[name] = int(env[name])
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "PUBLIC_URL_ALLOW_HTTP", "WEB_PUSH", "WEBHOOK_ALLOW_PRIVATE"):
        if env.get(name):
            out[name] = env[name].lower() in {"1", "true", "yes"}
    if env.get("SEMPELMAS_HOST"):
        out["SERVE_HOST"] = env["SEMPELMAS_HOST"]
    if env.get("SEMPELMAS_PORT"):
        out["SERVE_PORT"] = env["SEMPELMAS_PORT"]
    if env.get("SEMPELMAS_VERIFY_RATE_LIMIT"):
        out["VERIFY_RATE_LIMIT"] = env["SEMPELMAS_VERIFY_RATE_LIMIT"]
    if env.get("SEMPELMAS_PROXY_COUNT"):
        out["PROXY_COUNT"] = int(env["SEMPELMAS_PROXY_COUNT"])
    for name in ("ESIGN_URL", "ESIGN_USERNAME", "ESIGN_PASSWORD", "ESIGN_API_VERSION", "ESIGN_TRUST_ROOTS"):
        if env.get(name):
            out[name] = env[name]
    for name in ("ESIGN_CONNECT_TIMEOUT", "ESIGN_READ_TIMEOUT"):
        if env.get(name):
            out[name] = float(env[name])
    if env.get("SEMPELMAS_HTTPS"):
        secure = env["SEMPELMAS_HTTPS"].lower() in {"1", "true", "yes"}
        out["SESSION_COOKIE_SECURE"] = secure
        out["REMEMBER_COOKIE_SECURE"] = secure
    return out


def load_config(app, test_config: dict | None) -> None:
    """Apply defaults, instance config, environment and test overrides, then check secrets."""
    app.config.from_object(DefaultConfig)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(_env_overrides())
        _refuse_renamed(app.config, os.environ)
    else:
        app.config.update(test_config)
        _refuse_renamed(app.config, {})

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'sempelmas.db'}"
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # a server connection can drop between requests; a local SQLite file cannot
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    if not app.config.get("PKI_DIR"):
        app.config["PKI_DIR"] = str(instance / "pki")
    if not app.config.get("LETTER_DIR"):
        app.config["LETTER_DIR"] = str(instance / "letters")
    if not app.config.get("BACKUP_DIR"):
        app.config["BACKUP_DIR"] = str(instance / "backups")

    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if key_file.exists():
            app.config["SECRET_KEY"] = key_file.read_text().strip()
    if not app.config.get("SECRET_KEY"):
        raise ConfigError(
            "SECRET_KEY belum diatur: set the SECRET_KEY environment variable, put SECRET_KEY in "
            "instance/config.py, or run `make run` once to generate instance/secret_key."
        )
    if app.config["ENV"] not in ENVIRONMENTS:
        # a typo must not start a production site in development mode (demo data, a derived address)
        raise ConfigError(f"SEMPELMAS_ENV must be 'development' or 'production', not {app.config['ENV']!r}.")
    if app.config["ENV"] == "production":
        check_production(app.config)
    app.config["PUBLIC_URL"] = resolve_public_url(app.config)
    # a production site reached over https needs Secure cookies and HSTS whether or not the operator also set
    # SEMPELMAS_HTTPS (the address says it already); development stays on plain-http cookies unless asked
    over_https = app.config["ENV"] == "production" and app.config["PUBLIC_URL"].startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(name) is None:
            app.config[name] = over_https


def _refuse_renamed(config, environ) -> None:
    """PUBLIC_BASE_URL (the letters' QR address until issue 12) is no longer read. An install that still sets it
    is stopped rather than left to print another address than the one it chose: the fix is one rename."""
    where = [place for place, found in (("instance/config.py or the app config", "PUBLIC_BASE_URL" in config),
                                        ("the environment", bool(environ.get("PUBLIC_BASE_URL")))) if found]
    if where:
        raise ConfigError(
            f"PUBLIC_BASE_URL is set in {' and '.join(where)} but is no longer read: rename it to PUBLIC_URL "
            "(one setting now gives the address printed in the QR code and footer of every letter and in "
            "e-mail/WhatsApp links). If PUBLIC_URL is set too, keep the one address residents and the public "
            "reach, e.g. PUBLIC_URL=https://layanan.jagalan.go.id.")


def resolve_public_url(config) -> str:
    """PUBLIC_URL checked and without a trailing slash; when unset (development: production refused that
    already), the address ``make run`` serves (SERVE_HOST and SERVE_PORT). Raises ConfigError for an address
    that cannot be a link."""
    raw = config.get("PUBLIC_URL")
    if not raw or not str(raw).strip():
        return served_address(config.get("SERVE_HOST"), config.get("SERVE_PORT"))
    value = str(raw).strip().rstrip("/")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        well_formed = (parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query
                       and not parts.fragment and parts.username is None and " " not in value)
    except ValueError:
        well_formed = False
    if not well_formed:
        raise ConfigError(
            f"PUBLIC_URL={raw!r} is not a site address: write it as the public sees it, "
            "http(s)://host[:port][/path], e.g. https://layanan.jagalan.go.id.")
    return value


def served_address(host, port) -> str:
    """``http://<host>:<port>`` of the address ``make run`` serves. A wildcard host (0.0.0.0, ::, empty) is no
    address a phone can open: it becomes this machine's LAN address (the one its default route leaves from),
    or 127.0.0.1 when the machine has no network."""
    host = str(host or "").strip().strip("[]")
    if host in ("", "0.0.0.0", "::", "*"):  # noqa: S104 - compared, not bound
        host = _lan_address() or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port or 5000}"


def _lan_address() -> str | None:
    """The IPv4 address this machine's default route leaves from. Connecting a UDP socket sends nothing: the
    kernel only picks the interface (192.0.2.1 is TEST-NET-1, never a real host)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address  # noqa: S104


def check_production(config) -> None:
    """Refuse (one ConfigError naming every setting at fault, so one restart fixes them all) what a public site
    must not run with: a SECRET_KEY shorter than SECRET_KEY_MIN_LENGTH or looking like a placeholder; no
    PUBLIC_URL, or one that is this machine, an example name, or http:// without PUBLIC_URL_ALLOW_HTTP."""
    problems = _secret_key_problems(str(config.get("SECRET_KEY") or ""))
    raw = config.get("PUBLIC_URL")
    if not raw or not str(raw).strip():
        problems.append("PUBLIC_URL is not set: production needs the site's public address, e.g. "
                        "PUBLIC_URL=https://layanan.jagalan.go.id. It is printed in the QR code of every signed "
                        "letter and in e-mail/WhatsApp links.")
    else:
        try:
            problems += _public_url_problems(resolve_public_url(config), bool(config.get("PUBLIC_URL_ALLOW_HTTP")))
        except ConfigError as e:
            problems.append(str(e))
    if problems:
        raise ConfigError("SEMPELMAS_ENV=production will not start:\n- " + "\n- ".join(problems))


def _secret_key_problems(key: str) -> list[str]:
    hint = "Generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return [f"SECRET_KEY is {len(key)} characters long; production needs at least {SECRET_KEY_MIN_LENGTH} "
                f"random characters. {hint}"]
    lowered = key.lower()
    if any(word in lowered for word in SECRET_KEY_PLACEHOLDERS) or len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return [f"SECRET_KEY looks like a placeholder, not a random key. {hint}"]
    return []


def _public_url_problems(url: str, allow_http: bool) -> list[str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if host == "localhost" or (ip is not None and (ip.is_loopback or ip.is_unspecified or ip.is_link_local)):
        return [f"PUBLIC_URL={url} is this machine's own address: nobody else can open it, yet it would be "
                "printed in the QR code of every letter. Set the address residents and the public reach, e.g. "
                "PUBLIC_URL=https://layanan.jagalan.go.id."]
    if (any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)
            or any(word in host for word in EXAMPLE_HOST_WORDS)):
        return [f"PUBLIC_URL={url} is an example address: replace it with the site's real address."]
    if parts.scheme != "https" and not allow_http:
        return [f"PUBLIC_URL={url} is not https://: logins, personal data and letters would travel unencrypted. "
                "Serve the site over HTTPS, or, for a kelurahan network without TLS, set PUBLIC_URL_ALLOW_HTTP=1."]
    return []
