"""Celery tasks: thin wrappers that load by id and call a service (STYLE.md).

The database is the record of all background work (inbound events, outbox messages, sync
runs, each with its attempts and next attempt time); a task message is only a nudge to do
what is due. So a lost or duplicated message loses or repeats nothing: every service below
locks its row, checks it is still due, and does nothing otherwise, and ``sweep_task`` sends
a fresh nudge for anything due that no message is carrying.
"""

from celery import shared_task

from contracts.services import Actor, agreements_close_expired


@shared_task(name="connectors.tasks.close_expired_agreements_task")
def close_expired_agreements_task() -> int:
    """Daily: closes the agreements of Expired contracts once their expiration date passes."""
    return agreements_close_expired(actor=Actor.system("scheduler"))


@shared_task(name="connectors.tasks.apply_inbound_event_task")
def apply_inbound_event_task(event_id: int) -> None:
    """A nudge names an event; the worker applies every due event of its connection."""
    from .webhooks import inbound_events_apply

    inbound_events_apply(event_id=event_id)


@shared_task(name="connectors.tasks.pull_connection_task")
def pull_connection_task(connection_id: int | None = None, run_id: int | None = None, full: bool = False) -> None:
    """Pulls for a connection: its schedule sends ``connection_id``; a started run sends ``run_id``."""
    from .pull import pull_run_advance, pull_start

    if run_id is None:
        run = pull_start(connection_id=connection_id, full=full, actor=Actor.system("scheduler"), enqueue=False)
        if run is None:
            return
        run_id = run.pk
    pull_run_advance(run_id=run_id)


@shared_task(name="connectors.tasks.deliver_outbox_task")
def deliver_outbox_task(connection_id: int) -> None:
    from .outbox import outbox_deliver

    outbox_deliver(connection_id=connection_id)


@shared_task(name="connectors.tasks.apply_import_task")
def apply_import_task(run_id: int) -> None:
    from .imports import import_run_apply

    import_run_apply(run_id=run_id)


@shared_task(name="connectors.tasks.check_connections_task")
def check_connections_task() -> None:
    """Handshake with every enabled connection and record its status (SPEC §3.5)."""
    from .handshake import connections_check

    connections_check(actor=Actor.system("handshake"))


@shared_task(name="connectors.tasks.sweep_task")
def sweep_task() -> None:
    """Every few seconds: nudges whatever is due and carried by no message (SPEC §9 failures)."""
    from .imports import import_runs_redrive
    from .outbox import outbox_redrive
    from .pull import pull_runs_redrive
    from .webhooks import inbound_events_redrive

    inbound_events_redrive()
    outbox_redrive()
    pull_runs_redrive()
    import_runs_redrive()


@shared_task(name="connectors.tasks.purge_task")
def purge_task() -> dict[str, int]:
    """Nightly: deletes finished work past its retention period (connectors/retention.py)."""
    from .retention import expired_records_purge

    return expired_records_purge()
