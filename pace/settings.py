"""Pace settings: everything comes from the environment, read once, here.

The embedded default (no variables set) is SQLite, an in-memory channel layer
and tasks run in-process. Setting ``DATABASE_URL`` and ``REDIS_URL`` switches
to the production topology; no code below the settings asks which one runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class StrictEnv(environ.Env):
    """django-environ, except that a value that does not parse stops start-up, naming it."""

    _BOOL_WORDS = frozenset({"1", "0", "true", "false", "yes", "no", "on", "off", ""})

    def bool(self, var: str, default: object = environ.Env.NOTSET) -> bool:
        raw = os.environ.get(var)
        if raw is not None and raw.strip().lower() not in self._BOOL_WORDS:
            raise ImproperlyConfigured(f"{var} must be true or false, not {raw!r}")
        return super().bool(var, default=default)

    def int(self, var: str, default: object = environ.Env.NOTSET) -> int:
        try:
            return super().int(var, default=default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} must be a whole number: {exc}") from exc

    def float(self, var: str, default: object = environ.Env.NOTSET) -> float:
        try:
            return super().float(var, default=default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} must be a number: {exc}") from exc

    def db_url(
        self, var: str = "DATABASE_URL", default: object = environ.Env.NOTSET, engine: object = None
    ) -> dict[str, object]:
        try:
            config = super().db_url(var, default=default, engine=engine)
        except (ValueError, KeyError) as exc:
            raise ImproperlyConfigured(f"{var} is not a database URL: {exc}") from exc
        if not config.get("ENGINE"):
            raise ImproperlyConfigured(f"{var} is not a database URL (postgres://, sqlite:///)")
        return config

    db = db_url


env = StrictEnv()
# `make run` writes .env once (DEBUG on, a generated key) so `python manage.py ...` works in
# the checkout; the environment wins over it. PACE_DOTENV names another file, or "" none
# (the tests: they run as production does).
_DOTENV = os.environ.get("PACE_DOTENV", str(BASE_DIR / ".env"))
if _DOTENV:
    environ.Env.read_env(_DOTENV, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "insecure-dev-key-only-for-the-embedded-default-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "Pace"

INSTALLED_APPS = [
    "daphne",
    "pace.apps.PaceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "django_celery_beat",
    "pace",
    "events",
    "tracking",
    "payments",
    "results",
    "integrations",
]

MIDDLEWARE = [
    # First: under ASGI a request's connections go back to the pool even when its client
    # left, and an empty pool is a 503 (see the class).
    "pace.daphne_patches.syncchain.ReturnConnectionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Gzips HTML for browsers that take it, public pages once per process (see the module);
    # after WhiteNoise, whose static files are compressed by collectstatic.
    "pace.lib.compression.PublicGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "pace.lib.errorpages.MethodNotAllowedPage",
]  # Under ASGI all of it runs in the request's thread, in one call (pace.asgi's handler).

ROOT_URLCONF = "pace.urls"
ASGI_APPLICATION = "pace.asgi.application"
WSGI_APPLICATION = "pace.wsgi.application"
SITE_ID = 1

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
                "pace.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
if "DATABASE_URL" not in os.environ:
    # The embedded default keeps its SQLite file in var/ (not in git): make sure it exists.
    (BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'pace.sqlite3'}")
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the page readers and the one writer (admin, ticker) overlap.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
elif env.bool("DB_POOL", default=False):
    # Under ASGI every request runs its sync code in a thread of its own, so a persistent
    # (thread-local) connection is never reused: each request would connect anew. A
    # per-process psycopg pool is shared by those threads (needs psycopg[pool]).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Parallel test workers share one Redis: each keeps its keys apart.
REDIS_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="pace") + os.environ.get(
    "PYTEST_XDIST_WORKER", ""
)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Reads wait longer than a receive's 5 s block (BZPOPMIN): with redis-py's
                # default (5 s too) a reply arriving as the block ends timed out.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "capacity": env.int("CHANNEL_CAPACITY", default=1000),
                "expiry": 30,
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            # One connection pool per process, not one per ASGI request (see the class).
            "OPTIONS": {"pool_class": "pace.lib.pagecache.SharedRedisPool"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "release-expired-places": {
        "task": "events.tasks.release_expired_places",
        "schedule": 60.0,
    },
    "thin-old-positions": {
        "task": "tracking.tasks.thin_old_positions",
        "schedule": 3600.0,
    },
    # A race's replay is built when its tracking closes, and again after late uploads.
    "replays-prebuild": {
        "task": "tracking.replays_prebuild",
        "schedule": 60.0,
    },
    # Strava's queue is drained when the quota allows: this picks it up after a window's
    # or a day's reset without any worker sleeping until then (docs/integrations.md).
    "strava-drain": {
        "task": "integrations.tasks.strava_drain",
        "schedule": 60.0,
    },
}
# Without Redis there is no Celery beat: the web process runs the schedule itself.
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=not REDIS_URL)

# --- Auth (allauth e-mail accounts for athletes and organizers) -----------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
# A logout lands on a page that removes the live tracker's offline copy (its pages hold
# the entries' tokens) and its IndexedDB from the device, then goes home (tracking.web).
ACCOUNT_LOGOUT_REDIRECT_URL = "/track/signed-out/"
# Account e-mails name Pace and link to SITE_URL's scheme (pace/sites.py keeps the Site).
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https://") else "http"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- E-mail ------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pace <no-reply@pace.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- I18n, time ----------------------------------------------------------------
LANGUAGE_CODE = "en"
# What people type in dates is read as ISO 8601 only (pace/formats/en/formats.py says why).
FORMAT_MODULE_PATH = ["pace.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------
STATIC_URL = "/static/"
# STATIC_ROOT: where collectstatic writes (bench.pages collects into a temporary one).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security ----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy (docker-compose.yml's): it says the scheme and the client.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# HTTPS-only once served over TLS (docker-compose.yml sets these behind its Caddy proxy).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading binds every subdomain for good: the domain owner's call, not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"

# --- Abuse limits (pace/lib/ratelimits.py; README "Abuse limits" says how they were chosen)
# django-ratelimit rates ("count/period"), counted in the default cache (Redis in
# production, so every process shares them). ``None`` switches a limit off.
RATELIMIT_USE_CACHE = "default"
# A count the cache could not give lets the attempt through (as a failing cache does).
RATELIMIT_FAIL_OPEN = True


def _rate(name: str, default: str) -> str | None:
    """A limit's rate from ``RATE_LIMIT_<NAME>`` (``entry.ip`` → ``RATE_LIMIT_ENTRY_IP``)."""
    var = f"RATE_LIMIT_{name.upper().replace('.', '_')}"
    rate = env.str(var, default=default).strip()
    if rate and not re.fullmatch(r"\d+/\d*[smhd]", rate):
        raise ImproperlyConfigured(f"{var} must be a rate like 30/h or 100/15m, not {rate!r}")
    return rate or None


