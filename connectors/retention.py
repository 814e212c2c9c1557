"""How long finished work is kept: the nightly purge of rows nothing reads any more.

Applied inbound events, delivered outbox messages and expired idempotency records would
otherwise grow without end (a busy CLM sends hundreds of thousands of events a month).
Only finished rows go: pending work, dead letters and discarded items stay for admins.

An applied event's id is what makes a repeat change nothing (SPEC §9), so events are kept
far longer than any signed repeat can arrive: a Standard Webhooks signature older than
``WEBHOOK_TIMESTAMP_TOLERANCE`` seconds is refused anyway, and the connectors whose events
carry no timestamp (DocuSign Connect, generic REST) only re-read the contract when an event
repeats, which changes nothing.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import models
from django.utils import timezone

from contracts.api.idempotency import idempotency_records_purge
from contracts.choices import WorkStatus

from .models import InboundEvent, OutboxMessage

logger = logging.getLogger(__name__)

# Rows per DELETE: short statements, so the purge never holds long locks on busy tables.
CHUNK = 5_000


def expired_records_purge(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Deletes finished work older than its retention period; returns how many rows of each kind."""
    now = now or timezone.now()
    applied_before = now - datetime.timedelta(days=settings.INBOUND_EVENT_RETENTION_DAYS)
    delivered_before = now - datetime.timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    purged = {
        "inbound events": _purge(InboundEvent.objects.filter(status=WorkStatus.DONE, done_at__lt=applied_before)),
        "outbox messages": _purge(OutboxMessage.objects.filter(status=WorkStatus.DONE, done_at__lt=delivered_before)),
        "idempotency records": idempotency_records_purge(now=now),
    }
    logger.info("Purged finished work: %s", ", ".join(f"{count} {kind}" for kind, count in purged.items()))
    return purged


def _purge(queryset: models.QuerySet) -> int:
    deleted = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return deleted
        count, _ = queryset.model.objects.filter(pk__in=ids).delete()
        deleted += count
