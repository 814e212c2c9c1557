"""Sync runs: the record of a pull, full resync or import, and applying records into it.

Every path by which a contract arrives from a CLM applies it through the same rules: a
webhook's with ``contract_record_apply``, a pull's page as one batch with ``RunTally.apply``
(``contracts_upsert``). So the same record arriving twice is applied once: the second time
it is found unchanged, or older than what is stored (stale).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contracts.choices import SyncRunStatus
from contracts.services import Actor, ContractUpsertResult, ValidationFailed, contract_upsert, contracts_upsert

from .base import ContractRecord
from .models import Connection, SyncError, SyncRun

COUNTED_OUTCOMES = ("created", "updated", "unchanged", "stale")
# Stored with an error so an admin sees the record without the run growing without bound.
RECORD_EXCERPT_CHARS = 4000


def contract_record_apply(
    *, connection: Connection | None, record: ContractRecord, actor: Actor
) -> ContractUpsertResult:
    """Applies one contract from a CLM through the domain services and its flow.

    Runs in a savepoint, so a record that fails leaves nothing behind and the caller's
    transaction goes on. Raises ``ValidationFailed`` with every problem found.
    """
    with transaction.atomic():
        return contract_upsert(
            legal_entity=record.legal_entity,
            contract_id=record.contract_id,
            data=record.data,
            actor=actor,
            connection=connection,
        )


class RunTally:
    """Counts outcomes and collects errors of a batch of records, then adds them to a run
    in one statement, in the caller's transaction (so counts and records commit together)."""

    def __init__(self):
        self.counts = dict.fromkeys((*COUNTED_OUTCOMES, "failed"), 0)
        self.errors: list[SyncError] = []

    @property
    def processed(self) -> int:
        return sum(self.counts.values())

    def apply(self, *, connection: Connection | None, records: list[ContractRecord], actor: Actor) -> None:
        """Applies the records as one batch and counts each one's outcome.

        A database error (a concurrent write of the same key) is raised, not counted, so the
        caller's transaction rolls back and the records are applied again later.
        """
        results = contracts_upsert(records=records, actor=actor, connection=connection, raise_database_errors=True)
        for record, result in zip(records, results, strict=True):
            if isinstance(result, ValidationFailed):
                raw = {"legal_entity": record.legal_entity, "contract_id": record.contract_id, **record.data}
                self.fail(record.key, str(result), raw)
            else:
                self.counts[result.outcome] += 1

    def fail(self, record_key: str, message: str, record: Any = None) -> None:
        self.counts["failed"] += 1
        self.errors.append(SyncError(record_key=record_key[:200], message=message, record=_excerpt(record)))

    def add_to(self, run: SyncRun, **extra) -> None:
        for error in self.errors:
            error.run = run
        SyncError.objects.bulk_create(self.errors)
        SyncRun.objects.filter(pk=run.pk).update(
            processed=F("processed") + self.processed,
            heartbeat_at=timezone.now(),
            **{name: F(name) + count for name, count in self.counts.items()},
            **extra,
        )


def sync_run_finish(*, run: SyncRun, message: str = "", failed: bool = False) -> SyncRun:
    """Closes a run: failed when it could not go on, else succeeded or completed with errors."""
    run.refresh_from_db()
    if failed:
        run.status = SyncRunStatus.FAILED
    elif run.failed:
        run.status = SyncRunStatus.COMPLETED_WITH_ERRORS
    else:
        run.status = SyncRunStatus.SUCCEEDED
    run.message = message or run.message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return run


def _excerpt(record: Any) -> Any:
    """The record as JSON, or the start of its JSON text when it is too long to keep whole."""
    if record is None:
        return None
    encoded = json.dumps(record, default=str)
    if len(encoded) <= RECORD_EXCERPT_CHARS:
        return json.loads(encoded)
    return encoded[:RECORD_EXCERPT_CHARS]