RATE_LIMITS: dict[str, str | None] = {
    name: _rate(name, rate)
    for name, rate in {
        # Entries (valid forms sent) from one IP (IPv6: one /48, a site), guests and
        # accounts alike (accounts cost nothing to make). A family enters its five with
        # retries; a club secretary enters a team in one form, or a few dozen members one
        # by one; an office or a school behind one address enters its group run. A guest's
        # entry holds its place only until its e-mail is confirmed, so a refused flood
        # loses little (and ENTRY_HOLDS_PER_IP caps what one IP holds at once).
        "entry.ip": "60/h",
        # Entries of one account: a secretary entering a whole club, one by one.
        "entry.account": "60/h",
        # Guest entries naming one e-mail address, each of which mails a confirmation
        # link to it: a parent enters five children with one address, not dozens.
        "entry.email": "10/h",
        # Live sockets (tracker and spectator) opened from one IP. A carrier NAT puts at
        # most about a thousand phones on one address (64-port blocks); after a restart
        # every one of them reconnects within the minute (backoff up to 60 s), a tracker
        # and a spectator tab each: 2,000, with room to spare. The bench switches it off.
        "ws.connect.ip": "3000/m",
        # Kudos of one spectator (account, session, else the signed id the live page
        # gives each browser), across all their sockets: a socket's own bucket lets
        # through 5 at once and one every 3 s (20 a minute).
        "kudos.spectator": "30/m",
        # Kudos from one IP, all spectators together: a stadium's thousand phones
        # behind one carrier NAT cheering five times a minute each.
        "kudos.ip": "5000/m",
        # Kudos from one IP of sockets with no account, session nor spectator id: not
        # a browser on our page, but a script or a bot. A handful of such clients
        # behind one NAT; far below a browser's IP, so dropping the cookie never pays.
        "kudos.cookieless.ip": "120/m",
        # The live page's athlete panel data from one IP (a JSON read, cached 15 s): a
        # spectator opens a few athletes a minute; a stadium's NAT, many spectators.
        "live.athlete.ip": "600/m",
        # The live page's field.json and roster.json from one IP: each page fetches both
        # when it opens and the field again every minute at most; a stadium's thousand
        # phones behind one carrier NAT opening the page at the gun.
        "live.field.ip": "3000/m",
        # Mid-race posts of one athlete: typed while running, a few an hour.
        "post.athlete": "10/10m",
        # SOS calls stored for one athlete, over all their sockets (each alarms race
        # control and e-mails the safety contacts; a socket repeats a call it has made
        # without storing it again).
        "sos.athlete": "10/10m",
        # Activity files one athlete uploads: a season's workouts one by one in an
        # evening is a few dozen; each is parsed, so not thousands.
        "activity.upload.account": "120/h",
        # Exports of everything Pace holds about one athlete (a ZIP built on request).
        "account.export.account": "10/h",
        # Strava's webhook deliveries, from Strava's few addresses: every connected
        # athlete's uploads and edits. Generous; it only stops a flood from elsewhere.
        "strava.webhook.ip": "1200/m",
        # The tracker page asking whether a tracker app's first fix arrived (every 5 s
        # while its setup is open), from one IP: a club's phones on one Wi-Fi.
        "tracker.device.ip": "600/m",
        # /osmand/ fixes of one device id. Traccar Client and OsmAnd send one request a
        # fix and, back in coverage, their stored fixes one request at a time, each
        # waiting for its answer, which waits for the group commit (0.1 s): at most
        # about 10 a second, 600 a minute. Twice that refuses no real phone.
        "osmand.device": "1200/m",
        # /osmand/ requests from one IP: a carrier NAT's thousand phones (see
        # ws.connect.ip) at one fix a second, the fastest either app sends (races use
        # 5-10 s), with as much again for buffers flushing after a tunnel.
        "osmand.ip": "120000/m",
        # /osmand/ answers "unknown device" to one IP (each a query, and an entry in the
        # process's device cache). A few misconfigured phones behind one home or office
        # NAT retry every 30 s (2 a minute each); a race's phones use ids Pace issued
        # and are known. Counted only when the device is unknown, so the real phones
        # behind a carrier NAT never count; past it, unknown ids get 429 without a query.
        "osmand.unknown.ip": "60/m",
        # Failed attempts of one account (or one entry's token) to link a device id
        # already linked elsewhere: that answer tells whether an id exists. An athlete
        # mistyping their phone's id fails once or twice, not ten times an hour.
        "tracker.link": "10/h",
        # Pushes to /timing/reads/ of one timing token. A decoder or timing app sends a
        # batch (up to 500 reads) every second or two while athletes pass, retrying on
        # failure; ten a second is far past any real one and cheap to serve.
        "timing.push.token": "600/m",
        # Pushes from one IP with a missing, unknown or revoked token. A misconfigured
        # decoder retries every few seconds; guessing a token (256 random bits) is hopeless
        # anyway, this only keeps the lookups cheap. Past it, 429 without a query.
        "timing.push.badtoken.ip": "30/m",
        # Family links one entry makes: a link for each of a few relatives, and again
        # for the next race day; ten working at once at most (tracking.familylinks).
        "family.create.entry": "10/h",
        # Family links made from one IP, all entries together: a club secretary making
        # them for a few dozen members' families from the club house.
        "family.create.ip": "60/h",
        # /f/TOKEN/ answers "not working" to one IP: a family opening an expired link a
        # few times, not a walk through guessed tokens (192 random bits anyway).
        "family.badtoken.ip": "30/m",
    }.items()
}

