"""What every service shares: who acts, how problems are collected and reported."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone

from contracts.choices import ActorKind
from contracts.models import LegalEntity


@dataclass(frozen=True)
class Actor:
    """Who or what is making a change; its label is stored on every record it touches.

    ``acts_for_clm`` marks the integration itself (a connector, the CLM's API client): it
    may change everything on CLM-owned agreements, while people may not (SPEC §6.4).
    """

    kind: str
    name: str
    acts_for_clm: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(ActorKind.USER, user.get_username())

    @classmethod
    def for_connector(cls, name: str) -> Actor:
        return cls(ActorKind.CONNECTOR, name, acts_for_clm=True)

    @classmethod
    def for_api_client(cls, name: str, *, acts_for_clm: bool) -> Actor:
        return cls(ActorKind.API_CLIENT, name, acts_for_clm=acts_for_clm)

    @classmethod
    def system(cls, name: str = "clmsite") -> Actor:
        return cls(ActorKind.SYSTEM, name, acts_for_clm=True)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class ValidationFailed(Exception):
    """A write broke the rules; ``problems`` lists every one found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    def as_list(self) -> list[dict[str, str]]:
        return [problem.as_dict() for problem in self.problems]

    def messages_by_field(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.field, []).append(problem.message)
        return grouped


@dataclass
class Problems:
    """Collects problems while a service checks its input, then raises them all at once."""

    found: list[Problem] = field(default_factory=list)

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.found.append(Problem(field_name, message, code))

    def has(self, field_name: str) -> bool:
        return any(problem.field == field_name for problem in self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise ValidationFailed(self.found)


def clean_scalars(
    model: type[models.Model], data: Mapping[str, Any], names: Iterable[str], problems: Problems
) -> dict[str, Any]:
    """Converts and checks plain (non-reference) values with the model fields' own rules.

    Text fields take ``None`` as blank; date-times without an offset are UTC; each bad
    value is reported under its field name.
    """
    cleaned = {}
    for name in names:
        if name not in data:
            continue
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            problems.add(name, "is not a field of this record.", "unknown_field")
            continue
        value = data[name]
        if isinstance(value, str) and not isinstance(model_field, (models.CharField, models.TextField)):
            value = value.strip() or None
        if value is None and isinstance(model_field, (models.CharField, models.TextField)):
            value = ""
        try:
            cleaned[name] = model_field.clean(value, None)
            if isinstance(cleaned[name], datetime.datetime) and timezone.is_naive(cleaned[name]):
                # A stamp without an offset is taken as UTC, so that stamps always compare.
                cleaned[name] = timezone.make_aware(cleaned[name], datetime.UTC)
        except ValidationError as exc:
            problems.add(name, " ".join(exc.messages), "invalid")
        except (TypeError, ValueError, ArithmeticError):
            problems.add(name, f"{value!r} is not a valid value.", "invalid")
    return cleaned


def reject_unknown_keys(data: Mapping[str, Any], allowed: Iterable[str], problems: Problems) -> None:
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            problems.add(key, "is not a field that can be written here.", "unknown_field")


def legal_entity_get(legal_entity: LegalEntity | str, problems: Problems | None = None) -> LegalEntity | None:
    """Accepts a legal entity or its code; an unknown code is a problem under ``legal_entity``."""
    if isinstance(legal_entity, LegalEntity):
        return legal_entity
    found = LegalEntity.objects.filter(code=str(legal_entity or "").strip().upper()).first()
    if found is None:
        message = f'there is no legal entity "{legal_entity}".'
        if problems is None:
            raise ValidationFailed([Problem("legal_entity", message, "not_found")])
        problems.add("legal_entity", message, "not_found")
    return found


def changed_fields(instance: models.Model, values: Mapping[str, Any]) -> list[str]:
    """The names in ``values`` whose value differs from the instance's (references by key)."""
    changed = []
    for name, value in values.items():
        model_field = instance._meta.get_field(name)
        if model_field.is_relation:
            current, value = getattr(instance, model_field.attname), getattr(value, "pk", value)
        else:
            current = getattr(instance, name)
        if current != value:
            changed.append(name)
    return changed
