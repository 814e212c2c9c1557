"""A worker killed with SIGKILL again and again in the middle of a pull (SPEC §9 failures:
"nothing is lost if a worker dies mid-task"): each new worker takes the stalled run up
where the last committed page left it, and the end state is the CLM's, exactly once."""

from __future__ import annotations

import random
import time

import pytest
from django.db.models import Count

from clmsite.testing import wait_for
from connectors.models import DeadLetter, SyncRun
from connectors.pull import pull_run_to_end, pull_start
from contracts.choices import ContractStatus, SyncRunStatus
from contracts.models import Contract, ContractStatusChange
from contracts.services import Actor

from .conftest import nda
from .support import Sweeper

pytestmark = pytest.mark.faults

KILLS = 20
SYNCED_BEFORE = 1000  # contracts clmsite has from an earlier pull, changed in the CLM since
NEW = 2000
PAGE_SIZE = 25  # 120 pages: a worker dies every few pages


def test_a_pull_killed_twenty_times_mid_sync_ends_with_every_contract_once_at_its_latest(worker, connection, clm):
    for number in range(1, SYNCED_BEFORE + 1):
        clm.put(nda(number, status=ContractStatus.WAITING_FOR_SIGNATURES))
    connection.settings = {"page_size": 500}
    connection.save()
    earlier = pull_run_to_end(
        run_id=pull_start(connection_id=connection.pk, actor=Actor.system("test"), enqueue=False).pk
    )
    assert earlier.status == SyncRunStatus.SUCCEEDED, earlier.message
    for number in range(1, SYNCED_BEFORE + NEW + 1):
        clm.put(nda(number, status=ContractStatus.EXECUTED, version=2))
    connection.settings = {"page_size": PAGE_SIZE}
    connection.save()
    clm.latency = 0.03  # a page takes a moment to fetch, as across a network

    run = pull_start(connection_id=connection.pk, actor=Actor.system("test"))
    sweep, pick = Sweeper(every=0.5), random.Random(9)
    pages_at_kills, started = [], time.monotonic()
    for _ in range(KILLS):
        pages_before = SyncRun.objects.get(pk=run.pk).pages

        def progressed(pages_before=pages_before) -> bool:
            sweep()  # a stalled run (no heartbeat for SYNC_RUN_STALL_SECONDS) is nudged again
            return SyncRun.objects.get(pk=run.pk).pages > pages_before

        assert wait_for(progressed, timeout=60, interval=0.05), worker.log_tail()
        time.sleep(pick.uniform(0, 0.15))  # in a fetch, in a page's transaction, or between
        worker.kill_group()
        killed = SyncRun.objects.get(pk=run.pk)
        assert killed.is_active, f"the pull ended before kill {len(pages_at_kills) + 1}"
        pages_at_kills.append(killed.pages)
        worker.start()

    def ended() -> bool:
        sweep()
        return not SyncRun.objects.get(pk=run.pk).is_active

    assert wait_for(ended, timeout=90, interval=0.1), worker.log_tail()
    print(f"{KILLS} kills in {time.monotonic() - started:.1f} s, at pages {pages_at_kills}")

    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert run.finished_at is not None
    # Every page applied once: counts and pages add up to the CLM's changes, no more.
    total = SYNCED_BEFORE + NEW
    assert (run.pages, run.processed, run.total) == (total // PAGE_SIZE, total, total)
    assert (run.created, run.updated, run.unchanged, run.stale, run.failed) == (NEW, SYNCED_BEFORE, 0, 0, 0)
    stored = {c.contract_id: (c.status, c.name, c.source_sequence) for c in Contract.objects.all()}
    expected = {
        record["contract_id"]: (record["status"], record["name"], record["source_sequence"])
        for record in clm.contracts.values()
    }
    assert stored == expected
    # One history row per real change: the earlier contracts moved once, the new ones were created once.
    history = dict(Contract.objects.annotate(changes=Count("status_history")).values_list("contract_id", "changes"))
    assert ContractStatusChange.objects.count() == 2 * SYNCED_BEFORE + NEW
    assert {history[f"NDA-{number:05d}"] for number in range(1, SYNCED_BEFORE + 1)} == {2}
    assert {history[f"NDA-{number:05d}"] for number in range(SYNCED_BEFORE + 1, total + 1)} == {1}
    connection.refresh_from_db()
    assert connection.sync_watermark == str(clm.sequence)
    assert not SyncRun.objects.filter(status__in=SyncRunStatus.active()).exists()
    assert not DeadLetter.objects.exists()