# --- REST API ----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pace API",
    "DESCRIPTION": "Public REST API of Pace: events, races, courses.",
    "VERSION": "1.0.0",
}

# --- Pace ----------------------------------------------------------------------
# The platform keeps this percentage of online payments plus the processing fee.
PLATFORM_FEE_PERCENT = env.float("PLATFORM_FEE_PERCENT", default=5.0)
PAYMENT_FEE_PERCENT = env.float("PAYMENT_FEE_PERCENT", default=1.5)
PAYMENT_FEE_FIXED = env.float("PAYMENT_FEE_FIXED", default=0.25)
# How long a place is held while its online payment is under way, and a waitlist offer.
PAYMENT_HOLD_MINUTES = env.int("PAYMENT_HOLD_MINUTES", default=30)
# How long a guest's entry holds its place until the link e-mailed to it is followed.
ENTRY_EMAIL_HOLD_MINUTES = env.int("ENTRY_EMAIL_HOLD_MINUTES", default=60)
# How many such held entries one IP (IPv6: one /48) may have in one race at once. A rate
# alone let one address keep a whole race held: 60 an hour, each held an hour. A family
# of five enters well within it; a club secretary entering dozens signs in with a verified
# account, whose entries are not held.
ENTRY_HOLDS_PER_IP = env.int("ENTRY_HOLDS_PER_IP", default=10)
WAITLIST_OFFER_HOURS = env.int("WAITLIST_OFFER_HOURS", default=48)
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)
MAX_GPX_BYTES = env.int("MAX_GPX_BYTES", default=5 * 1024 * 1024)
# Background map tiles; empty draws courses on a plain background (offline, tests).
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="&copy; OpenStreetMap contributors")

