"""Every save and delete of master data appends to the change log (SPEC §8.4, §9).

The row is written by the same database connection right after the change, so inside a
transaction (the admin, the services, an import) it commits or rolls back with the change.
A change of a record's natural key (or legal entity) is logged as the deletion of the old
key and an upsert of the new one, so the CLM drops the record it knew under the old key.
Each row is also queued, in the same transaction, for the CLMs that take master data
(``connectors.outbox``).

Each change is also appended to the audit log (``contracts.services.audit``) as the acting
actor's: the signed-in person in the admin, else whoever the code runs ``acting_as``.

Queryset ``update()`` and ``bulk_create()`` send no signals and are not logged; the demo
seed uses ``bulk_create``, and a full snapshot covers such records.
"""

from __future__ import annotations

from django.db import connections, router
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

from connectors.outbox import outbox_write
from contracts.choices import AuditAction, ChangeOperation
from contracts.models import TRACKED_BY_MODEL, TRACKED_ENTITIES, ChangeLog
from contracts.services import audit

# Any constant: PostgreSQL's transaction-level advisory lock that orders change-log writers.
CHANGE_LOG_LOCK = 8_404_001


def connect_change_log() -> None:
    for entity in TRACKED_ENTITIES:
        uid = f"contracts.changelog.{entity.name}"
        pre_save.connect(remember_stored_key, sender=entity.model, dispatch_uid=f"{uid}.pre_save")
        post_save.connect(log_saved, sender=entity.model, dispatch_uid=f"{uid}.post_save")
        post_delete.connect(log_deleted, sender=entity.model, dispatch_uid=f"{uid}.post_delete")


def remember_stored_key(sender, instance, update_fields=None, **kwargs) -> None:
    """Reads the stored record before an update: its natural key, which the update may
    change, and the values the audit entry compares with."""
    entity = TRACKED_BY_MODEL[sender]
    instance._changelog_stored_key = None
    instance._audit_before = {}
    if instance._state.adding or instance.pk is None:
        return
    stored = sender._base_manager.filter(pk=instance.pk).first()
    if stored is None:
        return
    instance._audit_before = audit.snapshot(stored, update_fields)
    if update_fields is None or {entity.key, "legal_entity", "legal_entity_id"} & set(update_fields):
        instance._changelog_stored_key = entity.log_key(stored)


def log_saved(sender, instance, created=False, **kwargs) -> None:
    entity = TRACKED_BY_MODEL[sender]
    key = entity.log_key(instance)
    stored_key = getattr(instance, "_changelog_stored_key", None)
    if stored_key is not None and stored_key != key:
        _append(entity.name, stored_key, instance.pk, ChangeOperation.DELETE)
    _append(entity.name, key, instance.pk, ChangeOperation.UPSERT, record=instance)
    if created:
        action, changes = AuditAction.CREATED, audit.created_changes(instance)
    else:
        before = getattr(instance, "_audit_before", {})
        action, changes = AuditAction.UPDATED, audit.changes_between(sender, before, audit.snapshot(instance, before))
        if not changes:
            return  # saved as it was: nothing to audit
    audit.audit_record(actor=audit.acting_actor(), action=action, instance=instance, changes=changes)


def log_deleted(sender, instance, **kwargs) -> None:
    entity = TRACKED_BY_MODEL[sender]
    _append(entity.name, entity.log_key(instance), instance.pk, ChangeOperation.DELETE)
    changes = audit.deleted_changes(instance)
    audit.audit_record(actor=audit.acting_actor(), action=AuditAction.DELETED, instance=instance, changes=changes)


def _append(
    entity_name: str, key: tuple[str, int | None], pk: int, operation: str, record: Model | None = None
) -> None:
    alias = router.db_for_write(ChangeLog)
    connection = connections[alias]
    if connection.vendor == "postgresql":
        # Sequence numbers are handed out before commit, so without this a reader could see
        # #101 committed while #100 is still open, move its cursor past #100 and never see it.
        # Holding the lock until commit makes the log's order the commit order (SQLite's
        # single writer already does).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_LOG_LOCK])
    natural_key, legal_entity_id = key
    change = ChangeLog.objects.using(alias).create(
        entity=entity_name, legal_entity_id=legal_entity_id, natural_key=natural_key, object_pk=pk, operation=operation
    )
    outbox_write(change=change, record=record)  # in the same transaction: the CLMs that take master data
