"""Prism's one settings module.

Every value comes from the environment (or a `.env` file beside manage.py). The defaults are
the embedded local setup: SQLite, kombu's filesystem broker, the sandbox standing in for Meta.
With DEBUG off, the secrets below have no default and Prism refuses to start without them.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.logconfig import FORMATS as LOG_FORMATS
from config.logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
# SQLite, the local broker, beat's schedule, mail files and uploads live here. The test suite
# gives each run (and each xdist worker) a folder of its own, so `make test` beside `make run`
# never shares a database, broker or media folder with it.
VAR_DIR = Path(os.environ.get("PRISM_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def _secret(name: str, dev_default: str) -> str:
    """A value that production must set explicitly; local runs get a harmless default."""
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    return dev_default


SECRET_KEY = _secret("SECRET_KEY", "dev-only-insecure-secret-key-do-not-use-in-production")
# Fernet keys for OAuth tokens at rest, newest first. Deliberately not derived from SECRET_KEY.
TOKEN_ENCRYPTION_KEYS = [
    k.strip()
    for k in _secret("TOKEN_ENCRYPTION_KEYS", "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE=").split(
        ","
    )
    if k.strip()
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

PORT = env.int("PORT", default=8000)
# The address people and Meta reach Prism at; OAuth redirect URIs and email links are built on it.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "accounts",
    "insights",
]
# The Meta emulator (sandbox/) and its tables exist only where it is served: never in production.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
# "1" serves only the sandbox (standalone mode, e.g. `make sandbox` on its own port).
SANDBOX_STANDALONE = env.bool("SANDBOX_STANDALONE", default=False)
if SANDBOX_ENABLED or SANDBOX_STANDALONE:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    # First, so every later log line of the request carries its id (config/observability.py).
    "config.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.RequestSizeLimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.agency",
                "insights.context_processors.client_brand",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'prism.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside a writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing half-way with
    # "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file too, not Django's shared-cache in-memory database: shared-cache SQLite
    # locks whole tables and answers "database table is locked" at once (no busy timeout), so a
    # browser test polling a page while a real worker writes failed at random. A file gets WAL
    # and the timeout above, like `make run`.
    # One file per test run (two runs in one checkout must not share it); processes a test
    # starts inherit the name through the environment.
    os.environ.setdefault("PRISM_TEST_DB", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", os.environ["PRISM_TEST_DB"])
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://prism")}

# --- Auth and sessions ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# Idle and absolute session lifetimes (ASVS L2: 30 minutes idle, 12 hours absolute).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Two-factor sign-in (allauth MFA): an authenticator app (TOTP) with recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Prism"
MFA_RECOVERY_CODE_COUNT = 10
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.AgencySignupForm"
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# Failed logins are throttled per IP and per account (the "key" is the email tried).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
# The client's address behind reverse proxies (config/clientip.py): how many proxies in front
# append to X-Forwarded-For (0: none, the peer is the client), and which peers may be the
# nearest one. Failed-login and share-link throttles key on it; gunicorn reads the same two.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Prism] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"

# --- Email ----------------------------------------------------------------------------------
# Without EMAIL_URL, emails are printed (config/mail.py: whole in development, links redacted
# when DEBUG is off, where the console is the log).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="config.mail.ConsoleEmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
# SMTP through EMAIL_URL (smtp://, smtp+tls:// for STARTTLS on 587, smtp+ssl:// for 465). A
# timeout, so a stuck mail server cannot hold a worker until its hard time limit.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Prism <prism@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploads (client logos) are never served directly: views check the agency first.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# A whole request body, files included (accounts.middleware.RequestSizeLimitMiddleware).
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=3 * 1024 * 1024)

# --- Media storage (ship) ---------------------------------------------------------------------
# Logos, profile pictures, thumbnails and report PDFs go through Django's storage API only
# (never filesystem paths), so they live on the filesystem (MEDIA_ROOT) by default, or in an
# S3-compatible bucket when AWS_STORAGE_BUCKET_NAME is set (AWS, MinIO, R2, ...). The bucket is
# private: no ACL is set on objects, and the rare `.url` is a short-lived signed one; Prism
# itself serves every file through views that check the agency first.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default="media"),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            "signature_version": "s3v4",
        },
    }

# --- Celery ---------------------------------------------------------------------------------
# The database owns every schedule; broker messages are disposable. Locally the broker is a folder.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "broker"
(VAR_DIR / "celery").mkdir(exist_ok=True)  # beat's schedule file lives here
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER.mkdir(exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # kombu's default is ./control
        "store_processed": False,
        # How often an idle worker looks into the folder (kombu's default: every second).
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=1.0),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- The refresh pipeline (insights/refresh/) -------------------------------------------------
# Ordered: a run's time budget < soft limit < hard limit (CELERY_TASK_*) < lease < the Redis
# visibility timeout, so a live run never loses its lease and a redelivered copy finds it taken.
REFRESH_TIME_BUDGET_SECONDS = env.int("REFRESH_TIME_BUDGET_SECONDS", default=150)
REFRESH_LEASE_SECONDS = env.int("REFRESH_LEASE_SECONDS", default=600)
REFRESH_INTERVAL_SECONDS = env.int("REFRESH_INTERVAL_SECONDS", default=3600)  # jittered ±10 %
REFRESH_NOW_SECONDS = env.int("REFRESH_NOW_SECONDS", default=300)  # "Refresh now" throttle
REFRESH_DISPATCH_LIMIT = env.int("REFRESH_DISPATCH_LIMIT", default=500)  # claims per minute
BACKFILL_DAYS = env.int("BACKFILL_DAYS", default=730)  # Meta keeps about two years
BACKFILL_DAILY_TOTALS_DAYS = env.int("BACKFILL_DAILY_TOTALS_DAYS", default=460)
BACKFILL_BREAKDOWN_DAYS = env.int("BACKFILL_BREAKDOWN_DAYS", default=28)

# --- Meta and the sandbox -------------------------------------------------------------------
# The sandbox (sandbox/) emulates Meta's hosts under /_sandbox/<host>/. Never on in production.
# (SANDBOX_ENABLED and SANDBOX_STANDALONE are read above, beside INSTALLED_APPS.)
if SANDBOX_STANDALONE:
    ROOT_URLCONF = "sandbox.standalone_urls"
SANDBOX_SEED = env.int("SANDBOX_SEED", default=20260101)

# Base URL per Meta host. Pointing Prism at Meta or at the sandbox is configuration only.
META_HOSTS = {
    host: env.str(
        env_name,
        default=f"{SITE_URL}/_sandbox/{host}" if SANDBOX_ENABLED else f"https://{host}",
    ).rstrip("/")
    for host, env_name in [
        ("graph.facebook.com", "META_GRAPH_FACEBOOK_URL"),
        ("graph.instagram.com", "META_GRAPH_INSTAGRAM_URL"),
        ("www.facebook.com", "META_WWW_FACEBOOK_URL"),
        ("www.instagram.com", "META_WWW_INSTAGRAM_URL"),
        ("api.instagram.com", "META_API_INSTAGRAM_URL"),
    ]
}
# v27.0: the latest Graph API version (2026-11-04), the one a new Meta app defaults to, and the
# longest-lived (at least two years); v26.0 and v27.0 change nothing Prism calls
# (docs/graph-api.md §2).
META_API_VERSION = env.str("META_API_VERSION", default="v27.0")
# The sandbox's two apps (what Meta's App Dashboard would hold). The sandbox checks client ids
# and secrets against these, and signs webhooks and signed_requests with the secrets.
SANDBOX_FACEBOOK_APP_ID = env.str("SANDBOX_FACEBOOK_APP_ID", default="100000000000001")
SANDBOX_FACEBOOK_APP_SECRET = env.str(
    "SANDBOX_FACEBOOK_APP_SECRET", default="sandbox-facebook-app-secret"
)
SANDBOX_INSTAGRAM_APP_ID = env.str("SANDBOX_INSTAGRAM_APP_ID", default="200000000000002")
SANDBOX_INSTAGRAM_APP_SECRET = env.str(
    "SANDBOX_INSTAGRAM_APP_SECRET", default="sandbox-instagram-app-secret"
)
# Facebook Login for Business and Business Login for Instagram: each path is on when configured.
# With the sandbox on, its apps are the local defaults, so the embedded setup works at once.
_sandbox_creds = SANDBOX_ENABLED and not env.bool("SANDBOX_NO_DEFAULT_APPS", default=False)
META_APP_ID = env.str("META_APP_ID", default=SANDBOX_FACEBOOK_APP_ID if _sandbox_creds else "")
META_APP_SECRET = env.str(
    "META_APP_SECRET", default=SANDBOX_FACEBOOK_APP_SECRET if _sandbox_creds else ""
)
INSTAGRAM_APP_ID = env.str(
    "INSTAGRAM_APP_ID", default=SANDBOX_INSTAGRAM_APP_ID if _sandbox_creds else ""
)
INSTAGRAM_APP_SECRET = env.str(
    "INSTAGRAM_APP_SECRET", default=SANDBOX_INSTAGRAM_APP_SECRET if _sandbox_creds else ""
)
# The story_insights webhook's subscription handshake (graph-api.md §8.1): the token typed into
# Meta's App Dashboard. Empty refuses every handshake (notifications are checked by signature).
META_WEBHOOK_VERIFY_TOKEN = env.str(
    "META_WEBHOOK_VERIFY_TOKEN", default="sandbox-verify-token" if _sandbox_creds else ""
)
META_CONNECT_TIMEOUT = env.float("META_CONNECT_TIMEOUT", default=3.05)
META_READ_TIMEOUT = env.float("META_READ_TIMEOUT", default=20.0)  # between two reads of a socket
# A whole answer, from sending the request to its last byte: an answer that trickles in (a byte
# before each read timeout) is given up, so a refresh always ends under its hard limit and lease.
META_ANSWER_TIMEOUT = env.float("META_ANSWER_TIMEOUT", default=40.0)
# Each connected account is checked this often (one request); a revoked token shows up within it.
ACCOUNT_CHECK_MINUTES = env.int("ACCOUNT_CHECK_MINUTES", default=30)
META_MAX_RETRIES = env.int("META_MAX_RETRIES", default=2)  # for transient errors, with backoff
META_RETRY_BACKOFF = env.float("META_RETRY_BACKOFF", default=0.5)  # seconds, doubled each time

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *[u for u in META_HOSTS.values() if u.startswith("http")]],
    }
}
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Off only for a standalone sandbox served over plain HTTP beside a test deployment.
    if env.bool("SECURE_COOKIES", default=True):
        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True
        SESSION_COOKIE_NAME = "__Host-sessionid"
        CSRF_COOKIE_NAME = "__Host-csrftoken"
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way door; it is opt-in through SECURE_HSTS_PRELOAD.
    "security.W021",
]

DEFAULT_EXCEPTION_REPORTER_FILTER = "insights.meta.redact.SafeReporterFilter"

# --- Logging (ship) -------------------------------------------------------------------------
# LOG_FORMAT=plain (local default) or json (production, compose): one JSON object per line with
# the request id (or Celery task id). The dict is in config/logconfig.py (gunicorn uses it too).
LOG_FORMAT = env.str("LOG_FORMAT", default="") or "plain"
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
# One line per request (method, path without query string, status, duration) from the
# request-id middleware; runserver prints its own access log, so it is off by default locally.
REQUEST_LOG = env.bool("REQUEST_LOG", default=not DEBUG)
LOGGING = logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))

# --- Error reporting (ship) -------------------------------------------------------------------
# Sentry is optional: set SENTRY_DSN. Events are scrubbed before they leave (cookies, headers,
# secret-named keys, token-shaped text; config/observability.py), and no PII is sent.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config.observability import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
