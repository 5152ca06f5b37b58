"""Settings for jiaoguan, read from the environment.

Defaults serve the embedded demo only (SQLite in the data folder, a secret key
generated into that folder on first start). A deployment sets at least
``JIAOGUAN_SECRET_KEY``, ``DATABASE_URL``, ``JIAOGUAN_ALLOWED_HOSTS`` and turns
``JIAOGUAN_DEMO`` off.

The production profile (``JIAOGUAN_PROFILE=production``, set by ``jiaoguan serve`` and
``jiaoguan worker``) refuses to load without PostgreSQL, Redis and a secret key, keeps cache
and sessions in Redis, hands background work to the worker through the Tasks API, writes JSON
logs and counts requests for ``/metrics``. See deploy/README.md.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = BASE_DIR.parent.parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


# "production": jiaoguan serve / worker (no demo, no in-process fallbacks); anything else is the demo
# or development set-up of jiaoguan up and the tests.
PRODUCTION = os.environ.get("JIAOGUAN_PROFILE", "").strip().lower() == "production"


def production_problems(env: dict[str, str] | os._Environ[str]) -> list[str]:
    """What keeps ``env`` from running the production profile, one sentence each (empty: none)."""
    problems = []
    database_url = env.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        problems.append(
            "DATABASE_URL must name a PostgreSQL database (postgresql://user@host:5432/name); "
            "the embedded SQLite database serves the demo (jiaoguan up) only."
        )
    if not env.get("REDIS_URL", "").startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL must name the Redis server for cache and sessions (redis://host:6379/0).")
    if not env.get("JIAOGUAN_SECRET_KEY", ""):
        problems.append("JIAOGUAN_SECRET_KEY must be set (a long random value shared by every process).")
    if _env_bool_in(env, "JIAOGUAN_DEMO"):
        problems.append(
            "JIAOGUAN_DEMO must be off: demo logins and the demo SMS inbox never run in production."
        )
    if _env_bool_in(env, "JIAOGUAN_DEBUG"):
        problems.append("JIAOGUAN_DEBUG must be off in production.")
    return problems


def _env_bool_in(env: dict[str, str] | os._Environ[str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


if PRODUCTION and (_problems := production_problems(os.environ)):
    raise ImproperlyConfigured("The production profile cannot start: " + " ".join(_problems))

DATA_DIR = Path(os.environ.get("JIAOGUAN_DATA_DIR") or CHECKOUT_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    from_env = os.environ.get("JIAOGUAN_SECRET_KEY")
    if from_env:
        return from_env
    # Demo only: a per-installation key kept beside the demo database, never in the repository.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("JIAOGUAN_DEBUG", False)
# Demo mode shows the fake SMS inbox and demo logins; never on in production.
DEMO_MODE = _env_bool("JIAOGUAN_DEMO", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("JIAOGUAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("JIAOGUAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Reverse proxies in front of the application that append the caller to X-Forwarded-For
# (0: callers connect directly). Per-client limits key on the address this yields.
CLIENT_PROXY_HOPS = int(os.environ.get("JIAOGUAN_PROXY_HOPS", "0"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # Its templates and static files serve the API docs (Swagger UI) from here, never a CDN.
    "ninja",
    "jiaoguan.core",
    "jiaoguan.registry",
    "jiaoguan.accounts",
    "jiaoguan.integrations",
    "jiaoguan.credentials",
    "jiaoguan.accidents",
    "jiaoguan.violations",
    "jiaoguan.payments",
    "jiaoguan.applications",
    "jiaoguan.inspections",  # issue 14: stations, capacity, bookings (B4)
    "jiaoguan.exams",  # issue 16: driving tests, plans, allocation, results (B22, B23, X1-X7)
    "jiaoguan.plates",  # issue 17: plate pools, verifiable draws, selections (B19, P1-P5)
    "jiaoguan.delegations",  # issue 18: entrustments, elderly proxies, filed vehicles (O2, O5, U6, U7)
    "jiaoguan.military_exchange",  # issue 18: military licence exchange (O3)
    "jiaoguan.overseas_relief",  # issue 18: restoring licences cancelled while abroad (O4)
    "jiaoguan.transfers",  # issue 19: cross-region used-car transfer between DMVs (T1-T5)
    "jiaoguan.truck_passes",  # issue 19: truck restriction rules and pass codes (O1, O1a)
    "jiaoguan.parking",  # issue 19: old-neighbourhood parking segments (O8)
    "jiaoguan.points_study",  # issue 19: study to reduce points, full-score education (V7)
    "jiaoguan.insurance",
    "jiaoguan.notices",  # issue 15: notices, message centre, deliveries (N1, N4, N5)
    "jiaoguan.announcements",  # issue 15: announcements and publications (N3)
    "jiaoguan.reports",  # issue 15: reports to authorities and companies (N2)
    "jiaoguan.demo",
    # Background work: the Tasks API (Django 6's django.tasks, backported) with its database backend.
    "django_tasks",
    "django_tasks_db",
    "django_prometheus",
]

MIDDLEWARE = [
    "jiaoguan.core.middleware.RequestIdMiddleware",
    "jiaoguan.core.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jiaoguan.core.middleware.PlatformCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jiaoguan.core.middleware.PlatformLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jiaoguan.core.middleware.PrivateAnswerMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jiaoguan.core.middleware.DomainErrorMiddleware",
]
if PRODUCTION:
    # One JSON access line per request with its id; request counts and latencies for /metrics.
    MIDDLEWARE.insert(1, "jiaoguan.core.logging.RequestLogMiddleware")
    MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
    MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")

ROOT_URLCONF = "jiaoguan.urls"
WSGI_APPLICATION = "jiaoguan.wsgi.application"

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
                "django.template.context_processors.i18n",
                "jiaoguan.core.context_processors.platform",
                "jiaoguan.notices.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'jiaoguan.sqlite3'}",
        conn_max_age=int(os.environ.get("JIAOGUAN_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the single writer; IMMEDIATE makes a write transaction
    # take the write lock at BEGIN, so two writers serialise instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Column comments document the PostgreSQL schema; SQLite has none, which is expected.
    SILENCED_SYSTEM_CHECKS = ["fields.W163"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Every password check (pages, API, back office) goes through the accounts service.
AUTHENTICATION_BACKENDS = ["jiaoguan.accounts.backends.PlatformBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _redis_options = {
        # A Redis that is away answers in bounded time: the page fails fast, readiness says why.
        "SOCKET_CONNECT_TIMEOUT": 2,
        "SOCKET_TIMEOUT": 2,
    }
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jg",
            "OPTIONS": _redis_options,
        },
        # Sessions live only in Redis (no database write per login); the server keeps them with
        # persistence and never evicts them (deploy/compose.yaml: appendonly, noeviction).
        "sessions": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jg-session",
            "TIMEOUT": None,
            "OPTIONS": _redis_options,
        },
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    SESSION_CACHE_ALIAS = "sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "jiaoguan"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_bool("JIAOGUAN_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 60 * 60 * 8

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The language switch is remembered across visits for a year (issue 11, item 7), not just until
# the browser closes (Django's default).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# Content-Security-Policy (issue 10, item 12): scripts, styles and everything else come from
# this site only, and no inline script, inline style or eval runs. Every page's behaviour is
# in files under static/ and the htmx configuration keeps htmx from injecting a style or
# evaluating attributes (base.html). Images may be data: URIs (Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# The detachment this installation serves (GB/T 2260); the demo is Zhumadian, 豫Q.
JIAOGUAN_JURISDICTION = os.environ.get("JIAOGUAN_JURISDICTION", "411700")
JIAOGUAN_PLATE_PREFIX = os.environ.get("JIAOGUAN_PLATE_PREFIX", "豫Q")
# Cross-region used-car transfers (T2-T4): the other DMVs this one exchanges archives with (JSON:
# city code -> {"url", "key" shared with it, "public_key" of its package signatures}) and this
# DMV's package-signing key (PEM; unset, one is derived from the secret key: demo only).
DMV_PEERS = os.environ.get("JIAOGUAN_DMV_PEERS", "")
DMV_SIGNING_KEY = os.environ.get("JIAOGUAN_DMV_SIGNING_KEY", "")
DMV_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_DMV_TIMEOUT_SECONDS", "5"))
DMV_RETRIES = int(os.environ.get("JIAOGUAN_DMV_RETRIES", "2"))

# Online accident services open per province as the seeds list them (A9a). A deployment in a
# province they do not list opens them for its own province (JIAOGUAN_JURISDICTION) here, e.g.
# "online_query=2020-06-01,evidence_review=2021-07-01"; checked when the accidents app starts.
ACCIDENT_LOCAL_ROLLOUT = os.environ.get("JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT", "")

# Login protection (U2): failures before a lock, and how long the lock lasts.
LOGIN_MAX_FAILURES = int(os.environ.get("JIAOGUAN_LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCK_SECONDS = int(os.environ.get("JIAOGUAN_LOGIN_LOCK_SECONDS", "900"))
# Per client (network address): failed logins on the pages, the API and the back office
# together within a window, unknown accounts included; then every login from it waits.
LOGIN_CLIENT_MAX_FAILURES = int(os.environ.get("JIAOGUAN_LOGIN_CLIENT_MAX_FAILURES", "30"))
LOGIN_CLIENT_WINDOW_SECONDS = int(os.environ.get("JIAOGUAN_LOGIN_CLIENT_WINDOW_SECONDS", "900"))
API_TOKEN_TTL_SECONDS = int(os.environ.get("JIAOGUAN_API_TOKEN_TTL_SECONDS", str(7 * 24 * 3600)))
# A bearer token's user is cached this long between checks, only where every process shares the
# cache (Redis): a per-process cache would let another process accept a token for that long after
# a password reset revoked it.
API_TOKEN_CACHE_SECONDS = int(os.environ.get("JIAOGUAN_API_TOKEN_CACHE_SECONDS", "30" if REDIS_URL else "0"))
# A citizen's own reads (my vehicles, licences, violations, the home page's cards) are cached this
# long per owner, retired at once by any change of the rows behind them (core/personal_reads.py);
# the time limit only bounds what a change made outside the platform's code could leave behind.
PERSONAL_READ_CACHE_SECONDS = int(
    os.environ.get("JIAOGUAN_PERSONAL_READ_CACHE_SECONDS", "300" if REDIS_URL else "0")
)
# A credential's live status for online verification, kept the same way: every status change
# (revocation, suspension, a re-issue) retires it when it is made and when it commits.
CREDENTIAL_STATUS_CACHE_SECONDS = int(
    os.environ.get("JIAOGUAN_CREDENTIAL_STATUS_CACHE_SECONDS", "60" if REDIS_URL else "0")
)
# Scheduled purges (issue 12; jiaoguan.core.purges, daily in the worker): how long the short-lived
# account rows stay after they stopped working. Bearer tokens: days after expiry or revocation;
# SMS codes: days after sending (at least 1, the per-number quota's window); password set-up
# links: days after expiry or use.
PURGE_API_TOKEN_DAYS = int(os.environ.get("JIAOGUAN_PURGE_API_TOKEN_DAYS") or "7")
PURGE_SMS_CODE_DAYS = int(os.environ.get("JIAOGUAN_PURGE_SMS_CODE_DAYS") or "7")
PURGE_PASSWORD_LINK_DAYS = int(os.environ.get("JIAOGUAN_PURGE_PASSWORD_LINK_DAYS") or "7")

# SMS gateway: "fake" keeps messages in the demo inbox; a deployment plugs in its provider.
SMS_GATEWAY = os.environ.get("JIAOGUAN_SMS_GATEWAY", "fake")
SMS_FAKE_FAILURE_RATE = float(os.environ.get("JIAOGUAN_SMS_FAKE_FAILURE_RATE", "0"))
SMS_FAKE_LATENCY_MS = int(os.environ.get("JIAOGUAN_SMS_FAKE_LATENCY_MS", "0"))
# The fake gateway's inbox (demo, tests): days a message stays.
PURGE_FAKE_SMS_DAYS = int(os.environ.get("JIAOGUAN_PURGE_FAKE_SMS_DAYS") or "7")


def _payment_gateway_key() -> str:
    return _demo_key("JIAOGUAN_PAYMENT_GATEWAY_KEY", "payment_gateway_key")


def _demo_key(env_name: str, file_name: str) -> str:
    from_env = os.environ.get(env_name, "")
    if from_env or not (DEMO_MODE or "pytest" in sys.modules):
        return from_env
    # Demo and tests only: the fake services (jiaoguan fake_payment_gateway, fake_postal_service)
    # read the same per-installation file, so both sides agree without a key in the repository.
    key_file = DATA_DIR / file_name
    if not key_file.exists():
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
        try:
            # link() never replaces: when two processes start together, the first key wins.
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text(encoding="utf-8").strip()


# Payment gateway (支付平台) for fines (罚款缴纳): our merchant account and where each side is reached.
PAYMENT_GATEWAY_URL = os.environ.get("JIAOGUAN_PAYMENT_GATEWAY_URL", "http://127.0.0.1:8090")
PAYMENT_MERCHANT_ID = os.environ.get("JIAOGUAN_PAYMENT_MERCHANT_ID", "jiaoguan-demo")
PAYMENT_GATEWAY_KEY = _payment_gateway_key()
PAYMENT_GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_PAYMENT_GATEWAY_TIMEOUT_SECONDS", "5"))
PAYMENT_GATEWAY_RETRIES = int(os.environ.get("JIAOGUAN_PAYMENT_GATEWAY_RETRIES", "2"))
# Our own externally reachable address, for the gateway's notify and return URLs.
PUBLIC_BASE_URL = os.environ.get("JIAOGUAN_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Postal service (邮政 EMS) for posted certificates (issue 13, REQUIREMENTS S2): our customer
# number and key, and how long to wait; the demo runs jiaoguan fake_postal_service here.
POSTAL_URL = os.environ.get("JIAOGUAN_POSTAL_URL", "http://127.0.0.1:8092")
POSTAL_CUSTOMER_ID = os.environ.get("JIAOGUAN_POSTAL_CUSTOMER_ID", "jiaoguan-demo")
POSTAL_KEY = _demo_key("JIAOGUAN_POSTAL_KEY", "postal_key")
POSTAL_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_POSTAL_TIMEOUT_SECONDS", "5"))
POSTAL_RETRIES = int(os.environ.get("JIAOGUAN_POSTAL_RETRIES", "2"))

# Insurer data exchange (保险信息平台, issue 14 / REQUIREMENTS O7): compulsory insurance (交强险)
# and vehicle tax (车船税) checked online; the demo runs jiaoguan fake_insurer_service here.
INSURER_URL = os.environ.get("JIAOGUAN_INSURER_URL", "http://127.0.0.1:8093")
INSURER_CLIENT_ID = os.environ.get("JIAOGUAN_INSURER_CLIENT_ID", "jiaoguan-demo")
INSURER_KEY = _demo_key("JIAOGUAN_INSURER_KEY", "insurer_key")
INSURER_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_INSURER_TIMEOUT_SECONDS", "3"))
INSURER_RETRIES = int(os.environ.get("JIAOGUAN_INSURER_RETRIES", "1"))
# Bank interconnection (银行, issue 14, O6): banks confirm mortgage contracts online. Our client id
# and key there, and how long to wait; the demo runs jiaoguan fake_bank_service here.
BANK_URL = os.environ.get("JIAOGUAN_BANK_URL", "http://127.0.0.1:8094")
BANK_CLIENT_ID = os.environ.get("JIAOGUAN_BANK_CLIENT_ID", "jiaoguan-demo")
BANK_KEY = _demo_key("JIAOGUAN_BANK_KEY", "bank_key")
BANK_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_BANK_TIMEOUT_SECONDS", "5"))
BANK_RETRIES = int(os.environ.get("JIAOGUAN_BANK_RETRIES", "2"))
# Record systems checked when acting for others and exchanging licences (issue 18): real-person
# authentication (实人认证, U6), exit and entry records (出入境记录, O4) and the military licence
# registry (军队驾驶证信息, O3). Each has its own address, client id and key; the demo runs
# `jiaoguan fake_records_service`, which plays all three at one address with one key.
RECORDS_URL = os.environ.get("JIAOGUAN_RECORDS_URL", "http://127.0.0.1:8095")
RECORDS_CLIENT_ID = os.environ.get("JIAOGUAN_RECORDS_CLIENT_ID", "jiaoguan-demo")
RECORDS_KEY = _demo_key("JIAOGUAN_RECORDS_KEY", "records_key")
REAL_PERSON_URL = os.environ.get("JIAOGUAN_REAL_PERSON_URL", RECORDS_URL)
REAL_PERSON_CLIENT_ID = os.environ.get("JIAOGUAN_REAL_PERSON_CLIENT_ID", RECORDS_CLIENT_ID)
REAL_PERSON_KEY = os.environ.get("JIAOGUAN_REAL_PERSON_KEY", RECORDS_KEY)
EXIT_ENTRY_URL = os.environ.get("JIAOGUAN_EXIT_ENTRY_URL", RECORDS_URL)
EXIT_ENTRY_CLIENT_ID = os.environ.get("JIAOGUAN_EXIT_ENTRY_CLIENT_ID", RECORDS_CLIENT_ID)
EXIT_ENTRY_KEY = os.environ.get("JIAOGUAN_EXIT_ENTRY_KEY", RECORDS_KEY)
MILITARY_LICENCE_URL = os.environ.get("JIAOGUAN_MILITARY_LICENCE_URL", RECORDS_URL)
MILITARY_LICENCE_CLIENT_ID = os.environ.get("JIAOGUAN_MILITARY_LICENCE_CLIENT_ID", RECORDS_CLIENT_ID)
MILITARY_LICENCE_KEY = os.environ.get("JIAOGUAN_MILITARY_LICENCE_KEY", RECORDS_KEY)
RECORDS_TIMEOUT_SECONDS = float(os.environ.get("JIAOGUAN_RECORDS_TIMEOUT_SECONDS", "5"))
RECORDS_RETRIES = int(os.environ.get("JIAOGUAN_RECORDS_RETRIES", "1"))
# How far a seal-signed request's signed_at may lie from now (seconds); a nonce is used once.
MORTGAGE_SIGNATURE_MAX_SKEW_SECONDS = int(
    os.environ.get("JIAOGUAN_MORTGAGE_SIGNATURE_MAX_SKEW_SECONDS", "600")
)

# Credentials (E1-E6, D1-D4): private signing keys live here, never in the database.
CREDENTIAL_KEY_DIR = os.environ.get("JIAOGUAN_CREDENTIAL_KEY_DIR") or str(DATA_DIR / "keys")
CREDENTIAL_ALG = int(os.environ.get("JIAOGUAN_CREDENTIAL_ALG", "-7"))  # -7 ES256, -8 EdDSA, -65601 SM2
CREDENTIAL_AUTO_KEY = _env_bool("JIAOGUAN_CREDENTIAL_AUTO_KEY", False)
CREDENTIAL_ISSUER = os.environ.get("JIAOGUAN_CREDENTIAL_ISSUER", "CN-411700")
CREDENTIAL_ONLINE_SECONDS = int(os.environ.get("JIAOGUAN_CREDENTIAL_ONLINE_SECONDS", "180"))
CREDENTIAL_OFFLINE_DAYS = int(os.environ.get("JIAOGUAN_CREDENTIAL_OFFLINE_DAYS", "7"))

# Accident query and review codes are derived with this secret (so they can be reprinted) and
# stored only as HMACs; changing it invalidates every printed credential.
ACCIDENT_CODE_SECRET = os.environ.get("JIAOGUAN_ACCIDENT_CODE_SECRET", "")
# Failed accident queries are a network log: at least six months (Cybersecurity Law art. 21);
# 184 days covers the longest six calendar months.
PURGE_QUERY_ATTEMPT_DAYS = int(os.environ.get("JIAOGUAN_PURGE_QUERY_ATTEMPT_DAYS") or "184")

# Background work (ARCHITECTURE: tasks.py per app). Production: stored in the database and run by
# `jiaoguan worker`; otherwise run at once in the calling process (the demo and the tests).
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_db.DatabaseBackend"
            if PRODUCTION
            else "django_tasks.backends.immediate.ImmediateBackend"
        ),
        "QUEUES": ["default"],
    }
}
# An outbox message is delivered by the worker (a task enqueued with the change) rather than in
# the web request after commit.
OUTBOX_DELIVERY_IN_WORKER = _env_bool("JIAOGUAN_OUTBOX_IN_WORKER", PRODUCTION)
# Scheduled purges of the kernel's tables (issue 12; daily in the worker, `jiaoguan purge` by hand):
# outbox messages days after they were sent (unsent ones always stay), idempotency answers hours
# after the first request, results of finished background tasks days after they finished.
PURGE_OUTBOX_SENT_DAYS = int(os.environ.get("JIAOGUAN_PURGE_OUTBOX_SENT_DAYS") or "7")
PURGE_IDEMPOTENCY_HOURS = int(os.environ.get("JIAOGUAN_PURGE_IDEMPOTENCY_HOURS") or "24")
PURGE_TASK_RESULTS_DAYS = int(os.environ.get("JIAOGUAN_PURGE_TASK_RESULTS_DAYS") or "14")
# Rows deleted per transaction by a purge, so a purge of millions never holds long locks.
PURGE_BATCH = int(os.environ.get("JIAOGUAN_PURGE_BATCH") or "5000")

# /metrics (Prometheus): answered to these addresses, or to anyone with this bearer token.
METRICS_ALLOWED_ADDRESSES = [
    a.strip() for a in os.environ.get("JIAOGUAN_METRICS_ALLOWED", "127.0.0.1,::1").split(",") if a.strip()
]
METRICS_TOKEN = os.environ.get("JIAOGUAN_METRICS_TOKEN", "")

# JSON lines on stdout in production (one object per record, with the request id); plain text for
# the demo. JIAOGUAN_LOG_FORMAT=json|plain overrides.
LOG_FORMAT = os.environ.get("JIAOGUAN_LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "jiaoguan.core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "jiaoguan.core.logging.JsonFormatter"}},
    "handlers": {
        "console": (
            {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id"],
            }
            if LOG_FORMAT == "json"
            else {"class": "logging.StreamHandler"}
        )
    },
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("JIAOGUAN_LOG_LEVEL", "INFO" if PRODUCTION else "WARNING"),
    },
}
