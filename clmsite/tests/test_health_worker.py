"""/health/ with a real Celery worker process on the configured broker (Redis, or the
filesystem broker of the embedded default): ok while it consumes, a failing "worker"
check once it is stopped or killed."""

import time

import pytest
from django.core.cache import cache

from clmsite.health import HEARTBEATS_KEY
from clmsite.testing import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

HEARTBEAT_SECONDS = 1
STALE_SECONDS = 3


@pytest.fixture
def worker(transactional_db, settings):
    settings.HEALTH_WORKER_STALE_SECONDS = STALE_SECONDS
    cache.delete(HEARTBEATS_KEY)
    process = WorkerProcess(log_name="test-health-worker.log", HEALTH_WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS))
    process.start()
    yield process
    process.stop()
    cache.delete(HEARTBEATS_KEY)


def healthy(client) -> bool:
    return client.get("/health/").status_code == 200


def test_health_is_ok_while_a_worker_runs_and_fails_as_soon_as_it_stops(client, worker):
    assert wait_for(lambda: healthy(client), timeout=30), worker.log_tail()

    worker.stop()
    response = client.get("/health/")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"]["reason"] == "no worker is running (none has written a heartbeat)"
    assert checks["database"]["status"] == checks["broker"]["status"] == "ok"


def test_a_killed_worker_fails_the_check_once_its_heartbeat_is_stale(client, worker):
    assert wait_for(lambda: healthy(client), timeout=30), worker.log_tail()

    worker.kill()
    killed_at = time.monotonic()
    failed = wait_for(lambda: client.get("/health/?check=worker").status_code == 503, timeout=10, interval=0.2)
    noticed_after = time.monotonic() - killed_at

    assert failed
    assert noticed_after <= STALE_SECONDS + HEARTBEAT_SECONDS + 1
    reason = client.get("/health/?check=worker").json()["checks"]["worker"]["reason"]
    assert reason.startswith(f"no worker wrote a heartbeat in the last {STALE_SECONDS} s; the last one came from ")
