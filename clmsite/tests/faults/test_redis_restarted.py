"""Redis dying in the middle of a sync (SPEC §9: store the event durably before answering
2xx; nothing lost if the broker dies): webhooks keep being stored and answered while it is
gone, the task messages it held vanish with it, and once it is back the beat's sweep has
every stored event applied, each once, in order."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from clmsite.testing import ClmsiteServer, wait_for
from connectors.cache import NUDGE_INTERVAL_SECONDS
from connectors.models import DeadLetter, InboundEvent
from connectors.tasks import sweep_task
from connectors.webhooks import standard_webhook_sign
from contracts.choices import ContractStatus, WorkStatus
from contracts.models import Contract, ContractStatusChange

from .conftest import PROCESS_SETTINGS, SECRET, nda
from .support import BeatProcess, ForkedWorker, RedisServer

pytestmark = pytest.mark.faults

CONTRACTS = 50
# Each contract goes through these in turn, one webhook a step: every event is a real change.
STEPS = (
    ContractStatus.DRAFT,
    ContractStatus.WAITING_FOR_APPROVAL,
    ContractStatus.APPROVED,
    ContractStatus.WAITING_FOR_SIGNATURES,
    ContractStatus.EXECUTED,
)
SENDERS = 8


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def processes(transactional_db, fault_settings, redis_server, connection):
    """clmsite's web server, a worker and the beat, all on the test's own Redis; the beat
    sweeps every second (every 15 s in production)."""
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update(enabled=False)
    PeriodicTask.objects.update_or_create(
        name="Sweep (fault test)", defaults={"task": sweep_task.name, "interval": every_second, "enabled": True}
    )
    environment = {**PROCESS_SETTINGS, "REDIS_URL": redis_server.redis_url}
    worker = ForkedWorker(log_name="test-faults-redis-worker.log", **environment).start()
    beat = BeatProcess(log_name="test-faults-beat.log", **environment).start()
    site = ClmsiteServer(log_name="test-faults-redis-clmsite.log", **environment).start()
    yield site, worker, beat
    site.stop()
    beat.stop()
    worker.stop()


def send_step(url: str, step: int) -> list[int]:
    """Every contract's webhook for ``step`` (a wave; waves go one after the other, so each
    contract's changes are stored in order), from several senders at once."""

    def send(number: int) -> int:
        contract = nda(number, status=STEPS[step - 1], version=step)
        body = json.dumps({"type": "contract.updated", "data": {"contract": contract}}).encode()
        headers = standard_webhook_sign(SECRET, f"evt-{number}-{step}", body)
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(SENDERS) as senders:
        return list(senders.map(send, range(1, CONTRACTS + 1)))


def test_webhooks_received_while_redis_restarts_are_all_applied_once_it_is_back(processes, redis_server, connection):
    site, worker, beat = processes
    url = site.url + reverse("api:connection-webhook", args=[connection.name])

    answers = send_step(url, 1) + send_step(url, 2)
    assert wait_for(lambda: InboundEvent.objects.filter(status=WorkStatus.DONE).exists(), timeout=30)
    redis_server.kill()  # a crash: with nothing saved, its queues and unacknowledged tasks are gone
    pending_at_crash = InboundEvent.objects.filter(status=WorkStatus.PENDING).count()
    time.sleep(NUDGE_INTERVAL_SECONDS)  # so that the web server tries to nudge the worker through the dead broker
    while_down = send_step(url, 3)
    stored_while_down = InboundEvent.objects.filter(event_id__endswith="-3").count()
    redis_server.start()
    answers += send_step(url, 4) + send_step(url, 5)

    everything = CONTRACTS * len(STEPS)
    applied = wait_for(
        lambda: InboundEvent.objects.filter(status=WorkStatus.DONE).count() == everything, timeout=60, interval=0.2
    )
    print(f"pending when Redis died: {pending_at_crash}; stored while it was down: {stored_while_down}")
    assert applied, f"{worker.log_tail()}\n--- beat ---\n{beat.log_tail()}"
    assert set(answers) == {202}
    assert set(while_down) == {202}, "stored, so answered 2xx: the CLM need not send it again"
    assert stored_while_down == CONTRACTS
    # Applied once each, in order: every event changed its contract (none was stale or a repeat).
    outcomes = Counter(text.rpartition(": ")[2] for text in InboundEvent.objects.values_list("outcome", flat=True))
    assert outcomes == {"created": CONTRACTS, "updated": everything - CONTRACTS}
    assert set(Contract.objects.values_list("status", "source_sequence")) == {(ContractStatus.EXECUTED, len(STEPS))}
    assert Contract.objects.count() == CONTRACTS
    assert ContractStatusChange.objects.count() == everything
    assert not DeadLetter.objects.exists()
