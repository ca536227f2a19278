"""Hookline settings: everything comes from the environment (django-environ).

Without DATABASE_URL / REDIS_URL the platform runs on an embedded default: SQLite, a
filesystem message broker and a filesystem cache, so `make run` needs no server.
"""

import base64
import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
# The local `.env` that `make run` writes (development only); variables set in the environment win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(environ.Env().str("HOOKLINE_VAR_DIR", default=str(BASE_DIR / "var")))

VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- Production hardening (SPEC section 7). Off by default so that `make run` works over
# plain http; docker-compose.yml sets the production values (README "Configuration"). ---
# Origins (scheme://host[:port]) allowed to POST forms, e.g. the public https origin when the
# TLS proxy changes the host name.
CSRF_TRUSTED_ORIGINS = [origin for origin in env.list("CSRF_TRUSTED_ORIGINS", default=[]) if origin]
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and scrapers inside the deployment talk plain http to the web process directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https" trusts that header to say the
# request came in over https. Set it only when the proxy always sets (or strips) the header.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise environ.ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https"
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "accounts",
    "webhooks",
    "events",
    "deliveries",
    "dashboard",
    "simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy (django-csp): only our own scripts, styles and connections; no
# inline script or style (the dashboard keeps its JavaScript and CSS in dashboard/static), no
# plugins, no framing. `data:` images for the blank favicon. The API docs page relaxes styles
# for itself (api/urls.py), since Swagger UI sets inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hookline.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Seconds to wait for a connection: an unreachable database host fails a request (and a
    # readiness probe) quickly instead of after the operating system's TCP timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# A persistent connection is checked before each request reuses it, so the first requests
