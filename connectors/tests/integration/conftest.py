"""Real processes for the synchronization's integration tests: a Celery worker (on Redis
and PostgreSQL in CI, the filesystem broker and SQLite on a bare machine) that a test may
kill with SIGKILL and start again, and clmsite's live server for webhooks over HTTP."""

import pytest

from clmsite.celery import app
from clmsite.testing import WorkerProcess

# Small timeouts and backoff so that retries and dead letters happen within a test.
WORKER_SETTINGS = {
    "CONNECTOR_HTTP_TIMEOUT": "1",
    "CONNECTOR_MAX_ATTEMPTS": "5",
    "CONNECTOR_BACKOFF_BASE": "0.2",
    "CONNECTOR_BACKOFF_CAP": "1",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "SYNC_RUN_STALL_SECONDS": "3",
}


@pytest.fixture
def sync_settings(settings):
    """The test process (which enqueues and sweeps) uses the worker's settings too."""
    for name, value in WORKER_SETTINGS.items():
        if name.startswith(("CONNECTOR_", "SYNC_")):
            setattr(settings, name, float(value) if "." in value else int(value))
    return settings


@pytest.fixture
def worker(transactional_db, sync_settings):
    app.control.purge()
    process = WorkerProcess(**WORKER_SETTINGS).start()
    yield process
    process.stop()
