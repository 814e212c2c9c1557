"""Settings of the reference CLM, read from the environment (docs/reference-clm.md lists them).

It shares nothing with clmsite's settings: its own database, secret key and URLs. The web
server and the clock are two processes on one SQLite file, so every transaction takes the
write lock when it starts (``IMMEDIATE``) and waits for it (a generous busy timeout)
rather than failing when the other process writes.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent

env = environ.Env()

VAR_DIR = Path(env.str("REFCLM_VAR_DIR", default=str(REPO_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("REFCLM_DEBUG", default=True)
SECRET_KEY = env.str("REFCLM_SECRET_KEY", default="refclm-local-secret-key-for-the-reference-clm-only")
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

# The bearer token of the /control/ endpoints (tests and scripts drive the CLM with it).
REFCLM_CONTROL_TOKEN = env.str("REFCLM_CONTROL_TOKEN", default="refclm-local-control")
# Seconds every call to clmsite may take.
REFCLM_HTTP_TIMEOUT = env.float("REFCLM_HTTP_TIMEOUT", default=10.0)
# This CLM's own address, for the document links it sends; PUT /control/config/ sets it from
# the request when the configuration does not name it.
REFCLM_PUBLIC_URL = env.str("REFCLM_PUBLIC_URL", default="http://127.0.0.1:8001")

INSTALLED_APPS = [
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "refclm",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# No sessions here: the UI's notices travel in a signed cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

ROOT_URLCONF = "refclm.urls"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("REFCLM_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'refclm.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 60, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "refclm-static"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"refclm": {"handlers": ["console"], "level": env.str("REFCLM_LOG_LEVEL", default="INFO")}},
}
