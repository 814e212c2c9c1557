"""Celery tasks: thin wrappers that call a service (STYLE.md)."""

from celery import shared_task

from contracts.services import Actor, agreements_close_expired


@shared_task(name="connectors.tasks.close_expired_agreements_task", acks_late=True)
def close_expired_agreements_task() -> int:
    """Daily: closes the agreements of Expired contracts once their expiration date passes."""
    return agreements_close_expired(actor=Actor.system("scheduler"))