# --- Live tracking (PROTOCOL.md) ------------------------------------------------
# The race ticker's period: one tick frame per race per tick.
TRACKING_TICK_SECONDS = env.float("TRACKING_TICK_SECONDS", default=1.0)
# Group commit: fixes arriving within this window are stored in one write, then acked.
TRACKING_COMMIT_WINDOW_SECONDS = env.float("TRACKING_COMMIT_WINDOW_SECONDS", default=0.1)
# Fixes go to their race's ticker after this window (not the commit's): a fix's wait
# for the next tick starts when the ticker has it.
TRACKING_PUBLISH_WINDOW_SECONDS = env.float("TRACKING_PUBLISH_WINDOW_SECONDS", default=0.02)
# An athlete with no fix for this long is lost_signal; not moving for this long, stopped.
TRACKING_LOST_SIGNAL_SECONDS = env.int("TRACKING_LOST_SIGNAL_SECONDS", default=60)
TRACKING_STOPPED_SECONDS = env.int("TRACKING_STOPPED_SECONDS", default=120)
# An athlete further than this from the course shows as off course to spectators (a
# race's own threshold, when it has one, comes first).
TRACKING_OFF_COURSE_METRES = env.float("TRACKING_OFF_COURSE_METRES", default=150.0)
# Tracking opens this long before a race's start and closes this long after its time
# limit (or after a day when the race has none).
TRACKING_OPENS_BEFORE_MINUTES = env.int("TRACKING_OPENS_BEFORE_MINUTES", default=120)
TRACKING_CLOSES_AFTER_MINUTES = env.int("TRACKING_CLOSES_AFTER_MINUTES", default=120)
# Raw fixes are kept this many days, then thinned to one per athlete per interval.
TRACKING_RETENTION_DAYS = env.int("TRACKING_RETENTION_DAYS", default=30)
TRACKING_DOWNSAMPLE_SECONDS = env.int("TRACKING_DOWNSAMPLE_SECONDS", default=30)
# A spectator's kudos budget (a burst of this many, refilled at one per this many seconds).
TRACKING_KUDOS_BURST = env.int("TRACKING_KUDOS_BURST", default=5)
TRACKING_KUDOS_REFILL_SECONDS = env.float("TRACKING_KUDOS_REFILL_SECONDS", default=3.0)
# A spectator socket's follow budget: each follow is answered with a whole snapshot.
TRACKING_FOLLOW_BURST = env.int("TRACKING_FOLLOW_BURST", default=10)
TRACKING_FOLLOW_REFILL_SECONDS = env.float("TRACKING_FOLLOW_REFILL_SECONDS", default=1.0)
# The field frames' budget per spectator; bigger races get a longer default interval.
TRACKING_FIELD_BYTES_PER_SECOND = env.int("TRACKING_FIELD_BYTES_PER_SECOND", default=5000)
# An athlete's phone gets its own standing (a state frame) at most this often, and at
# once when its status changes (finished, lost signal...): a frame a second would keep
# a phone's radio awake for numbers that hardly move.
TRACKING_STATE_SECONDS = env.float("TRACKING_STATE_SECONDS", default=5.0)
# A spectator whose socket holds more than this many bytes not yet sent (a slow phone)
# gets nothing more until it has read them, then a fresh snapshot: the latest state,
# not a backlog of stale ticks.
TRACKING_VIEWER_BACKLOG_BYTES = env.int("TRACKING_VIEWER_BACKLOG_BYTES", default=512_000)
# Live sockets (tracker and spectator) open at once from one IP, in one web process,
# counted in its memory (no cache call). ws.connect.ip limits how fast they open, this
# how many stay open: a carrier NAT's thousand phones with a tracker and a spectator
# tab each is 2,000, even were they all on one process. Empty or 0: no cap (the bench).
TRACKING_MAX_SOCKETS_PER_IP = (
    env.int("TRACKING_MAX_SOCKETS_PER_IP", default=4000)
    if env.str("TRACKING_MAX_SOCKETS_PER_IP", default="4000").strip()
    else 0
)
if TRACKING_MAX_SOCKETS_PER_IP < 0:
    raise ImproperlyConfigured("TRACKING_MAX_SOCKETS_PER_IP must be 0 (no cap) or more")
