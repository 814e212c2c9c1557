"""Synchronization end to end with real processes (issue 5): a Celery worker process on the
configured broker and database, clmsite's live HTTP server, and a fake CLM over HTTP.

Each test asserts what a user would see in the end — contracts in the database, counts on
the sync run, dead letters — after the worker did the work, however it was interrupted.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.urls import reverse

from clmsite.testing import wait_for
from connectors.models import DeadLetter, InboundEvent, OutboxMessage, SyncRun
from connectors.pull import pull_runs_redrive, pull_start
from connectors.tests.clm_server import clm_server  # noqa: F401 - a fixture
from connectors.webhooks import standard_webhook_sign
from contracts.choices import ContractStatus, SyncRunStatus, WorkStatus
from contracts.models import Contract, ContractStatusChange
from contracts.services import Actor
from contracts.tests import factories
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.integration

SWEEP_SECONDS = 5  # the beat runs the sweep every 15 s in production; tests are impatient
SECRET = "whsec_aW50ZWdyYXRpb24tdGVzdC1rZXk="


@pytest.fixture
def nda_type(transactional_db):
    return factories.ContractTypeFactory(name="NDA", flow="lightweight")


@pytest.fixture
def usmf(transactional_db):
    return factories.LegalEntityFactory(code="USMF")


@pytest.fixture
def connection(transactional_db, clm_server, usmf, nda_type):  # noqa: F811
    return factories.ConnectionFactory(
        name="Reference CLM",
        connector="reference",
        base_url=clm_server.url,
        credentials=clm_server.token,
        webhook_secrets=SECRET,
        settings={"page_size": 100},  # several pages even for a few hundred contracts
    )


def nda(number: int, *, status: str = ContractStatus.EXECUTED, sequence: int = 1) -> dict:
    return {
        "legal_entity": "USMF",
        "contract_id": f"NDA-{number:05d}",
        "external_contract_id": f"ext-{number}",
        "name": f"Mutual NDA {number}",
        "contract_type": "NDA",
        "status": status,
        "source_sequence": sequence,
    }


def pulled_to_the_end(run: SyncRun, *, timeout: float = 120) -> SyncRun:
    """Waits for the run to end, re-nudging due runs every few seconds as the beat's sweep does
    in production (a retry's message can be lost, on the filesystem broker above all)."""

    def ended() -> bool:
        if time.monotonic() >= ended.next_sweep:
            pull_runs_redrive()
            ended.next_sweep = time.monotonic() + SWEEP_SECONDS
        return not SyncRun.objects.get(pk=run.pk).is_active

    ended.next_sweep = time.monotonic() + SWEEP_SECONDS
    finished = wait_for(ended, timeout=timeout)
    run.refresh_from_db()
    assert finished, f"run still {run.status} after {timeout} s: {run.message}"
    return run


def test_a_signed_webhook_over_http_becomes_a_contract_staff_see_in_all_contracts(
    worker, live_server, connection, usmf, client, django_user_model
):
    body = json.dumps({"type": "contract.updated", "data": {"contract": nda(1)}}).encode()
    url = live_server.url + reverse("api:connection-webhook", args=[connection.name])

    response = requests.post(url, data=body, headers=standard_webhook_sign(SECRET, "evt-1", body), timeout=10)

    assert response.status_code == 202, response.text
    assert wait_for(lambda: Contract.objects.filter(contract_id="NDA-00001").exists(), timeout=60), worker.log_tail()
    client.force_login(make_user(django_user_model, "buyer", legal_entities=[usmf]))
    page = client.get(reverse("contracts:list"))
    assert "Mutual NDA 1" in page.content.decode()
    assert InboundEvent.objects.get().status == WorkStatus.DONE


def test_a_pull_of_thousands_of_contracts_applies_every_one_and_counts_them(worker, connection, clm_server):  # noqa: F811
    for number in range(1, 2001):
        clm_server.put(nda(number))

    run = pulled_to_the_end(pull_start(connection_id=connection.pk, actor=Actor.system("test")))

    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert (run.created, run.failed, run.processed) == (2000, 0, 2000)
    assert Contract.objects.count() == 2000
    connection.refresh_from_db()
    assert connection.sync_watermark == str(clm_server.sequence)


def test_a_worker_killed_mid_pull_and_restarted_leaves_every_contract_exactly_once(
    worker,
    connection,
    clm_server,  # noqa: F811
):
    total = 1000
    for number in range(1, total + 1):
        clm_server.put(nda(number))
    for _ in range(20):
        clm_server.delay(0.3)  # slow pages, so the kill lands mid-pull

    run = pull_start(connection_id=connection.pk, actor=Actor.system("test"))
    assert wait_for(lambda: SyncRun.objects.get(pk=run.pk).pages >= 3, timeout=60), worker.log_tail()
    worker.kill()
    pages_at_kill = SyncRun.objects.get(pk=run.pk).pages
    worker.start()
    time.sleep(4)  # longer than SYNC_RUN_STALL_SECONDS: the sweeper takes the run for lost
    pull_runs_redrive()
    run = pulled_to_the_end(run)

    assert 3 <= pages_at_kill < total // 100
    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert Contract.objects.count() == total
    assert ContractStatusChange.objects.count() == total  # one history row each: nothing applied twice
    assert run.created == total and run.processed == total


def test_a_clm_answering_500_timeout_429_and_garbage_is_retried_until_the_pull_succeeds(
    worker,
    connection,
    clm_server,  # noqa: F811
):
    for number in range(1, 251):
        clm_server.put(nda(number))
    clm_server.error(500)
    clm_server.timeout(2.0)
    clm_server.error(429, retry_after="1")
    clm_server.garbage()

    run = pulled_to_the_end(pull_start(connection_id=connection.pk, actor=Actor.system("test")))

    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert Contract.objects.count() == 250
    assert not DeadLetter.objects.exists()


def test_a_clm_failing_every_time_ends_in_a_dead_letter_with_nothing_half_applied(
    worker,
    connection,
    clm_server,  # noqa: F811
):
    for number in range(1, 51):
        clm_server.put(nda(number))
    for _ in range(3):
        clm_server.error(503)
        clm_server.garbage()

    run = pulled_to_the_end(pull_start(connection_id=connection.pk, actor=Actor.system("test")))

    assert run.status == SyncRunStatus.FAILED
    dead = DeadLetter.objects.get()
    assert dead.object_id == run.pk and dead.attempts == 5
    assert Contract.objects.count() == 0
    connection.refresh_from_db()
    assert connection.sync_watermark == ""


def test_a_master_data_change_is_delivered_to_the_clm_by_the_worker(worker, connection, clm_server, usmf):  # noqa: F811
    connection.push_master_data = True
    connection.save()

    vendor = factories.VendorFactory(legal_entity=usmf, account_number="V-9001", name="Northwind Traders")
    vendor.name = "Northwind Traders Ltd"
    vendor.save()

    def vendor_pushes():
        return [push["body"] for push in clm_server.pushes if push["body"]["entity"] == "vendors"]

    assert wait_for(lambda: len(vendor_pushes()) >= 2, timeout=60), worker.log_tail()
    time.sleep(1)  # a duplicate delivery, were there one, would arrive now
    names = [push["record"]["name"] for push in vendor_pushes()]
    assert names == ["Northwind Traders", "Northwind Traders Ltd"], (clm_server.pushes, worker.log_tail())
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {WorkStatus.DONE}