# after a database restart get a new connection instead of failing on the dead one.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and scheduler share one SQLite file: WAL lets readers and one writer work
    # at once, and the busy timeout (seconds) makes writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hookline",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # The filesystem transport ignores the host; naming one keeps Kombu from warning "No
    # hostname was supplied" every time it clones the connection.
    CELERY_BROKER_URL = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Seconds between looks for a new message (Kombu's default is 1 s): a publish's "look
        # now" waits up to this long in the folder while an idle dispatcher sleeps, so at 1 s
        # a steady stream of small publishes (a load test) reached the workers in lumps of a
        # second. A look is one directory listing, so 50 ms costs next to nothing.
        "polling_interval": 0.05,
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hookline@localhost")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `json`: one JSON object per line (python-json-logger), with a record's `extra=` fields as
# keys (delivery records carry delivery_id, event_id, subscription_id, outcome, ...).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Celery reports every task and every scheduler tick at INFO: once a second, that drowns
    # what matters.
    "loggers": {
        **{
            name: {"level": "WARNING"}
            for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat")
        },
        # Django's default logging gives the "django" logger a console handler of its own
        # (under DEBUG) that stays attached beside ours: every record ("Not Found: /x") came
        # out twice. No handlers of its own; records go to the root's console once.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # LOG_LEVEL, not a Celery worker's --loglevel (which sets the root's), decides which
        # delivery records a worker writes (successful attempts are DEBUG).
        "deliveries": {"level": LOG_LEVEL},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only, bounded in size before parsing (config/api.py).
    "DEFAULT_PARSER_CLASSES": ["api.plumbing.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.plumbing.ApiPagination",
    "PAGE_SIZE": 50,
    # One error body everywhere: {"detail", "code", "errors": {field: [messages]}}.
    "EXCEPTION_HANDLER": "api.plumbing.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hookline API",
    "DESCRIPTION": "Webhook delivery platform speaking Tillhub's webhook protocol.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": False,
    # Delivery ids in paths (config/api_urls.py DeliveryIdConverter): 1 to 18 digits.
    "PATH_CONVERTER_OVERRIDES": {
        "delivery_id": {
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "maximum": 999_999_999_999_999_999,
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStateEnum": "deliveries.models.Delivery.State",
        "DeliveryTriggerEnum": "deliveries.models.Delivery.Trigger",
        "EventSourceEnum": "events.models.Event.Source",
        "PreflightCheckNameEnum": "api.webhooks.PREFLIGHT_CHECK_CHOICES",
        "PreflightCheckStatusEnum": "api.webhooks.PREFLIGHT_STATUS_CHOICES",
    },
    "TAGS": [
        {"name": "webhooks", "description": "Subscriptions: where to POST which events."},
        {"name": "deliveries", "description": "History, attempts, resend and metrics."},
        {"name": "events", "description": "Publish events and read them back."},
        {"name": "event-types", "description": "The event catalog."},
    ],
}


def _fernet_key_from_secret_key(secret_key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()


# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt (key rotation).
# Without it, a key derived from SECRET_KEY is used so that development needs no set-up.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEY", default=[_fernet_key_from_secret_key(SECRET_KEY)]
)

# --- Webhook delivery (SPEC section 7). Durations are seconds; fractions allowed. ---
WEBHOOK_USER_AGENT = env.str("WEBHOOK_USER_AGENT", default="Tillhub HTTP Connector/2.1.0")
WEBHOOK_MAX_REDIRECTS = env.int("WEBHOOK_MAX_REDIRECTS", default=20)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=30.0)
WEBHOOK_BACKOFF_JITTER = env.float("WEBHOOK_BACKOFF_JITTER", default=0.1)
WEBHOOK_EVENT_RETENTION_SECONDS = env.float("WEBHOOK_EVENT_RETENTION_SECONDS", default=604800.0)
WEBHOOK_RETRY_CLIENT_ERRORS = env.bool("WEBHOOK_RETRY_CLIENT_ERRORS", default=True)
WEBHOOK_ALLOW_HTTP_LOCAL = env.bool("WEBHOOK_ALLOW_HTTP_LOCAL", default=DEBUG)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_AUTO_DISABLE_WINDOW_SECONDS = env.float(
    "WEBHOOK_AUTO_DISABLE_WINDOW_SECONDS", default=86400.0
)
WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS = env.int("WEBHOOK_AUTO_DISABLE_MIN_ATTEMPTS", default=20)
WEBHOOK_AUTO_DISABLE_ERROR_RATE = env.float("WEBHOOK_AUTO_DISABLE_ERROR_RATE", default=0.95)
WEBHOOK_AUTO_DISABLE_AFTER_SECONDS = env.float(
    "WEBHOOK_AUTO_DISABLE_AFTER_SECONDS", default=432000.0
)
WEBHOOK_CIRCUIT_FAILURES = env.int("WEBHOOK_CIRCUIT_FAILURES", default=10)
WEBHOOK_CIRCUIT_COOLDOWN_SECONDS = env.float("WEBHOOK_CIRCUIT_COOLDOWN_SECONDS", default=30.0)
WEBHOOK_DEFAULT_RATE_PER_SECOND = env.float("WEBHOOK_DEFAULT_RATE_PER_SECOND", default=None)
WEBHOOK_DEFAULT_BURST = env.int("WEBHOOK_DEFAULT_BURST", default=None)
WEBHOOK_DEFAULT_MAX_IN_FLIGHT = env.int("WEBHOOK_DEFAULT_MAX_IN_FLIGHT", default=100)
WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS = env.int("WEBHOOK_DEFAULT_CONNECT_TIMEOUT_MS", default=5000)
WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS = env.int("WEBHOOK_DEFAULT_REQUEST_TIMEOUT_MS", default=30000)

# --- Hookline's own tuning (not in SPEC; see README "Configuration"). ---
# Bytes of a response body kept per attempt: enough to read an error page, bounded so that
# a receiver answering megabytes cannot fill the database.
WEBHOOK_RESPONSE_BODY_LIMIT = env.int("WEBHOOK_RESPONSE_BODY_LIMIT", default=4096)
# Largest accepted event payload, bytes of compact JSON.
WEBHOOK_MAX_PAYLOAD_BYTES = env.int("WEBHOOK_MAX_PAYLOAD_BYTES", default=256 * 1024)
# A claim's lease, seconds: longer than the longest request timeout a subscription may set
# (60 s) plus time to record the result, so a live worker always finishes before its claim
# is taken from it; a dead worker's deliveries are claimed again after this.
WEBHOOK_CLAIM_LEASE_SECONDS = env.float("WEBHOOK_CLAIM_LEASE_SECONDS", default=120.0)
# Deliveries claimed per database round trip: measured ~500 keeps the claim under a few ms
# while filling the async sender.
WEBHOOK_DISPATCH_BATCH_SIZE = env.int("WEBHOOK_DISPATCH_BATCH_SIZE", default=500)
# Most concurrent requests one worker process keeps open (all subscriptions together).
WEBHOOK_DISPATCH_MAX_IN_FLIGHT = env.int("WEBHOOK_DISPATCH_MAX_IN_FLIGHT", default=1000)
# While the shared limiter (Redis) is unreachable, each worker process limits on its own with
# 1/N of every subscription's rate, burst and in-flight cap, N being the worker processes of
# all machines together (0: this machine's CPU count, Celery's default concurrency).
WEBHOOK_LIMITER_FALLBACK_PROCESSES = env.int("WEBHOOK_LIMITER_FALLBACK_PROCESSES", default=0)
# How often results are written, seconds: groups many attempts into one transaction.
WEBHOOK_RECORD_INTERVAL_SECONDS = env.float("WEBHOOK_RECORD_INTERVAL_SECONDS", default=0.05)
# The scheduler's tick, seconds: how late a retry may start at worst, and how soon work whose
# wake-up message was lost (broker restart) is found again in the database.
WEBHOOK_SCHEDULER_INTERVAL_SECONDS = env.float("WEBHOOK_SCHEDULER_INTERVAL_SECONDS", default=1.0)
# How often waiting deliveries past retention are marked expired, seconds.
WEBHOOK_EXPIRY_INTERVAL_SECONDS = env.float("WEBHOOK_EXPIRY_INTERVAL_SECONDS", default=60.0)
# How often events past retention are purged with their history, seconds. Between expiry and
# the next purge, expired deliveries can still be inspected and resent by hand.
WEBHOOK_PURGE_INTERVAL_SECONDS = env.float("WEBHOOK_PURGE_INTERVAL_SECONDS", default=3600.0)
# Idempotency-Key answers are replayed for this long, seconds.
WEBHOOK_IDEMPOTENCY_SECONDS = env.float("WEBHOOK_IDEMPOTENCY_SECONDS", default=86400.0)
# When set, /metrics answers only to `Authorization: Bearer <this token>` (SPEC 6).
WEBHOOK_METRICS_TOKEN = env.str("WEBHOOK_METRICS_TOKEN", default="")
# A `webhook` label (the subscription's id) on the attempt metrics: one series set per
# subscription, so only for installations with few of them.
WEBHOOK_METRICS_PER_WEBHOOK = env.bool("WEBHOOK_METRICS_PER_WEBHOOK", default=False)
# Tracing (deliveries/observability/tracing.py) is off unless one of these is set: the OTLP/HTTP
# collector's base URL (the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself), or
# a file that gets every span as a JSON line (tests, debugging).
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
TRACING_EXPORT_FILE = env.str("TRACING_EXPORT_FILE", default="")
# A file a worker or scheduler process touches while it works (at most every 5 s), for
# container health checks (docker-compose.yml); unset: none.
HEARTBEAT_FILE = env.str("HEARTBEAT_FILE", default="")

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How often one subscription's auto-deactivation rules are evaluated at most, seconds: the
# error-rate rule aggregates a day of attempts, which is cheap once in a while, not per batch.
WEBHOOK_AUTO_DISABLE_CHECK_INTERVAL_SECONDS = env.float(
    "WEBHOOK_AUTO_DISABLE_CHECK_INTERVAL_SECONDS", default=30.0
)