# Points one tracker socket may send (counted in memory, no cache call): a burst of
# 20,000 (5.5 hours of a fix a second, buffered without signal) and 20 more a second,
# twenty times a phone's pace. Past it the socket is closed with a retry hint and the
# phone resends the rest after it reconnects; a script cannot fill the database with
# one athlete's token (100,000 rows in 6 s before).
TRACKING_POINTS_BURST = env.int("TRACKING_POINTS_BURST", default=20_000)
TRACKING_POINTS_PER_SECOND = env.float("TRACKING_POINTS_PER_SECOND", default=20.0)
if TRACKING_POINTS_BURST < 500 or TRACKING_POINTS_PER_SECOND <= 0:
    raise ImproperlyConfigured(
        "TRACKING_POINTS_BURST must be at least a batch (500) and the rate above 0"
    )
# Overload (pace/lib/opensockets.py, docs/live-tracking.md "Surges"): a web process
# refuses a new live socket ("come back in S seconds": HTTP 503 + Retry-After, or close
# 1013 retry=S) while its event loop lags more than this (smoothed, seconds) or more
# sockets than this are between their connect and their first frame; athletes'
# trackers have their own, higher thresholds (capacity kept for them). 0: not checked.
TRACKING_ADMIT_LAG_SECONDS = env.float("TRACKING_ADMIT_LAG_SECONDS", default=0.5)
TRACKING_ADMIT_OPENING = env.int("TRACKING_ADMIT_OPENING", default=300)
TRACKING_ADMIT_ATHLETE_LAG_SECONDS = env.float("TRACKING_ADMIT_ATHLETE_LAG_SECONDS", default=2.0)
TRACKING_ADMIT_ATHLETE_OPENING = env.int("TRACKING_ADMIT_ATHLETE_OPENING", default=1000)
# The lag thresholds apply only while new sockets arrive at least this fast (a second,
# decaying over ~10 s, admitted and refused): a surge, not the steady load. 0: always.
TRACKING_ADMIT_LAG_ARRIVALS = env.float("TRACKING_ADMIT_LAG_ARRIVALS", default=5.0)
# The longest S a refused client is told to wait (each draws its own, 1 to a window
# growing with the overload, so a reconnect storm spreads itself out).
TRACKING_ADMIT_RETRY_MAX_SECONDS = env.int("TRACKING_ADMIT_RETRY_MAX_SECONDS", default=30)
# A race's ticker holds a lease this long and renews it every tick (production topology).
TRACKING_LEASE_SECONDS = env.float("TRACKING_LEASE_SECONDS", default=5.0)
# Without Redis the web process runs the tickers itself (the embedded topology).
EMBEDDED_TICKERS = env.bool("EMBEDDED_TICKERS", default=not REDIS_URL)

