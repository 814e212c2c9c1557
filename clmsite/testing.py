"""Helpers for tests that start real processes against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class ChildProcess:
    """A real process started by a test, logging to a file under the test run's var dir.

    ``kill()`` sends SIGKILL, as a crashed machine would; ``start()`` brings up a new one.
    Subclasses say what to run (``command``) and in which environment (``environment``).
    """

    command: list[str]

    def __init__(self, *, log_name: str, **env_overrides: str):
        self.log_path = settings.VAR_DIR / log_name
        self.env_overrides = env_overrides
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        return child_environment(**self.env_overrides)

    def start(self):
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=settings.BASE_DIR,
                env=self.environment(),
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


class WorkerProcess(ChildProcess):
    """A real Celery worker, on this test run's database and broker."""

    command = [
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
    ]

    def __init__(self, *, log_name: str = "test-celery-worker.log", **env_overrides: str):
        super().__init__(log_name=log_name, **env_overrides)


class ServerProcess(ChildProcess):
    """An HTTP server in a child process on a free local port; ``start()`` returns once it answers."""

    def __init__(self, *, log_name: str, **env_overrides: str):
        super().__init__(log_name=log_name, **env_overrides)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        super().start()
        if not wait_for(self._answers, timeout=60, interval=0.2):
            self.stop()
            raise RuntimeError(f"{type(self).__name__} did not answer on {self.url}:\n{self.log_tail()}")
        return self

    def _answers(self) -> bool:
        if not self.alive:
            raise RuntimeError(f"{type(self).__name__} exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False


class ClmsiteServer(ServerProcess):
    """clmsite's own web server (Django's, threaded) on this test run's database and broker."""

    def __init__(self, *, log_name: str = "test-clmsite-server.log", **env_overrides: str):
        super().__init__(log_name=log_name, **env_overrides)
        self.command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"]


def free_port() -> int:
    """A local TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float = 60.0, interval: float = 0.25) -> bool:
    """Polls ``condition`` until it is true or ``timeout`` seconds pass; returns which."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


# Debian's Chromium, headless; Playwright never downloads a browser here.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def browser_page(browser, base_url: str) -> Iterator:
    """A tab in a fresh browser context (its own cookies) whose relative URLs go to ``base_url``."""
    context = browser.new_context(base_url=base_url, accept_downloads=True, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    """Signs in through clmsite's login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
