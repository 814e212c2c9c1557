"""End to end (SPEC §5): clmsite's web server, a Celery worker and the reference CLM, each a
process of its own, talking HTTP; PostgreSQL and Redis in CI (SQLite and the filesystem
broker on a bare machine). The processes live for a module; each test starts from the demo's
master data, pairs the connection with the CLM afresh and looks at clmsite as procurement
staff do, in Chromium."""

from dataclasses import dataclass

import pytest
from django.conf import global_settings

from clmsite.celery import app
from clmsite.testing import ClmsiteServer, WorkerProcess, browser_page, sign_in
from connectors.models import Connection
from connectors.services import connection_pair
from contracts import demo
from contracts.services import Actor

from .reference_clm import ReferenceClm

# Short timeouts and backoff, so that faults turn into retries within a test.
PROCESS_SETTINGS = {
    "CONNECTOR_HTTP_TIMEOUT": "3",
    "CONNECTOR_MAX_ATTEMPTS": "5",
    "CONNECTOR_BACKOFF_BASE": "0.2",
    "CONNECTOR_BACKOFF_CAP": "1",
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "SYNC_RUN_STALL_SECONDS": "3",
}


@pytest.fixture(scope="module")
def clmsite_server(django_db_setup):
    server = ClmsiteServer(log_name="test-e2e-clmsite.log", **PROCESS_SETTINGS).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clmsite_worker(django_db_setup):
    app.control.purge()
    worker = WorkerProcess(log_name="test-e2e-worker.log", **PROCESS_SETTINGS).start()
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def reference_clm(tmp_path_factory):
    clm = ReferenceClm(storage=tmp_path_factory.mktemp("reference-clm")).start()
    yield clm
    clm.stop()


@pytest.fixture
def e2e_settings(settings):
    """The test process enqueues pulls and sweeps too: it uses the processes' settings. And
    the web server checks the passwords the test process stores with its own hashers."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    for name, value in PROCESS_SETTINGS.items():
        if name.startswith(("CONNECTOR_", "SYNC_")):
            setattr(settings, name, float(value) if "." in value else int(value))
    return settings


@dataclass
class Demo:
    connection: Connection
    pairing: dict
    clm: ReferenceClm
    site: ClmsiteServer
    worker: WorkerProcess

    def logs(self) -> str:
        """What the processes said last, for a failing assertion's message."""
        return "\n".join(
            f"--- {name} ---\n{process.log_tail(2500)}"
            for name, process in (("clmsite", self.site), ("worker", self.worker), ("reference CLM", self.clm))
        )


@pytest.fixture
def demo_world(transactional_db, e2e_settings, clmsite_server, clmsite_worker, reference_clm):
    """The demo's master data and users, and the Reference CLM connection paired with the CLM
    process (webhooks by default), which has read clmsite's master data."""
    demo.seed(contracts=0, seed=1)
    connection = Connection.objects.get(name=demo.CONNECTION_NAME)
    pairing = connection_pair(
        connection=connection,
        clm_url=reference_clm.url,
        clmsite_url=clmsite_server.url,
        actor=Actor.system("e2e"),
    )
    reference_clm.configure(pairing.as_dict())
    reference_clm.sync_master_data()
    return Demo(
        connection=connection,
        pairing=pairing.as_dict(),
        clm=reference_clm,
        site=clmsite_server,
        worker=clmsite_worker,
    )


@pytest.fixture
def staff(browser, demo_world):
    """A browser tab signed in to clmsite as the demo's procurement user (USMF and DEMF)."""
    with browser_page(browser, demo_world.site.url) as page:
        sign_in(page, demo.PROCUREMENT_LOGIN.username, demo.PROCUREMENT_LOGIN.password)
        yield page
