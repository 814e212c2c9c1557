"""The CLM down for minutes (SPEC §9 failures): pulls and master-data pushes are tried again
with growing waits, end as dead letters after the last attempt, and once the CLM is back an
admin's retry of the dead letters brings everything over, once.

The minutes are compressed: with the defaults (CONNECTOR_BACKOFF_BASE 2 s, 8 attempts) the
waits before the last attempt add up to 2–4 minutes; ``PROCESS_SETTINGS`` (base 0.5 s,
5 attempts) makes that 4–7.5 seconds."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.utils import timezone

from clmsite.testing import wait_for
from connectors.deadletters import dead_letter_retry
from connectors.models import DeadLetter, OutboxMessage, SyncRun
from connectors.pull import pull_start
from contracts.choices import ContractStatus, DeadLetterKind, SyncRunStatus, WorkStatus
from contracts.models import Contract
from contracts.services import Actor
from contracts.tests import factories

from .conftest import PROCESS_SETTINGS, nda
from .support import Sweeper

pytestmark = pytest.mark.faults

CONTRACTS = 300
MAX_ATTEMPTS = int(PROCESS_SETTINGS["CONNECTOR_MAX_ATTEMPTS"])
BACKOFF_BASE = float(PROCESS_SETTINGS["CONNECTOR_BACKOFF_BASE"])
VENDORS = 10
RENAMED = 4  # their second change waits behind the first, which is dead
LOOKING_LAG = 0.3  # how late the test may see a failure, polling a busy machine


class AttemptClock:
    """An item's retries, read by polling its attempts counter and next attempt time: when each
    attempt was seen to have failed, and the wait the worker then chose (its next attempt time
    less that moment). A failure counts only when the count before it was seen too, so that
    none is read late."""

    def __init__(self):
        self.last_seen: int | None = None
        self.failed_at: dict[int, float] = {}
        self.chosen_waits: dict[int, float] = {}

    def see(self, item: SyncRun | OutboxMessage) -> None:
        if self.last_seen is not None and item.attempts == self.last_seen + 1:
            self.failed_at[item.attempts] = time.monotonic()
            if item.attempts < MAX_ATTEMPTS:  # after the last one, there is no next attempt
                self.chosen_waits[item.attempts] = (item.next_attempt_at - timezone.now()).total_seconds()
        self.last_seen = item.attempts

    def waits(self) -> dict[int, float]:
        """The time from each failed attempt to the next one's failure, by attempt number."""
        return {n: self.failed_at[n + 1] - at for n, at in self.failed_at.items() if n + 1 in self.failed_at}


def _seconds(by_attempt: dict[int, float]) -> str:
    return ", ".join(f"{wait:.2f} s after attempt {n}" for n, wait in by_attempt.items())


def test_a_clm_down_for_minutes_ends_in_dead_letters_that_a_retry_turns_into_everything_delivered(
    worker, connection, clm, usmf, django_user_model
):
    for number in range(1, CONTRACTS + 1):
        clm.put(nda(number, status=ContractStatus.EXECUTED))
    connection.settings = {"page_size": 50}
    connection.push_master_data = True
    connection.save()
    clm.stop()

    with transaction.atomic():  # the worker starts trying when the test starts watching
        vendors = [factories.VendorFactory(legal_entity=usmf, name=f"Vendor {n}") for n in range(VENDORS)]
        for vendor in vendors[:RENAMED]:
            vendor.name = f"{vendor.name} Ltd"
            vendor.save()
        run = pull_start(connection_id=connection.pk, actor=Actor.system("scheduler"))
    messages = list(OutboxMessage.objects.order_by("pk"))
    records = {message.record_key for message in messages}
    assert len(messages) == len(records) + RENAMED

    sweep, clocks = Sweeper(every=1.0), {"pull": AttemptClock(), "push": AttemptClock()}
    first_message = messages[0]

    def everything_dead() -> bool:
        sweep()
        clocks["pull"].see(SyncRun.objects.get(pk=run.pk))
        clocks["push"].see(OutboxMessage.objects.get(pk=first_message.pk))
        return DeadLetter.objects.count() == 1 + len(records)

    assert wait_for(everything_dead, timeout=60, interval=0.05), worker.log_tail()
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED and run.attempts == MAX_ATTEMPTS
    assert "could not be reached" in run.message, run.message
    assert Contract.objects.count() == 0
    assert OutboxMessage.objects.filter(status=WorkStatus.DEAD).count() == len(records)
    assert OutboxMessage.objects.filter(status=WorkStatus.PENDING).count() == RENAMED  # held back, in order
    assert sorted(DeadLetter.objects.values_list("kind", flat=True)) == sorted(
        [DeadLetterKind.SYNC_RUN] + [DeadLetterKind.OUTBOX_MESSAGE] * len(records)
    )
    # The wait after attempt n lies between half and all of its ceiling, base × 2^(n-1) (full
    # jitter), so the waits grow: two attempts apart, one is always longer than the other.
    for name, clock in clocks.items():
        chosen, waits = clock.chosen_waits, clock.waits()
        print(f"{name}: chosen waits {_seconds(chosen)}; seen from failure to failure {_seconds(waits)}")
        assert len(chosen) >= 3, chosen  # the first attempt may fail before the test looks
        for n, wait in chosen.items():
            ceiling = BACKOFF_BASE * 2 ** (n - 1)
            assert ceiling / 2 - LOOKING_LAG <= wait <= ceiling, chosen
        assert all(wait > chosen[n - 2] for n, wait in chosen.items() if n - 2 in chosen), chosen
        assert waits[max(waits)] > waits[min(waits)], waits

    clm.start()
    admin = Actor.for_user(django_user_model.objects.create_superuser("admin", password="admin-password-1"))
    for letter in DeadLetter.objects.all():
        dead_letter_retry(dead_letter=letter, actor=admin)

    def everything_through() -> bool:
        sweep()
        return (
            not SyncRun.objects.get(pk=run.pk).is_active
            and not OutboxMessage.objects.exclude(status=WorkStatus.DONE).exists()
        )

    assert wait_for(everything_through, timeout=60, interval=0.1), worker.log_tail()
    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert (run.created, run.processed, run.failed) == (CONTRACTS, CONTRACTS, 0)
    assert Contract.objects.count() == CONTRACTS
    assert not DeadLetter.objects.exists()
    keys = [push["idempotency_key"] for push in clm.pushes]
    assert sorted(keys) == sorted(f"clmsite-outbox-{message.pk}" for message in messages)  # each once
    for vendor in vendors[:RENAMED]:
        pushes = [push["body"] for push in clm.pushes if push["body"]["entity"] == "vendors"]
        names = [push["record"]["name"] for push in pushes if push["key"] == vendor.account_number]
        assert names == [vendor.name.removesuffix(" Ltd"), vendor.name]
    connection.refresh_from_db()
    assert connection.sync_watermark == str(clm.sequence)
