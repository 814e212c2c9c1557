"""The audit log: one entry per change, naming who made it (docs/architecture.md, "Audit log").

Services that know their actor call :func:`audit_record` (or build entries with
:func:`audit_entry` and write a batch with one :func:`audit_record_many`). Writes that reach
the master-data signals without an actor of their own (the admin, an admin action) are
attributed to the actor of the context: ``clmsite.middleware.AuditActorMiddleware`` sets
the signed-in person for a request, :func:`acting_as` sets anyone for a block of code, and outside both
the change is the system's.

Secret values never reach an entry: a field holding one (credentials, webhook secrets, key
hashes, tokens, passwords) is recorded as changed with both values masked.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from connectors.fields import EncryptedTextField
from contracts.models import AuditEntry, LegalEntity

from .bulk import rows_insert
from .common import Actor

MASK = "********"
UNREADABLE = object()
# A field whose name contains one of these holds a secret, whatever its type.
SECRET_NAME_PARTS = ("secret", "credential", "password", "token", "key_hash")
# Bookkeeping every save touches: recording it would make every entry say the same.
UNAUDITED_FIELDS = frozenset({"created_at", "modified_at", "changed_by"})
REPR_LENGTH = AuditEntry._meta.get_field("object_repr").max_length
ID_LENGTH = AuditEntry._meta.get_field("object_id").max_length

_acting: ContextVar[Callable[[], Actor | None] | None] = ContextVar("audit_acting", default=None)


# --- Who acts ---------------------------------------------------------------------------


@contextmanager
def acting_as(actor: Actor | Callable[[], Actor | None]) -> Iterator[None]:
    """Attributes the changes made inside the block, that carry no actor of their own, to
    ``actor`` (or to what the callable returns when a change first asks; None = system)."""
    resolve = actor if callable(actor) else (lambda: actor)
    token = _acting.set(resolve)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_actor() -> Actor:
    """The actor of the context, or the system when nobody is acting."""
    resolve = _acting.get()
    actor = resolve() if resolve is not None else None
    return actor if actor is not None else Actor.system()


# --- Writing entries ----------------------------------------------------------------------


def audit_entry(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    changes: Mapping[str, Any] | None = None,
    object_repr: str | None = None,
    at: datetime.datetime | None = None,
) -> AuditEntry:
    """An unsaved entry for a change of ``instance``; costs no query (give ``object_repr``
    when the instance's ``str()`` would load a related record)."""
    opts = instance._meta
    if instance.pk is None:
        raise ValueError(f"An audit entry names a stored record; this {opts.label} has no primary key yet.")
    entry = AuditEntry(
        actor_kind=actor.kind,
        actor_name=actor.name[:200],
        action=action,
        object_type=f"{opts.app_label}.{opts.model_name}",
        object_id=str(instance.pk)[:ID_LENGTH],
        object_repr=(str(instance) if object_repr is None else object_repr)[:REPR_LENGTH],
        legal_entity_id=_legal_entity_id(instance),
        changes=dict(changes or {}),
    )
    if at is not None:
        entry.at = at
    return entry


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    changes: Mapping[str, Any] | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """Appends one entry (in the caller's transaction, so it commits or rolls back with the change)."""
    entry = audit_entry(actor=actor, action=action, instance=instance, changes=changes, object_repr=object_repr)
    entry.save(force_insert=True)
    return entry


def audit_record_many(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """Appends entries built with :func:`audit_entry` at once (COPY on PostgreSQL)."""
    entries = list(entries)
    rows_insert(AuditEntry, entries)
    return entries


# --- What changed ---------------------------------------------------------------------------


@cache
def audited_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    # Cached per model: a batch builds thousands of entries, and the fields never change.
    return tuple(
        field for field in model._meta.concrete_fields if not field.primary_key and field.name not in UNAUDITED_FIELDS
    )


@cache
def _secret_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(field.name for field in model._meta.concrete_fields if is_secret(field))


def is_secret(field: models.Field) -> bool:
    return isinstance(field, EncryptedTextField) or _secret_name(field.name)


def _secret_name(name: str) -> bool:
    return any(part in name.lower() for part in SECRET_NAME_PARTS)


def snapshot(instance: models.Model, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The instance's audited values as stored (a reference by its key); reads no related record."""
    wanted = set(names) if names is not None else None
    return {
        field.name: _value(instance, field)
        for field in audited_fields(type(instance))
        if wanted is None or field.name in wanted or field.attname in wanted
    }


def _value(instance: models.Model, field: models.Field) -> Any:
    try:
        return getattr(instance, field.attname)
    except ImproperlyConfigured:
        # A stored secret the configured keys cannot read: it is masked anyway, and the
        # change that replaces it must still be recorded.
        return UNREADABLE


def changes_between(model: type[models.Model], before: Mapping[str, Any], after: Mapping[str, Any]) -> dict:
    """``{field: [old, new]}`` for the names whose value differs; a missing side is None.

    Names that are not audited fields of ``model`` (a record's related values, such as an
    API client's legal entities) are compared and kept too, bookkeeping fields are not.
    """
    secrets = _secret_fields(model)
    changes = {}
    for name in (*before, *(name for name in after if name not in before)):
        old, new = before.get(name), after.get(name)
        if old != new and name not in UNAUDITED_FIELDS:
            secret = name in secrets or _secret_name(name)
            changes[name] = [_shown(old, secret), _shown(new, secret)]
    return changes


def changes_for(instance: models.Model, values: Mapping[str, Any]) -> dict:
    """What applying ``values`` (a service's checked input, references as records or keys)
    to ``instance`` changes; call it before the values are set."""
    after = {}
    for name, value in values.items():
        field = instance._meta.get_field(name)
        after[name] = getattr(value, "pk", value) if field.is_relation else value
    return changes_between(type(instance), snapshot(instance, after), after)


def created_changes(instance: models.Model) -> dict:
    """A new record's values, as ``[None, value]``; empty values are left out."""
    return {name: [None, value] for name, value in _filled(instance)}


def deleted_changes(instance: models.Model) -> dict:
    """A deleted record's last values, as ``[value, None]``; empty values are left out."""
    return {name: [value, None] for name, value in _filled(instance)}


def _filled(instance: models.Model) -> Iterator[tuple[str, Any]]:
    """The instance's non-empty audited values as an entry shows them. A batch of a thousand
    new contracts builds a thousand of these, so the per-field facts are looked up once."""
    for field, secret in _audited_columns(type(instance)):
        value = _value(instance, field) if secret else getattr(instance, field.attname)
        if value not in (None, "", [], {}):
            yield field.name, _shown(value, secret)


@cache
def _audited_columns(model: type[models.Model]) -> tuple[tuple[models.Field, bool], ...]:
    secrets = _secret_fields(model)
    return tuple((field, field.name in secrets) for field in audited_fields(model))


def _shown(value: Any, secret: bool) -> Any:
    """A value as JSON keeps it; a secret only as whether it is set."""
    if secret:
        return MASK if value not in (None, "") else value
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, datetime.timedelta)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return str(value)


def _legal_entity_id(instance: models.Model) -> int | None:
    if isinstance(instance, LegalEntity):
        return instance.pk
    return getattr(instance, "legal_entity_id", None)
