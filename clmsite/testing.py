"""Helpers for tests that start real processes against the test database."""

import os
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def test_database_url() -> str:
    """A DATABASE_URL pointing a child process at the database the tests are using now."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    return f"postgres://{host}/{db['NAME']}"


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process sharing this test run's database and broker."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clmsite.settings",
        DATABASE_URL=test_database_url(),
        CLMSITE_VAR_DIR=str(settings.VAR_DIR),
        REDIS_URL=settings.REDIS_URL,
    )
    env.update(overrides)
    return env
