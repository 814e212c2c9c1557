"""The dead-letter list (SPEC §7, §9): work that ran out of attempts, for an admin to retry or discard.

Whatever gives up on an inbound event, an outbox message or a sync run records it with
``dead_letter_add``; the item itself stays where it is (status dead, or a failed run), so
retrying puts that same item back to work and discarding closes it for good.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from contracts.choices import AuditAction, DeadLetterKind, SyncRunKind, SyncRunStatus, WorkStatus
from contracts.services import Actor, Problem, ValidationFailed, audit

from .models import Connection, DeadLetter, InboundEvent, OutboxMessage, SyncRun
from .tasks import apply_import_task, apply_inbound_event_task, deliver_outbox_task, pull_connection_task

logger = logging.getLogger(__name__)

ITEM_MODELS: dict[str, type[models.Model]] = {
    DeadLetterKind.INBOUND_EVENT: InboundEvent,
    DeadLetterKind.OUTBOX_MESSAGE: OutboxMessage,
    DeadLetterKind.SYNC_RUN: SyncRun,
}
PULL_KINDS = (SyncRunKind.PULL, SyncRunKind.FULL_RESYNC)
SUMMARY_LENGTH = DeadLetter._meta.get_field("summary").max_length


def dead_letter_add(
    *, kind: str, item: models.Model, connection: Connection | None, summary: str, error: str, attempts: int
) -> DeadLetter:
    """Lists ``item`` as dead; adding the same item again only refreshes its entry."""
    letter, _created = DeadLetter.objects.update_or_create(
        kind=kind,
        object_id=item.pk,
        defaults={"connection": connection, "summary": summary[:SUMMARY_LENGTH], "error": error, "attempts": attempts},
    )
    return letter


def dead_letter_retry(*, dead_letter: DeadLetter, actor: Actor) -> models.Model:
    """Puts the item back to work, due now with its attempts reset (a run resumes at its
    stored position), removes the entry and nudges the worker once this commits."""
    with transaction.atomic():
        letter = _locked_letter(dead_letter)
        item = _locked_item(letter)
        if item is None:
            raise _problem(f"The {letter.get_kind_display().lower()} no longer exists; discard this entry.")
        if not _is_dead(item):
            raise _problem(f"{_describe(item)} is no longer dead (it is {_status_label(item)}); discard this entry.")
        previous_status = item.status
        if isinstance(item, SyncRun):
            _run_resume(item, actor)
        else:
            item.status = WorkStatus.PENDING
            item.attempts = 0
            item.next_attempt_at = timezone.now()
            item.done_at = None
            item.save(update_fields=["status", "attempts", "next_attempt_at", "done_at"])
        _audit_settled(actor, AuditAction.RETRIED, item, previous_status)
        letter.delete()
        transaction.on_commit(lambda: _nudge(item))
    logger.info("%s retried by %s", _describe(item), actor.label)
    return item


def dead_letter_discard(*, dead_letter: DeadLetter, actor: Actor) -> None:
    """Gives the item up for good (a run is cancelled) and removes the entry; an outbox
    message no longer holds back the later changes of its record."""
    with transaction.atomic():
        letter = _locked_letter(dead_letter)
        item = _locked_item(letter)
        if item is not None and _is_dead(item):
            previous_status = item.status
            if isinstance(item, SyncRun):
                item.status = SyncRunStatus.CANCELLED
                item.message = f"{item.message}\nDiscarded by {actor.label}.".strip()
                item.save(update_fields=["status", "message"])
            else:
                item.status = WorkStatus.DISCARDED
                item.save(update_fields=["status"])
            if isinstance(item, OutboxMessage):
                transaction.on_commit(lambda: _nudge(item))  # the changes waiting behind it go now
            _audit_settled(actor, AuditAction.DISCARDED, item, previous_status)
        else:  # nothing left to settle: the entry alone goes
            audit.audit_record(actor=actor, action=AuditAction.DISCARDED, instance=letter, object_repr=letter.summary)
        letter.delete()
    logger.info("Dead letter %s (%s) discarded by %s", letter.summary, letter.kind, actor.label)


def _audit_settled(actor: Actor, action: str, item: models.Model, previous_status: str) -> None:
    changes = {"status": [previous_status, item.status]} if previous_status != item.status else {}
    audit.audit_record(actor=actor, action=action, instance=item, changes=changes, object_repr=_describe(item))


def _locked_letter(dead_letter: DeadLetter) -> DeadLetter:
    letter = DeadLetter.objects.select_for_update().filter(pk=dead_letter.pk).first()
    if letter is None:
        raise _problem(f'"{dead_letter.summary}" was already retried or discarded.')
    return letter


def _locked_item(letter: DeadLetter) -> models.Model | None:
    return ITEM_MODELS[letter.kind].objects.select_for_update().filter(pk=letter.object_id).first()


def _is_dead(item: models.Model) -> bool:
    if isinstance(item, SyncRun):
        return item.status == SyncRunStatus.FAILED
    return item.status == WorkStatus.DEAD


def _run_resume(run: SyncRun, actor: Actor) -> None:
    """Back to work where it stopped; a pull only if no other pull of its connection is active."""
    if run.kind in PULL_KINDS:
        pulls = SyncRun.objects.filter(connection_id=run.connection_id, kind__in=PULL_KINDS)
        active = pulls.filter(status__in=SyncRunStatus.active()).exclude(pk=run.pk).first()
        if active is not None:
            raise _active_pull_conflict(active)
    run.status = SyncRunStatus.RUNNING if run.started_at else SyncRunStatus.QUEUED
    run.attempts = 0
    run.next_attempt_at = run.finished_at = None
    run.heartbeat_at = timezone.now()
    run.message = f"Retried by {actor.label}."
    try:
        with transaction.atomic():  # the constraint settles a race with a pull started meanwhile
            run.save(update_fields=["status", "attempts", "next_attempt_at", "finished_at", "heartbeat_at", "message"])
    except IntegrityError:
        raise _active_pull_conflict(None) from None


def _active_pull_conflict(active: SyncRun | None) -> ValidationFailed:
    which = f"{active} is" if active is not None else "Another pull is"
    return _problem(f"{which} already running for this connection; retry once it has finished.", code="conflict")


def _nudge(item: models.Model) -> None:
    if isinstance(item, InboundEvent):
        apply_inbound_event_task.delay(item.pk)
    elif isinstance(item, OutboxMessage):
        deliver_outbox_task.delay(item.connection_id)
    elif item.kind == SyncRunKind.IMPORT:
        apply_import_task.delay(item.pk)
    else:
        pull_connection_task.delay(run_id=item.pk)


def _describe(item: models.Model) -> str:
    return f"{item._meta.verbose_name.capitalize()} {item}"


def _status_label(item: models.Model) -> str:
    return item.get_status_display().lower()


def _problem(message: str, *, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed([Problem("dead_letter", message, code)])
