"""Resolving references given by natural key to master data in the same legal entity."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from contracts.models import LegalEntity, Worker
from contracts.models.changes import TRACKED_BY_MODEL

from .common import Problems


@dataclass(frozen=True)
class Reference:
    """How a field names another record: its model, the natural-key field, and whether the
    record belongs to a legal entity (most do) or is shared (currencies, units, categories)."""

    model: type[models.Model]
    key: str
    per_legal_entity: bool = True

    def describe(self) -> str:
        return str(self.model._meta.verbose_name)


def master_data_reference(model: type[models.Model]) -> Reference:
    """How a field names a master-data record: by the natural key the change log uses too."""
    entity = TRACKED_BY_MODEL[model]
    return Reference(model, entity.key, per_legal_entity=entity.per_legal_entity)


def reference_resolve(
    ref: Reference, value, *, legal_entity: LegalEntity, field_name: str, problems: Problems
) -> models.Model | None:
    """The record ``value`` names, or ``None`` (with a problem) when it does not exist."""
    if value in (None, ""):
        return None
    if isinstance(value, ref.model):
        instance = value
    else:
        lookup = {ref.key: str(value).strip()}
        if ref.per_legal_entity:
            lookup["legal_entity"] = legal_entity
        instance = ref.model._default_manager.filter(**lookup).first()
        if instance is None:
            where = f" in legal entity {legal_entity.code}" if ref.per_legal_entity else ""
            problems.add(field_name, f'no {ref.describe()} "{value}" exists{where}.', "not_found")
            return None
    if ref.per_legal_entity and instance.legal_entity_id != legal_entity.pk:
        problems.add(field_name, f'{ref.describe()} "{value}" belongs to another legal entity.', "not_found")
        return None
    return instance


def worker_resolve(*, legal_entity: LegalEntity, name: str = "", email: str = "") -> Worker | None:
    """Finds a worker by name first and, if the name finds no single worker, by email."""
    workers = Worker.objects.filter(legal_entity=legal_entity)
    name, email = (name or "").strip(), (email or "").strip()
    if name:
        by_name = list(workers.filter(name__iexact=name)[:2])
        if len(by_name) == 1:
            return by_name[0]
    if email:
        by_email = list(workers.filter(email__iexact=email)[:2])
        if len(by_email) == 1:
            return by_email[0]
    return None


def worker_field_resolve(
    *, legal_entity: LegalEntity, name: str, email: str, field_name: str, problems: Problems
) -> Worker | None:
    """Like :func:`worker_resolve`, but a name or email that finds nobody is a problem."""
    if not (name or email):
        return None
    worker = worker_resolve(legal_entity=legal_entity, name=name, email=email)
    if worker is None:
        given = " / ".join(part for part in (name, email) if part)
        problems.add(
            field_name, f'no worker named or with email "{given}" in legal entity {legal_entity.code}.', "not_found"
        )
    return worker
