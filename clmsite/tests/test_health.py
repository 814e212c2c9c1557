"""/health/ tells load balancers and monitors whether the database, the broker and a worker
answer, within a few seconds even when one of them hangs, and never with a secret."""

import socket
import time

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings

from clmsite import health
from clmsite.testing import free_port

pytestmark = pytest.mark.django_db

REDIS_PASSWORD = "redis-pw-Xy7Qhealth"
DATABASE_PASSWORD = "db-pw-Kq3Zhealth"


@pytest.fixture(autouse=True)
def no_heartbeats():
    cache.delete(health.HEARTBEATS_KEY)
    yield
    cache.delete(health.HEARTBEATS_KEY)


@pytest.fixture
def worker_beating():
    health.worker_heartbeat("celery@test-worker")


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word, as a hung Redis would."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_all_checks_pass_when_everything_answers(client, worker_beating):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert list(body["checks"]) == ["database", "broker", "worker"]
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert check["latency_ms"] >= 0
    assert body["checks"]["worker"]["workers"] == 1
    assert response["Cache-Control"].startswith("max-age=0")


def test_no_login_is_needed_and_nothing_is_cached(client, worker_beating):
    response = client.get("/health/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_without_a_worker_the_worker_check_fails_with_503(client):
    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["worker"] == {
        "latency_ms": body["checks"]["worker"]["latency_ms"],
        "status": "fail",
        "reason": "no worker is running (none has written a heartbeat)",
    }


@override_settings(HEALTH_WORKER_STALE_SECONDS=30)
def test_a_worker_silent_too_long_fails_the_check(client):
    cache.set(health.HEARTBEATS_KEY, {"celery@gone": time.time() - 95})

    check = client.get("/health/?check=worker").json()["checks"]["worker"]

    assert check["status"] == "fail"
    assert check["reason"] == (
        "no worker wrote a heartbeat in the last 30 s; the last one came from celery@gone 95 s ago"
    )


def test_a_stopped_worker_no_longer_counts():
    health.worker_heartbeat("celery@one")
    health.worker_heartbeat("celery@two")

    health.worker_heartbeat_stop("celery@one")

    assert health.worker_check()["workers"] == 1


def test_check_parameter_runs_only_the_checks_named(client):
    response = client.get("/health/?check=database,broker")

    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database", "broker"]


def test_an_unknown_check_is_refused_by_name(client):
    response = client.get("/health/?check=database&check=disk")

    assert response.status_code == 400
    assert response.json()["error"] == "unknown check(s) disk; the checks are database, broker, worker."


def test_live_answers_without_asking_anything(client, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "database", lambda: pytest.fail("live must not check the database"))

    response = client.get("/health/live/")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_redis_that_refuses_fails_the_broker_check_without_its_password(client):
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"

    with override_settings(REDIS_URL=url):
        response = client.get("/health/?check=broker")

    assert response.status_code == 503
    check = response.json()["checks"]["broker"]
    assert check["status"] == "fail"
    assert "ConnectionError" in check["reason"]
    assert REDIS_PASSWORD not in response.content.decode()


@override_settings(HEALTH_CHECK_TIMEOUT=0.5)
def test_a_redis_that_hangs_fails_the_broker_check_within_the_timeout(client, silent_server):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{silent_server}/0"):
        started = time.monotonic()
        response = client.get("/health/?check=broker")
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "fail"
    assert elapsed < 1.5


@override_settings(HEALTH_CHECK_TIMEOUT=0.5)
def test_a_check_that_hangs_is_answered_for_at_the_timeout(client, monkeypatch, worker_beating):
    monkeypatch.setitem(health.CHECKS, "database", lambda: time.sleep(3) or {})

    started = time.monotonic()
    response = client.get("/health/")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"status": "fail", "latency_ms": 500.0, "reason": "no answer within 0.5 s"}
    assert checks["broker"]["status"] == checks["worker"]["status"] == "ok"
    assert elapsed < 1.5


def database_unreachable(monkeypatch, *, password: str) -> None:
    """Points new connections at a PostgreSQL nobody listens for, logging in with
    ``password``. The health check's connection, made in a thread of its own, is new; the
    test's own connection stays as it is."""
    unreachable = {
        **connections.settings["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "NAME": "clmsite",
        "USER": "clmsite",
        "PASSWORD": password,
        "OPTIONS": {},
    }
    monkeypatch.setitem(connections.settings, "default", unreachable)


def test_a_database_that_refuses_fails_the_check_without_its_password(client, monkeypatch):
    database_unreachable(monkeypatch, password=DATABASE_PASSWORD)

    response = client.get("/health/?check=database")

    assert response.status_code == 503
    check = response.json()["checks"]["database"]
    assert check["status"] == "fail"
    assert check["reason"].startswith("OperationalError: ")
    assert DATABASE_PASSWORD not in response.content.decode()


def test_a_reason_never_carries_a_url_password_or_a_configured_secret(settings):
    settings.SECRET_KEY = "k" * 20 + "health-secret-key-Zr9"
    error = RuntimeError(f"cannot reach redis://user:{REDIS_PASSWORD}@cache:6379/0 with {settings.SECRET_KEY}")

    reason = health._reason(error)

    assert reason == "RuntimeError: cannot reach redis://***@cache:6379/0 with ***"


def test_a_missing_filesystem_broker_folder_fails_the_broker_check(settings, tmp_path):
    settings.REDIS_URL = ""
    for name in ("queue", "processed", "control"):
        (tmp_path / name).mkdir()
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "gone"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }

    check = health.checks_run(["broker"])["broker"]

    assert check["status"] == "fail"
    assert check["reason"] == f"the filesystem broker's data_folder_in ({tmp_path / 'gone'}) is missing or not writable"
