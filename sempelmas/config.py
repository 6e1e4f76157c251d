"""Configuration: defaults here, then ``instance/config.py``, then environment variables.

The secret key is never defaulted outside tests: ``make run`` writes a random one into
``instance/secret_key`` and production must supply one (environment, instance config or that file).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "SEMPELMAS_"


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
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12

    # Behind nginx: how many proxies set X-Forwarded-* (0 = not behind a proxy).
    PROXY_COUNT = 0

    WTF_CSRF_TIME_LIMIT = None  # a resident may fill a long form slowly on a phone

    # Flask-Limiter: storage must be shared by all workers in production (e.g. redis://);
    # an in-process store is set explicitly so the choice is visible: lazymemory:// is memory:// without
    # a timer thread per hit (sempelmas/ratelimit_storage.py).
    RATELIMIT_STORAGE_URI = "lazymemory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "20 per minute"
    REGISTER_RATE_LIMIT = "10 per hour"
    RESET_RATE_LIMIT = "10 per hour"
    #: public complaint filings per client address (the form at /pengaduan)
    COMPLAINT_RATE_LIMIT = "10 per hour"
    # Wrong passwords and reset codes (services/login_guard.py; counted in the database, so every worker
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
    #: a signed-in session's "last seen" is written at most this often (services/sessions.py)
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
    IMAGE_MAX_SIDE = 2000
    CONSENT_VERSION = "2026-11"
    PASSWORD_RESET_HOURS = 24

    #: how long each worker may show a profile changed by another worker
    PROFILE_CACHE_SECONDS = 60
    #: rendered pages (login, resident home) each worker keeps while the data is unchanged; 0 turns the
    #: cache off (sempelmas/page_cache.py)
    PAGE_CACHE_ENTRIES = 500
    #: the staff queue's counts per status, re-read at most this often by each worker for page views
    #: (an action always re-reads them); 0 turns the cache off
    QUEUE_COUNTS_CACHE_SECONDS = 2
    WORKER_POLL_SECONDS = 1.0
    IMPORT_CHUNK_SIZE = 2000

    # Flask-Compress: text the browser reads, brotli (browsers over HTTPS) or gzip; never PDFs or images,
    # which are compressed already (they are not in the list). Static text files are read into memory
    # first (sempelmas/static_versions.py): Flask-Compress's streaming path leaves the file open.
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                          "application/json", "application/manifest+json", "image/svg+xml"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_STREAMS = False
    COMPRESS_MIN_SIZE = 500  # smaller bodies (htmx counters, 204s) gain less than the header costs
    COMPRESS_LEVEL = 6  # gzip
    COMPRESS_BR_LEVEL = 5

    # Notifications outside the app (the notify worker sends them; unset = bell only).
    #: the site's address, e.g. "https://layanan.jagalan.go.id": messages then end with a link
    PUBLIC_URL: str | None = None
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
    #: the JSON body; {phone} and {message} are replaced by JSON-escaped text
    NOTIFY_GATEWAY_TEMPLATE = '{"to": "{phone}", "message": "{message}"}'
    NOTIFY_GATEWAY_TIMEOUT = 10
    #: attempts before a message is marked failed (retries back off: 1, 5, 15, 60, 180, 720 minutes…)
    NOTIFY_MAX_ATTEMPTS = 8
    NOTIFY_POLL_SECONDS = 5.0

    # Digital signatures (services/pki.py): the kelurahan CA lives in PKI_DIR (default <instance>/pki).
    PKI_DIR: str | None = None
    #: the CA key's passphrase; empty outside production → generated once into <PKI_DIR>/ca-passphrase
    PKI_CA_PASSPHRASE: str | None = None
    #: RFC 3161 timestamp authority (PAdES B-T); unset → B-B
    PKI_TSA_URL: str | None = None
    #: wrong signing passphrases allowed per official within the window before signing is paused
    PKI_MAX_FAILURES = 5
    PKI_FAILURE_WINDOW_MINUTES = 15
    #: scrypt cost (N = 2**value, r = 8, p = 1) of the PKCS#8 encryption of private keys
    PKI_KEY_SCRYPT_LOG_N = 13
    #: the QR code on a signed letter carries <PUBLIC_BASE_URL>/v/<code>
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Public letter verification (/v/<code>).
    #: signed letters (random file names); default <instance>/letters
    LETTER_DIR: str | None = None
    #: per client address, against walking the codes (the benchmark raises it)
    VERIFY_RATE_LIMIT = "60 per minute"
    #: the PDF a verifier uploads to compare with the issued letter
    VERIFY_UPLOAD_MAX_BYTES = 15 * 1024 * 1024
    #: scans are counted in memory per worker and written every N seconds (0 = at once), or sooner when
    #: N scans have piled up (a memory bound). One UPDATE per letter scanned in the window: a busy hour of
    #: scans costs a few writes, not one per scan (bench/bench_verify.py). Counts are for staff, not urgent.
    VERIFY_SCAN_FLUSH_SECONDS = 30
    VERIFY_SCAN_FLUSH_HITS = 20_000
    #: how long the (cookie-less) upload form on a verification page stays valid
    VERIFY_FORM_MAX_AGE = 6 * 3600

    # Backup and retention (services/backup.py, services/retention.py; `flask backup …`, `flask retention run`).
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
    for name in ("PUBLIC_URL", "MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM",
                 "NOTIFY_GATEWAY_URL", "NOTIFY_GATEWAY_AUTH_HEADER", "NOTIFY_GATEWAY_TEMPLATE",
                 "PKI_DIR", "PKI_CA_PASSPHRASE", "PKI_TSA_URL", "PUBLIC_BASE_URL",
                 "BACKUP_DIR", "BACKUP_COPY_TARGET", "BACKUP_SSH_COMMAND"):
        if env.get(name):
            out[name] = env[name]
    for name in ("MAIL_PORT", "NOTIFY_MAX_ATTEMPTS", "BACKUP_KEEP", "BACKUP_COPY_KEEP", "ATTACHMENT_RETENTION_DAYS",
                 "PAGE_CACHE_ENTRIES"):
        if env.get(name):
            out[name] = int(env[name])
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
        if env.get(name):
            out[name] = env[name].lower() in {"1", "true", "yes"}
    if env.get("SEMPELMAS_VERIFY_RATE_LIMIT"):
        out["VERIFY_RATE_LIMIT"] = env["SEMPELMAS_VERIFY_RATE_LIMIT"]
    if env.get("SEMPELMAS_PROXY_COUNT"):
        out["PROXY_COUNT"] = int(env["SEMPELMAS_PROXY_COUNT"])
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
    else:
        app.config.update(test_config)

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
        raise RuntimeError(
            "SECRET_KEY belum diatur: set the SECRET_KEY environment variable, put SECRET_KEY in "
            "instance/config.py, or run `make run` once to generate instance/secret_key."
        )
