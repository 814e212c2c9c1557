"""Helpers for tests that start real processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


class WorkerProcess:
    """A real Celery worker in a child process, on this test run's database and broker.

    ``kill()`` sends SIGKILL, as a crashed machine would; ``start()`` brings up a new one.
    """

    def __init__(self, *, log_name: str = "test-celery-worker.log", **env_overrides: str):
        self.log_path = settings.VAR_DIR / log_name
        self.env_overrides = env_overrides
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "clmsite",
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=settings.BASE_DIR,
                env=child_environment(**self.env_overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if not self.alive:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""


def wait_for(condition, *, timeout: float = 60.0, interval: float = 0.25) -> bool:
    """Polls ``condition`` until it is true or ``timeout`` seconds pass; returns which."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
