"""The reference CLM's fault modes against the real pipeline: whatever the CLM's webhooks and
pull API do wrong, clmsite ends with the CLM's latest state, or stops with a clear reason."""

from __future__ import annotations

import pytest

from clmsite.testing import wait_for
from connectors.models import DeadLetter, InboundEvent, SyncRun
from connectors.pull import pull_start
from contracts.choices import ContractStatus, SyncRunStatus, WorkStatus
from contracts.models import Contract, ContractStatusChange
from contracts.services import Actor

from .test_flows import arrives

pytestmark = pytest.mark.e2e


def finished(run: SyncRun, demo_world) -> SyncRun:
    assert wait_for(lambda: not SyncRun.objects.get(pk=run.pk).is_active, timeout=90), demo_world.logs()
    run.refresh_from_db()
    return run


def test_duplicate_and_out_of_order_webhooks_leave_the_latest_status(demo_world):
    clm = demo_world.clm
    clm.set_faults(duplicate_webhooks=True, out_of_order_webhooks=True)
    nda = clm.create(type="NDA", legal_entity="USMF")
    latest = clm.advance(nda, "submit", "approve", "send_for_signature")

    clm.deliver()  # the held webhooks go newest first, each twice
    contract = arrives(demo_world, nda, status=latest["status"])

    assert wait_for(lambda: not InboundEvent.objects.filter(status=WorkStatus.PENDING).exists(), timeout=30)
    contract.refresh_from_db()
    assert contract.status == latest["status"] == ContractStatus.WAITING_FOR_EXTERNAL_SIGNATURES
    assert list(ContractStatusChange.objects.filter(contract=contract).values_list("to_status", flat=True)) == [
        ContractStatus.WAITING_FOR_EXTERNAL_SIGNATURES
    ], "older deliveries that arrive later never move the contract back"


def test_a_pull_gets_through_errors_rate_limits_and_timeouts(demo_world):
    clm = demo_world.clm
    clm.configure(demo_world.pairing, delivery="pull")
    demo_world.connection.settings = {"page_size": 5}
    demo_world.connection.save()
    ndas = [clm.create(type="NDA", legal_entity="USMF") for _ in range(12)]
    clm.set_faults(errors=1, rate_limits=1, timeouts=1, timeout_seconds=5, delay_ms=50)

    run = finished(pull_start(connection_id=demo_world.connection.pk, actor=Actor.system("e2e")), demo_world)

    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert run.failed == 0 and run.pages >= 3
    assert Contract.objects.filter(contract_id__in=[nda["contract_id"] for nda in ndas]).count() == 12
    assert run.created + run.updated + run.unchanged + run.stale == run.processed


def test_a_repeated_continuation_token_stops_the_pull_with_its_reason(demo_world):
    clm = demo_world.clm
    clm.configure(demo_world.pairing, delivery="pull")
    demo_world.connection.settings = {"page_size": 2}
    demo_world.connection.save()
    for _ in range(5):
        clm.create(type="NDA", legal_entity="USMF")
    clm.set_faults(repeat_ctoken=True)

    run = finished(pull_start(connection_id=demo_world.connection.pk, actor=Actor.system("e2e")), demo_world)

    assert run.status == SyncRunStatus.FAILED
    assert "repeat" in run.message.lower(), run.message
    assert DeadLetter.objects.filter(object_id=str(run.pk)).exists()
    demo_world.connection.refresh_from_db()
    assert not demo_world.connection.sync_watermark, "a pull that failed does not move the watermark"
