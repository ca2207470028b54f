"""Django settings for Incassa, read from the environment only.

Every value a deployment changes comes from an environment variable; nothing secret is
written here. ``DATABASE_URL`` defaults to a SQLite file under ``./var/`` so that a fresh
clone runs with no set-up, and ``SECRET_KEY`` is generated once and kept there when unset.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("INCASSA_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "incassa.core",
    "incassa.ledger",
    "incassa.payments",
    "incassa.dunning",
    "incassa.comms",
    "incassa.credit",
    "incassa.workspace",
    "incassa.cycle",
    "incassa.jobs",
    "incassa.web",
    "incassa.audit",
    "ninja",
    "incassa.api",
    "huey.contrib.djhuey",
    "django_tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "incassa.audit.context.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "incassa.web.account.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "incassa.api.middleware.json_method_not_allowed",
]

ROOT_URLCONF = "incassa.urls"
WSGI_APPLICATION = "incassa.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'incassa.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two writers (the web server
    # and a worker) wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-200000;"
        ),
    }
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "it"
LANGUAGES = [("it", "Italiano"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Rome")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sessions last a working day and end with the browser. Behind HTTPS (HTTPS=1) cookies are
# secure, plain HTTP is redirected and HSTS is sent; `make run` on http://127.0.0.1 leaves
# HTTPS unset. See docs/security.md for the production variables.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = _env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = _env_bool("HTTPS")
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", default=not DEBUG and HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 60 * 60 if HTTPS else 0)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = _env_bool("HSTS_PRELOAD")
if _env_bool("PROXY_SSL_HEADER"):
    # Only behind a proxy that sets X-Forwarded-Proto itself and drops the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Sign-in throttling: this many failures for one username or from one address within the
# window lock further attempts for the lock period (docs/security.md).
INCASSA_LOGIN_MAX_FAILURES = int(os.environ.get("INCASSA_LOGIN_MAX_FAILURES", "5"))
INCASSA_LOGIN_WINDOW_MINUTES = int(os.environ.get("INCASSA_LOGIN_WINDOW_MINUTES", "15"))
INCASSA_LOGIN_LOCK_MINUTES = int(os.environ.get("INCASSA_LOGIN_LOCK_MINUTES", "15"))
# How many reverse proxies stand in front (their X-Forwarded-For gives the client's address).
INCASSA_TRUSTED_PROXIES = int(os.environ.get("INCASSA_TRUSTED_PROXIES", "0"))
# Every administrator (and staff member) must use a second factor; a company can also
# require it of its own administrators in the admin (Company security).
INCASSA_REQUIRE_TOTP_FOR_ADMINS = _env_bool("INCASSA_REQUIRE_TOTP_FOR_ADMINS")

# A full snapshot that would close more than this share of a company's open items is
# refused unless forced: a truncated ERP export must never mark the portfolio as paid.
INCASSA_MAX_CLOSE_SHARE = float(os.environ.get("INCASSA_MAX_CLOSE_SHARE", "0.5"))
# Spreadsheets are untrusted input: refuse files larger than this many bytes.
INCASSA_MAX_UPLOAD_BYTES = int(os.environ.get("INCASSA_MAX_UPLOAD_BYTES", str(512 * 1024 * 1024)))
# The e-invoice upload takes up to 500 files at once (the form says so); Django's default
# refuses more than 100 before the form can.
DATA_UPLOAD_MAX_NUMBER_FILES = 510
# Items of e-invoices that no ERP snapshot has listed yet stay open while their invoice is
# this recent, however the snapshot says (the ERP's export is a day or more behind).
INCASSA_EINVOICE_ERP_GRACE_DAYS = int(os.environ.get("INCASSA_EINVOICE_ERP_GRACE_DAYS", "7"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # The worker (run_huey) gives huey's logger a handler of its own: once is enough.
    "loggers": {"huey": {"propagate": False}},
}

# Scores and the day's KPIs are computed again after every import (off: only by
# `incassa scores`, e.g. while reloading months of history).
INCASSA_SCORES_AFTER_IMPORT = os.environ.get("INCASSA_SCORES_AFTER_IMPORT", "1") not in {
    "0",
    "false",
    "no",
}

# Outgoing mail. Until an SMTP server is configured, messages are written as files under
# ./var/mail so that nothing is lost and a demo can show them. EMAIL_URL takes
# smtp://, smtp+tls:// (STARTTLS), smtps:// (implicit TLS), file:///path or memory://, with
# ?rate=N (messages a minute), ?timeout=S, ?cafile=PATH, ?from=ADDRESS; PEC_EMAIL_URL is the
# certified mailbox that formal notices go out from (empty: they are printed as letters).
EMAIL_URL = os.environ.get("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")
PEC_EMAIL_URL = os.environ.get("PEC_EMAIL_URL", "")
# The key that encrypts the passwords of the companies' own mail accounts (a Fernet key).
# Empty: derived from SECRET_KEY, so that changing SECRET_KEY means entering them again.
INCASSA_SECRETS_KEY = os.environ.get("INCASSA_SECRETS_KEY", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "incassa@localhost")
# Every message a server accepted is journalled here before the database is told, so that a
# crash in between never sends it twice.
_journal = os.environ.get("INCASSA_DELIVERY_JOURNAL", str(VAR_DIR / "delivery-journal.jsonl"))
INCASSA_DELIVERY_JOURNAL = Path(_journal) if _journal else None  # empty: no local journal
# Several workers deliver one outbox: each claims a batch of messages for a lease; a killed
# worker's messages are taken over when its lease ends (docs/communications.md).
INCASSA_DELIVERY_LEASE_SECONDS = float(os.environ.get("INCASSA_DELIVERY_LEASE_SECONDS", "300"))
INCASSA_DELIVERY_BATCH = int(os.environ.get("INCASSA_DELIVERY_BATCH", "50"))
# The daily cycle's delivery is shared by this many workers (set it to the number of worker
# processes): the cycle's own worker and N-1 delivery tasks each write a part of the day's
# messages and all of them send.
INCASSA_DELIVERY_WORKERS = max(1, int(os.environ.get("INCASSA_DELIVERY_WORKERS", "1")))
# Temporary failures are retried after 5, 10, 20, 40 minutes...; the fifth failure is final.
INCASSA_RETRY_BACKOFF_SECONDS = int(os.environ.get("INCASSA_RETRY_BACKOFF_SECONDS", "300"))
INCASSA_MAX_DELIVERY_ATTEMPTS = int(os.environ.get("INCASSA_MAX_DELIVERY_ATTEMPTS", "5"))

# The daily cycle (docs/daily-cycle.md): each company's import inbox is a folder under
# INCASSA_INBOX_DIR; a file modified in the last INCASSA_INBOX_SETTLE_SECONDS is still being
# written and waits; a failed stage is tried INCASSA_CYCLE_STAGE_ATTEMPTS times.
INCASSA_INBOX_DIR = Path(os.environ.get("INCASSA_INBOX_DIR", VAR_DIR / "inbox"))
INCASSA_INBOX_SETTLE_SECONDS = int(os.environ.get("INCASSA_INBOX_SETTLE_SECONDS", "60"))
INCASSA_CYCLE_STAGE_ATTEMPTS = int(os.environ.get("INCASSA_CYCLE_STAGE_ATTEMPTS", "3"))
INCASSA_CYCLE_RETRY_SECONDS = float(os.environ.get("INCASSA_CYCLE_RETRY_SECONDS", "10"))

# What went out (letters, statements, raw emails) and what was uploaded (logos).
MEDIA_ROOT = Path(os.environ.get("INCASSA_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
INCASSA_MAIL_DOMAIN = os.environ.get("INCASSA_MAIL_DOMAIN", "incassa.localhost")


# --------------------------------------------------------------------------------------
# Background work: one seam (``django_tasks``), Huey behind it
# --------------------------------------------------------------------------------------
# INCASSA_QUEUE_URL chooses where the queue lives:
#   sqlite:///path/queue.sqlite3   the embedded default, next to the database (var/)
#   redis://host:6379/0            RedisHuey, for several workers on several machines
#   postgres://user:pw@host/db     PostgresHuey, the queue in the application's PostgreSQL
#   immediate                      no queue: a task runs in the process that enqueues it
# The test suite runs immediate unless told otherwise.


def _huey_settings(url: str) -> dict:
    consumer = {
        "workers": int(os.environ.get("INCASSA_WORKER_THREADS", "1")),
        "worker_type": "thread",
        "periodic": os.environ.get("INCASSA_SCHEDULER", "1") != "0",
        "check_worker_health": True,
        "health_check_interval": 5,
    }
    common = {"name": "incassa", "results": True, "utc": True, "consumer": consumer}
    if url == "immediate":
        return {**common, "huey_class": "huey.MemoryHuey", "immediate": True}
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))  # sqlite:////abs/path or sqlite:///rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return {**common, "huey_class": "huey.SqliteHuey", "filename": str(path),
                "immediate": False, "timeout": 30}  # fmt: skip
    if parts.scheme in ("redis", "rediss"):
        return {**common, "huey_class": "huey.RedisHuey", "url": url, "immediate": False}
    if parts.scheme in ("postgres", "postgresql"):
        return {**common, "huey_class": "huey.PostgresHuey", "immediate": False,
                "dsn": url.split("?", 1)[0]}  # fmt: skip
    raise ValueError(f"INCASSA_QUEUE_URL: unknown queue {url!r}")


_default_queue = (
    "immediate" if "pytest" in sys.modules else f"sqlite:///{VAR_DIR / 'queue.sqlite3'}"
)
QUEUE_URL = os.environ.get("INCASSA_QUEUE_URL", _default_queue)
HUEY = _huey_settings(QUEUE_URL)
TASKS = {
    "default": {
        "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
        # A task is enqueued once the transaction that asked for it commits: a worker never
        # looks for rows that are not there yet, and a rolled-back request enqueues nothing.
        "ENQUEUE_ON_COMMIT": True,
    }
}