# --- Stripe Connect (payments) --------------------------------------------------
# Empty (the embedded default): Stripe is unavailable and events take free or
# pay-on-site entries only. Test-mode keys (sk_test_...) work against Stripe's test mode.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# One signing secret per webhook endpoint (this account's events, connected accounts' events).
STRIPE_WEBHOOK_SECRET = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
if STRIPE_SECRET_KEY and not STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be a Stripe secret key (sk_... or rk_...)")
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY")
if any(not secret.startswith("whsec_") for secret in STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be Stripe signing secrets (whsec_...)")

# --- Integrations (integrations/; docs/integrations.md) -------------------------------
# Keys sealing provider tokens at rest (AES-256-GCM): "id:base64key" items, the first seals,
# all open (rotate: put a new key first, run manage.py rotate_token_key, drop the old one).
# Unset: a key derived from SECRET_KEY, for the embedded default only (`manage.py check
# --deploy` and docker-compose.yml refuse that in production).
PACE_TOKEN_KEYS: list[str] = env.list("PACE_TOKEN_KEYS", default=[])
# Strava: on when both are set (https://www.strava.com/settings/api), off otherwise.
STRAVA_CLIENT_ID = env.str("STRAVA_CLIENT_ID", default="")
STRAVA_CLIENT_SECRET = env.str("STRAVA_CLIENT_SECRET", default="")
STRAVA_ENABLED = bool(STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET)
if bool(STRAVA_CLIENT_ID) != bool(STRAVA_CLIENT_SECRET):
    raise ImproperlyConfigured("STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET go together")
# The token given to Strava when subscribing to webhooks, checked on its validation call.
STRAVA_WEBHOOK_VERIFY_TOKEN = env.str("STRAVA_WEBHOOK_VERIFY_TOKEN", default="")
# Where Strava is (tests and the demo point these at a local fake).
STRAVA_API_URL = env.str("STRAVA_API_URL", default="https://www.strava.com/api/v3").rstrip("/")
STRAVA_OAUTH_URL = env.str("STRAVA_OAUTH_URL", default="https://www.strava.com/oauth").rstrip("/")
STRAVA_TIMEOUT_SECONDS = env.float("STRAVA_TIMEOUT_SECONDS", default=15.0)
# Strava's default limits per application, until its responses' headers say otherwise.
STRAVA_READ_LIMITS = (
    env.int("STRAVA_READ_LIMIT_15MIN", default=100),
    env.int("STRAVA_READ_LIMIT_DAILY", default=1000),
)
STRAVA_OVERALL_LIMITS = (
    env.int("STRAVA_LIMIT_15MIN", default=200),
    env.int("STRAVA_LIMIT_DAILY", default=2000),
)
STRAVA_PAGE_SIZE = env.int("STRAVA_PAGE_SIZE", default=200)
# Pages after the first fetched at once (as tasks) on connect; the rest queue as backlog.
STRAVA_FIRST_PAGES = env.int("STRAVA_FIRST_PAGES", default=5)
# The share of Strava's limits older backlogs leave to new athletes' first pages and webhook
# events, so that an athlete connecting after the day's quota went to backlogs still sees
# their activities at once (docs/integrations.md).
STRAVA_FRESH_RESERVE = env.float("STRAVA_FRESH_RESERVE", default=0.05)
if not 0.0 <= STRAVA_FRESH_RESERVE < 1.0:
    raise ImproperlyConfigured("STRAVA_FRESH_RESERVE must be a share from 0 to below 1")
# API calls one drain task makes before handing over to the next (keeps tasks short).
STRAVA_DRAIN_BATCH = env.int("STRAVA_DRAIN_BATCH", default=20)
# The provider is always installed (it has no tables); without its keys it has no app, and
# integrations.adapter answers its URLs with 404.
INSTALLED_APPS.append("allauth.socialaccount.providers.strava")
# allauth keeps tokens in plain text and never refreshes them: Pace keeps its own sealed
# copy (integrations.strava.oauth copies them from the login in flight).
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ADAPTER = "integrations.adapter.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {
    # One comma-separated string, as Strava wants it.
    "strava": {"SCOPE": ["read,activity:read_all"]},
}
if STRAVA_ENABLED:
    SOCIALACCOUNT_PROVIDERS["strava"]["APPS"] = [
        {"client_id": STRAVA_CLIENT_ID, "secret": STRAVA_CLIENT_SECRET}
    ]

