"""Faults survived (issue 9): real processes on PostgreSQL and Redis, broken on purpose.

These tests need what production runs on: row locks that skip what another worker holds,
a broker that forgets what a dead worker took. On SQLite and the filesystem broker (a bare
laptop) they are skipped; CI's PostgreSQL + Redis pass runs them.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from clmsite.celery import app
from contracts.tests import factories

from .support import ForkedWorker, RestartableClm

# Short timeouts and backoff, so that minutes of retries fit in seconds.
PROCESS_SETTINGS = {
    "CONNECTOR_HTTP_TIMEOUT": "1",
    "CONNECTOR_MAX_ATTEMPTS": "5",
    "CONNECTOR_BACKOFF_BASE": "0.5",
    "CONNECTOR_BACKOFF_CAP": "10",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "SYNC_RUN_STALL_SECONDS": "1",
}
SECRET = "whsec_ZmF1bHRzLXN1cnZpdmVkLXRlc3Qta2V5"


@pytest.fixture(autouse=True)
def postgresql_and_redis():
    if django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("fault tests need PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL=redis://…")
    if not django_settings.REDIS_URL:
        pytest.fail("fault tests on PostgreSQL need Redis too: set REDIS_URL=redis://…")


@pytest.fixture
def fault_settings(settings):
    """The test process enqueues, sweeps and retries too: it uses the processes' settings."""
    for name, value in PROCESS_SETTINGS.items():
        if name.startswith(("CONNECTOR_", "SYNC_")):
            setattr(settings, name, float(value) if "." in value else int(value))
    return settings


@pytest.fixture
def clm():
    server = RestartableClm().start()
    yield server
    server.stop()


@pytest.fixture
def usmf(transactional_db):
    return factories.LegalEntityFactory(code="USMF")


@pytest.fixture
def nda_type(transactional_db):
    return factories.ContractTypeFactory(name="NDA", flow="lightweight")


@pytest.fixture
def connection(transactional_db, clm, usmf, nda_type):
    return factories.ConnectionFactory(
        name="Reference CLM",
        connector="reference",
        base_url=clm.url,
        credentials=clm.token,
        webhook_secrets=SECRET,
    )


@pytest.fixture
def worker(transactional_db, fault_settings):
    """A worker on the machine's Redis; the test kills and restarts it at will."""
    app.control.purge()
    process = ForkedWorker(log_name="test-faults-worker.log", **PROCESS_SETTINGS).start()
    yield process
    process.stop()


def nda(number: int, *, status: str, version: int = 1, **changes) -> dict:
    """A contract as the reference CLM sends it; ``version`` orders its changes."""
    return {
        "legal_entity": "USMF",
        "contract_id": f"NDA-{number:05d}",
        "external_contract_id": f"ext-{number}",
        "name": f"Mutual NDA {number} v{version}",
        "contract_type": "NDA",
        "status": status,
        "source_sequence": version,
        **changes,
    }
