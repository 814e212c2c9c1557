"""The nightly purge: finished work past its retention goes, everything an admin or a repeat
still needs stays."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connectors.models import InboundEvent, OutboxMessage
from connectors.tasks import purge_task
from contracts.choices import ChangeOperation, WorkStatus
from contracts.models import ChangeLog, IdempotencyRecord
from contracts.tests import factories

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


@pytest.fixture
def clm(db):
    return factories.ConnectionFactory(name="Purge CLM")


def event(clm, name: str, status: str, done_days_ago: float | None) -> InboundEvent:
    done_at = None if done_days_ago is None else days_ago(done_days_ago)
    return InboundEvent.objects.create(
        connection=clm, event_id=name, payload={}, status=status, done_at=done_at, received_at=days_ago(90)
    )


def message(clm, name: str, status: str, done_days_ago: float | None) -> OutboxMessage:
    change = ChangeLog.objects.create(entity="vendors", natural_key=name, object_pk=1, operation=ChangeOperation.UPSERT)
    done_at = None if done_days_ago is None else days_ago(done_days_ago)
    return OutboxMessage.objects.create(
        connection=clm,
        change=change,
        entity="vendors",
        natural_key=name,
        operation="update",
        status=status,
        done_at=done_at,
    )


def test_finished_work_past_its_retention_is_purged_and_the_rest_kept(clm, settings):
    settings.INBOUND_EVENT_RETENTION_DAYS = 30
    settings.OUTBOX_RETENTION_DAYS = 7
    event(clm, "applied-long-ago", WorkStatus.DONE, 31)
    event(clm, "applied-lately", WorkStatus.DONE, 29)
    event(clm, "still-pending", WorkStatus.PENDING, None)
    event(clm, "dead-letter", WorkStatus.DEAD, 60)
    message(clm, "delivered-long-ago", WorkStatus.DONE, 8)
    message(clm, "delivered-lately", WorkStatus.DONE, 6)
    message(clm, "discarded", WorkStatus.DISCARDED, 60)

    purged = purge_task()

    assert purged == {"inbound events": 1, "outbox messages": 1, "idempotency records": 0}
    assert set(InboundEvent.objects.values_list("event_id", flat=True)) == {
        "applied-lately",
        "still-pending",
        "dead-letter",
    }
    assert set(OutboxMessage.objects.values_list("natural_key", flat=True)) == {"delivered-lately", "discarded"}
    assert ChangeLog.objects.count() == 3  # the CLM's change feed is not the outbox's to purge


def test_the_purge_deletes_in_chunks_and_takes_expired_idempotency_records(clm, monkeypatch, django_user_model):
    monkeypatch.setattr("connectors.retention.CHUNK", 2)
    for number in range(5):
        event(clm, f"old-{number}", WorkStatus.DONE, 40)
    user = django_user_model.objects.create_user("buyer")
    record = IdempotencyRecord.objects.create(
        user=user, key="k", method="POST", path="/api/v1/x/", request_hash="0" * 64, response_status=201
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=NOW - datetime.timedelta(hours=25))

    assert purge_task() == {"inbound events": 5, "outbox messages": 0, "idempotency records": 1}
    assert not InboundEvent.objects.exists()


def test_the_purge_runs_nightly_and_admins_can_move_it(db):
    schedule = PeriodicTask.objects.get(task="connectors.tasks.purge_task")

    assert (schedule.crontab.hour, schedule.crontab.minute, schedule.enabled) == ("3", "30", True)