# Spotify (music over workouts): on when both are set (developer.spotify.com dashboard),
# off otherwise. Connected through allauth's provider with PKCE; polled every
# MUSIC_POLL_MINUTES with the `after` cursor (Spotify returns at most 50 plays a call).
SPOTIFY_CLIENT_ID = env.str("SPOTIFY_CLIENT_ID", default="")
SPOTIFY_CLIENT_SECRET = env.str("SPOTIFY_CLIENT_SECRET", default="")
SPOTIFY_ENABLED = bool(SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET)
if bool(SPOTIFY_CLIENT_ID) != bool(SPOTIFY_CLIENT_SECRET):
    raise ImproperlyConfigured("SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET go together")
SPOTIFY_API_URL = env.str("SPOTIFY_API_URL", default="https://api.spotify.com").rstrip("/")
SPOTIFY_ACCOUNTS_URL = env.str(
    "SPOTIFY_ACCOUNTS_URL", default="https://accounts.spotify.com"
).rstrip("/")
# Installed always (no tables), as Strava's: without keys it has no app and answers 404.
INSTALLED_APPS.append("allauth.socialaccount.providers.spotify")
SOCIALACCOUNT_PROVIDERS["spotify"] = {
    "SCOPE": ["user-read-recently-played"],
    "OAUTH_PKCE_ENABLED": True,
}
if SPOTIFY_ENABLED:
    SOCIALACCOUNT_PROVIDERS["spotify"]["APPS"] = [
        {"client_id": SPOTIFY_CLIENT_ID, "secret": SPOTIFY_CLIENT_SECRET}
    ]
# Last.fm: an API key (last.fm/api/account/create) switches on connecting by username.
LASTFM_API_KEY = env.str("LASTFM_API_KEY", default="")
LASTFM_ENABLED = bool(LASTFM_API_KEY)
LASTFM_API_URL = env.str("LASTFM_API_URL", default="https://ws.audioscrobbler.com/2.0/")
MUSIC_POLL_MINUTES = env.int("MUSIC_POLL_MINUTES", default=30)
# "The tracks you run fastest to" counts a track once it covered this many metres in all.
MUSIC_FASTEST_MIN_METRES = env.int("MUSIC_FASTEST_MIN_METRES", default=1000)
# Uploaded activity files (GPX, TCX, FIT): larger ones are refused with a form error.
ACTIVITY_UPLOAD_MAX_BYTES = env.int("ACTIVITY_UPLOAD_MAX_BYTES", default=25 * 1024 * 1024)
# Raw activity streams are kept this many days, then downsampled to one sample per
# INTEGRATIONS_DOWNSAMPLE_SECONDS by a scheduled task (the map and the music table stay).
INTEGRATIONS_RAW_STREAM_DAYS = env.int("INTEGRATIONS_RAW_STREAM_DAYS", default=92)
INTEGRATIONS_DOWNSAMPLE_SECONDS = env.int("INTEGRATIONS_DOWNSAMPLE_SECONDS", default=10)
CELERY_BEAT_SCHEDULE["poll-music"] = {
    "task": "integrations.tasks.poll_music",
    "schedule": 60.0 * MUSIC_POLL_MINUTES,
}
CELERY_BEAT_SCHEDULE["downsample-old-streams"] = {
    "task": "integrations.tasks.downsample_old_streams",
    "schedule": 3600.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
