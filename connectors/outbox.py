"""The outbox of master-data changes (SPEC §9 outbound): written with the change, delivered by workers.

Every change-log row (``contracts.signals``) gets one ``OutboxMessage`` per enabled
connection that takes master data, in the same transaction, so a change and its messages
commit or roll back together. Messages carry the record as the master-data API shows it.

Delivery keeps the order per record (entity, legal entity, natural key): a message waits
while an earlier one of its record is pending or dead, and other records go on. A worker
claims one message at a time by moving its ``next_attempt_at`` past any task's time limit
in a conditional update, so workers never push the same message at once; a worker that
dies leaves its claim to expire, and the message is delivered again (at least once).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from contracts.choices import ChangeOperation, DeadLetterKind, WorkStatus
from contracts.models import TRACKED_ENTITIES, ChangeLog

from . import retry
from .base import Connector, PermanentError, TransientError
from .deadletters import dead_letter_add
from .models import Connection, OutboxMessage
from .registry import connector_for
from .tasks import deliver_outbox_task

logger = logging.getLogger(__name__)

TRACKED_BY_NAME = {entity.name: entity for entity in TRACKED_ENTITIES}
# One call of outbox_deliver stops after this many messages or seconds and nudges itself,
# so one busy connection never holds a worker for long.
DELIVERY_MAX_MESSAGES = 500
DELIVERY_MAX_SECONDS = 60
DELIVERY_BATCH = 100
# Longer than any task may run, so a claim outlives the worker holding it.
CLAIM_SECONDS = settings.CELERY_TASK_TIME_LIMIT + 60


# --- Writing ------------------------------------------------------------------------------


def outbox_write(*, change: ChangeLog, record: models.Model | None) -> list[OutboxMessage]:
    """Queues ``change`` for every connection that takes master data; ``record`` is the
    record as saved (None for a deletion). Call it in the transaction of the change."""
    # Read per change, not cached: a connection switched on must get the very next change.
    connection_ids = list(Connection.objects.filter(enabled=True, push_master_data=True).values_list("pk", flat=True))
    if not connection_ids:
        return []
    payload = _payload(change, record)
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            connection_id=connection_id,
            change=change,
            entity=change.entity,
            legal_entity_code=payload.get("legal_entity", ""),
            natural_key=change.natural_key,
            operation=change.operation,
            payload=payload,
        )
        for connection_id in connection_ids
    )
    _nudge_once_on_commit(connection_ids)
    return messages


def _payload(change: ChangeLog, record: models.Model | None) -> dict:
    """The record as ``/api/v1/master-data/<entity>/`` shows it, or a deletion: just its key."""
    # Imported here: this module loads with the app (contracts.signals), the API's views should not.
    from contracts.api.masterdata import VIEWS

    entity = TRACKED_BY_NAME[change.entity]
    if change.operation == ChangeOperation.UPSERT and record is not None:
        data = VIEWS[entity.name].record_serializer(record).data
        return json.loads(json.dumps(data, cls=JSONEncoder))
    payload: dict = {"deleted": True}
    if entity.per_legal_entity:
        payload["legal_entity"] = change.legal_entity.code
    payload[entity.key] = change.natural_key
    return payload


class _DeliveryNudge:
    """The on-commit callback that nudges one connection's delivery, recognisable as such."""

    def __init__(self, connection_id: int):
        self.connection_id = connection_id

    def __call__(self) -> None:
        deliver_outbox_task.delay(self.connection_id)


def _nudge_once_on_commit(connection_ids: list[int]) -> None:
    """One nudge per connection and transaction, however many changes it holds.

    Django keeps the pending callbacks in ``run_on_commit`` as (savepoint ids, callback,
    robust) and drops those of a rolled-back savepoint, so looking there (rather than in a
    flag of our own) still nudges when an earlier change was rolled back to a savepoint.
    """
    db = transaction.get_connection()
    waiting = {callback.connection_id for _, callback, _ in db.run_on_commit if isinstance(callback, _DeliveryNudge)}
    for connection_id in dict.fromkeys(connection_ids):
        if connection_id not in waiting:
            transaction.on_commit(_DeliveryNudge(connection_id))


# --- Delivering ---------------------------------------------------------------------------


