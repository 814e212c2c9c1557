"""Pulling contracts from a CLM (SPEC §9): incremental pulls and full resyncs, page by page.

The run row is the record of where a pull stands. A worker asks the CLM for the page at the
run's continuation token outside any transaction, then locks the run and applies the page
only if the run still waits for that very token, storing the next token, counts and errors
in the same transaction. So a duplicate nudge, a redelivered task or a worker killed
mid-page neither applies a page twice nor skips one, and the connection's watermark moves
only when the last page is in.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from contracts.choices import DeadLetterKind, SyncRunKind, SyncRunStatus
from contracts.services import Actor, Problem, ValidationFailed, audit

from .base import ConnectorError, PullPage, TransientError
from .deadletters import dead_letter_add
from .models import Connection, SyncRun
from .registry import connector_for
from .retry import backoff, max_attempts
from .runs import COUNTED_OUTCOMES, RunTally, sync_run_finish
from .tasks import pull_connection_task

logger = logging.getLogger(__name__)

PULL_KINDS = (SyncRunKind.PULL, SyncRunKind.FULL_RESYNC)
# A long run hands itself on to a fresh task well before Celery's time limit would stop it.
TASK_SLICE_SECONDS = 60


def pull_start(*, connection_id: int, full: bool = False, actor: Actor, enqueue: bool = True) -> SyncRun | None:
    """Queues a pull (or a full resync) of an enabled connection and returns its run.

    A connection has one pull at a time: while one is queued or running, that run is
    returned instead. An unknown or disabled connection gets no run (``None``): its
    schedule may still fire after it was switched off, and that is no error.
    """
    with transaction.atomic():
        # Locking the connection makes two simultaneous starts agree on one run.
        connection = Connection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None or not connection.enabled:
            logger.info("No pull for connection %s: it is %s.", connection_id, "disabled" if connection else "unknown")
            return None
        active = _active_pull(connection)
        if active is not None:
            return active
        run = SyncRun.objects.create(
            connection=connection,
            kind=SyncRunKind.FULL_RESYNC if full else SyncRunKind.PULL,
            requested_by=actor.label[:150],
            watermark_from="" if full else connection.sync_watermark,
        )
        if enqueue:
            _nudge_on_commit(run.pk)
    return run


def pull_run_advance(*, run_id: int, slice_seconds: float | None = TASK_SLICE_SECONDS) -> None:
    """Applies the run's pages one at a time until it ends, has to wait, or another worker
    has it; after ``slice_seconds`` it hands the rest on to a new task (``None``: never)."""
    started, connector = time.monotonic(), None
    while True:
        run = _run_claim(run_id)
        if run is None:
            return
        token = run.next_token
        try:
            connector = connector or connector_for(run.connection)  # one HTTP session for the run's pages
            page = connector.pull(since=run.watermark_from, token=token, full=run.kind == SyncRunKind.FULL_RESYNC)
        except ConnectorError as error:
            _page_failed(run_id=run_id, token=token, error=error)
            return
        if not _page_apply(run_id=run_id, token=token, page=page):
            return
        if slice_seconds is not None and time.monotonic() - started > slice_seconds:
            pull_connection_task.delay(run_id=run_id)
            return


def pull_run_to_end(*, run_id: int, poll_seconds: float = 1.0) -> SyncRun:
    """Runs a pull in this process until it ends, waiting out its retries (``sync_now --wait``)."""
    while True:
        pull_run_advance(run_id=run_id, slice_seconds=None)
        run = SyncRun.objects.get(pk=run_id)
        if not run.is_active:
            return run
        # Waiting for a retry, or another worker has the run: look again later.
        wait = (run.next_attempt_at - timezone.now()).total_seconds() if run.next_attempt_at else poll_seconds
        time.sleep(min(max(wait, 0.05), settings.CONNECTOR_RETRY_AFTER_CAP))


def pull_runs_redrive() -> int:
    """Nudges active pulls that no worker is moving: due for a retry, or silent too long."""
    now = timezone.now()
    stalled_before = now - timedelta(seconds=settings.SYNC_RUN_STALL_SECONDS)
    due = (
        SyncRun.objects.filter(kind__in=PULL_KINDS, status__in=SyncRunStatus.active())
        .annotate(last_sign_of_life=Coalesce("heartbeat_at", "created_at"))
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, last_sign_of_life__lt=stalled_before))
    )
    run_ids = list(due.values_list("pk", flat=True))
    for run_id in run_ids:
        pull_connection_task.delay(run_id=run_id)
    return len(run_ids)


def pull_schedule_set(*, connection: Connection, every_minutes: int | None, actor: Actor) -> PeriodicTask | None:
    """Pulls ``connection`` every ``every_minutes`` minutes; ``None`` or 0 switches its schedule
    off (kept, disabled, so an admin sees when it last ran)."""
    if every_minutes is not None and (not isinstance(every_minutes, int) or every_minutes < 0):
        raise ValidationFailed([Problem("every_minutes", "must be a whole number of minutes, or 0 for off.")])
    with transaction.atomic():
        schedule = connection.poll_schedule
        if not every_minutes:
            if schedule is not None and schedule.enabled:
                schedule.enabled = False
                schedule.save()
            return schedule
        if schedule is None:
            schedule = PeriodicTask(task=pull_connection_task.name)
        schedule.name = f"Pull from {connection.name} (connection #{connection.pk})"[:200]
        schedule.interval, _ = IntervalSchedule.objects.get_or_create(
            every=every_minutes, period=IntervalSchedule.MINUTES
        )
        schedule.crontab = schedule.solar = schedule.clocked = None
        schedule.kwargs = json.dumps({"connection_id": connection.pk})
        schedule.enabled = True
        schedule.description = f"Incremental pull every {every_minutes} min; set by {actor.label}."
        schedule.save()
        if connection.poll_schedule_id != schedule.pk:
            Connection.objects.filter(pk=connection.pk).update(poll_schedule=schedule)
            connection.poll_schedule = schedule
    return schedule


def pull_schedule_minutes(connection: Connection) -> int | None:
    """The connection's pull interval in whole minutes, when it has an enabled one."""
    schedule = connection.poll_schedule
    if schedule is None or not schedule.enabled or schedule.interval is None:
        return None
    interval = schedule.interval
    seconds = timedelta(**{interval.period: interval.every}).total_seconds()
    return int(seconds // 60) if seconds % 60 == 0 else None


def pull_run_describe(run: SyncRun) -> str:
    """One line for people: the run, where it stands and its counts."""
    counts = ", ".join(f"{getattr(run, name)} {name}" for name in (*COUNTED_OUTCOMES, "failed"))
    text = f"{run} of {run.connection}: {run.get_status_display().lower()}; {run.processed} records"
    return f"{text} in {run.pages} pages ({counts}).{f' {run.message}' if run.message else ''}"


def _active_pull(connection: Connection) -> SyncRun | None:
    return SyncRun.objects.filter(connection=connection, kind__in=PULL_KINDS, status__in=SyncRunStatus.active()).first()


def _run_locked(run_id: int) -> SyncRun | None:
    """The active pull, locked; ``None`` when it ended or another worker holds it."""
    return (
        SyncRun.objects.select_for_update(skip_locked=True)
        .filter(pk=run_id, kind__in=PULL_KINDS, status__in=SyncRunStatus.active())
        .first()
    )


def _run_claim(run_id: int) -> SyncRun | None:
    """The run, marked running, when it is due for its next page; else ``None``."""
    with transaction.atomic():
        run = _run_locked(run_id)
        now = timezone.now()
        if run is None or (run.next_attempt_at is not None and run.next_attempt_at > now):
            return None
        if not run.connection.enabled:
            run.message = f'Cancelled: connection "{run.connection}" was disabled.'
            run.status, run.finished_at = SyncRunStatus.CANCELLED, now
            run.save(update_fields=["status", "finished_at", "message"])
            return None
        run.status = SyncRunStatus.RUNNING
        run.started_at = run.started_at or now
        # A sweep sees a fresh heartbeat and no retry time: this worker has the run now.
        run.heartbeat_at, run.next_attempt_at = now, None
        run.save(update_fields=["status", "started_at", "heartbeat_at", "next_attempt_at"])
    return run


def _page_apply(*, run_id: int, token: str, page: PullPage) -> bool:
    """Applies one page fetched at ``token``; True when the run goes on to a next page."""
    with transaction.atomic():
        run = _run_locked(run_id)
        if run is None or run.next_token != token:
            return False  # another worker applied this page already; ours is a duplicate
        seen_tokens = [*run.seen_tokens, token] if token else run.seen_tokens
        if page.next_token in seen_tokens:
            _run_fail(run, f'The CLM repeated continuation token "{page.next_token}"; stopped so as not to loop.')
            return False
        connection = run.connection
        actor = Actor.for_connector(connection.name)
        tally = RunTally()
        for record_key, reason, raw in page.problems:
            tally.fail(record_key, reason, raw)
        with audit.acting_as(actor):
            tally.apply(connection=connection, records=list(page.records), actor=actor)
        watermark = page.watermark or run.watermark_to
        progress = {"total": page.total} if page.total is not None else {}
        tally.add_to(
            run,
            next_token=page.next_token,
            seen_tokens=seen_tokens,
            pages=F("pages") + 1,
            watermark_to=watermark,
            attempts=0,
            message="",
            **progress,
        )
        if page.next_token:
            return True
        # The last page is in: only now may the next incremental pull start from here.
        Connection.objects.filter(pk=connection.pk).update(
            last_sync_at=timezone.now(), **({"sync_watermark": watermark} if watermark else {})
        )
        sync_run_finish(run=run)
    return False


def _page_failed(*, run_id: int, token: str, error: ConnectorError) -> None:
    """Schedules another attempt at the page after a transient error, or ends the run."""
    with transaction.atomic():
        run = _run_locked(run_id)
        if run is None or run.next_token != token:
            return
        run.attempts += 1
        transient = isinstance(error, TransientError)
        if transient and run.attempts < max_attempts():
            delay = backoff(run.attempts, retry_after=error.retry_after)
            run.next_attempt_at = timezone.now() + delay
            run.message = f"Attempt {run.attempts} at page {run.pages + 1} failed: {error} Trying again shortly."
            run.save(update_fields=["attempts", "next_attempt_at", "message"])
            _nudge_on_commit(run.pk, countdown=delay.total_seconds())
            return
        run.save(update_fields=["attempts"])
        _run_fail(run, f"Gave up after {run.attempts} attempts: {error}" if transient else str(error))


def _run_fail(run: SyncRun, message: str) -> None:
    """Ends the run as failed and lists it with the dead letters, where an admin can retry it."""
    run = sync_run_finish(run=run, message=message, failed=True)
    dead_letter_add(
        kind=DeadLetterKind.SYNC_RUN,
        item=run,
        connection=run.connection,
        summary=f"{run} of {run.connection} at page {run.pages + 1}",
        error=message,
        attempts=run.attempts,
    )
    logger.warning("%s of connection %s failed: %s", run, run.connection_id, message)


def _nudge_on_commit(run_id: int, *, countdown: float | None = None) -> None:
    # robust: a broker that is down must not undo the run's state; the sweep nudges it later.
    transaction.on_commit(
        lambda: pull_connection_task.apply_async(kwargs={"run_id": run_id}, countdown=countdown), robust=True
    )