def outbox_deliver(*, connection_id: int) -> int:
    """Pushes the connection's due messages in id order, the first open one of each record
    at a time; returns how many were attempted. Safe to run in several workers at once."""
    connection = Connection.objects.filter(pk=connection_id, enabled=True, push_master_data=True).first()
    if connection is None:
        return 0  # switched off: the messages wait, and the sweeper nudges once it is back on
    try:
        connector = connector_for(connection)
    except PermanentError as error:
        logger.error("Outbox of %s not delivered: %s", connection, error)  # messages wait for the admin's fix
        return 0
    deadline = time.monotonic() + DELIVERY_MAX_SECONDS
    attempted, earliest_retry = 0, None
    while attempted < DELIVERY_MAX_MESSAGES and time.monotonic() < deadline:
        batch = list(_due_heads(connection_id=connection_id)[: min(DELIVERY_BATCH, DELIVERY_MAX_MESSAGES - attempted)])
        if not batch:
            break
        for message in batch:
            if time.monotonic() >= deadline or not _claim(message):
                continue
            attempted += 1
            retry_at = _deliver_one(connector, message)
            if retry_at is not None and (earliest_retry is None or retry_at < earliest_retry):
                earliest_retry = retry_at
    if earliest_retry is not None:
        countdown = max((earliest_retry - timezone.now()).total_seconds(), 0)
        transaction.on_commit(lambda: deliver_outbox_task.apply_async((connection_id,), countdown=countdown))
    if _due_heads(connection_id=connection_id).exists():
        transaction.on_commit(lambda: deliver_outbox_task.delay(connection_id))  # stopped at a bound
    return attempted


def outbox_redrive() -> int:
    """For the sweeper: one nudge per connection with a message due and free to go."""
    connection_ids = set(
        _due_heads()
        .filter(connection__enabled=True, connection__push_master_data=True)
        .order_by()
        .values_list("connection_id", flat=True)
        .distinct()
    )
    for connection_id in connection_ids:
        deliver_outbox_task.delay(connection_id)
    return len(connection_ids)


def _due_heads(*, connection_id: int | None = None) -> models.QuerySet[OutboxMessage]:
    """Pending messages that are due and have no earlier message of their record still open."""
    earlier_open = OutboxMessage.objects.filter(
        connection=OuterRef("connection"),
        entity=OuterRef("entity"),
        legal_entity_code=OuterRef("legal_entity_code"),
        natural_key=OuterRef("natural_key"),
        id__lt=OuterRef("id"),
        status__in=(WorkStatus.PENDING, WorkStatus.DEAD),
    )
    due = OutboxMessage.objects.filter(status=WorkStatus.PENDING, next_attempt_at__lte=timezone.now())
    if connection_id is not None:
        due = due.filter(connection_id=connection_id)
    return due.filter(~Exists(earlier_open)).order_by("id")


def _claim(message: OutboxMessage) -> bool:
    """Takes the message for this worker, unless another worker (or an admin) got there first."""
    now = timezone.now()
    return bool(
        OutboxMessage.objects.filter(pk=message.pk, status=WorkStatus.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
        )
    )


def _deliver_one(connector: Connector, message: OutboxMessage) -> datetime | None:
    """Pushes one claimed message and records the outcome; returns when to try it again, if ever."""
    try:
        connector.push(message)
    except TransientError as error:
        return _failed(message, error, retry_after=error.retry_after)
    except PermanentError as error:
        return _failed(message, error, final=True)
    except Exception as error:  # a connector bug: retried like a timeout, so it ends as a dead letter, not a loop
        logger.exception("Connector %s failed to push outbox message %s", connector.name, message.pk)
        return _failed(message, error)
    OutboxMessage.objects.filter(pk=message.pk, status=WorkStatus.PENDING).update(
        status=WorkStatus.DONE, done_at=timezone.now(), last_error=""
    )
    return None


def _failed(
    message: OutboxMessage, error: Exception, *, retry_after: float | None = None, final: bool = False
) -> datetime | None:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().select_related("connection").get(pk=message.pk)
        if message.status != WorkStatus.PENDING:
            return None  # discarded by an admin meanwhile
        message.attempts += 1
        message.last_error = f"{type(error).__name__}: {error}"
        if final or message.attempts >= retry.max_attempts():
            message.status = WorkStatus.DEAD
            message.save(update_fields=["attempts", "last_error", "status"])
            dead_letter_add(
                kind=DeadLetterKind.OUTBOX_MESSAGE,
                item=message,
                connection=message.connection,
                summary=f"Push {message.operation} {message.record_key} to {message.connection}",
                error=message.last_error,
                attempts=message.attempts,
            )
            return None
        message.next_attempt_at = timezone.now() + retry.backoff(message.attempts, retry_after=retry_after)
        message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        return message.next_attempt_at
