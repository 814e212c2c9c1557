"""What every service shares: who acts, how problems are collected and reported."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone

from clmsite.middleware import unstorable_text
from contracts.choices import ActorKind
from contracts.models import LegalEntity

TEXT_FIELDS = (models.CharField, models.TextField)


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
        wrong = _unusable_value(value, model_field)
        if wrong is not None:
            problems.add(name, wrong, "invalid")
            continue
        if isinstance(value, str) and not isinstance(model_field, TEXT_FIELDS):
            value = value.strip() or None
        if value is None and isinstance(model_field, TEXT_FIELDS):
            value = ""
        try:
            cleaned[name] = model_field.clean(value, None)
            if isinstance(cleaned[name], datetime.datetime):
                cleaned[name] = _stamp_in_utc(cleaned[name])
        except ValidationError as exc:
            problems.add(name, _validation_message(exc, value, model_field), "invalid")
        except (TypeError, ValueError, ArithmeticError):
            problems.add(name, f"{value!r} is not a valid value.", "invalid")
    return cleaned


def _unusable_value(value: Any, model_field: models.Field) -> str | None:
    """Why ``value`` cannot be a value of ``model_field`` whatever its content, or None."""
    if isinstance(value, (Mapping, list, tuple)) and not isinstance(model_field, models.JSONField):
        return f"is {'an object' if isinstance(value, Mapping) else 'a list'}, not a single value."
    if isinstance(value, bool) and not isinstance(model_field, models.BooleanField):
        return f"is {str(value).lower()}, not {'text' if isinstance(model_field, TEXT_FIELDS) else 'a value'}."
    if isinstance(value, str):
        return unstorable_text(value)
    return None


def _stamp_in_utc(stamp: datetime.datetime) -> datetime.datetime:
    """A stamp without an offset is taken as UTC, so that stamps always compare; one whose UTC
    time falls outside years 1-9999 (``9999-12-31T23:59-01:00``) cannot be stored anywhere."""
    if timezone.is_naive(stamp):
        return timezone.make_aware(stamp, datetime.UTC)
    try:
        return stamp.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("outside the years 1 to 9999 in UTC") from None


def _validation_message(exc: ValidationError, value: Any, model_field: models.Field) -> str:
    """Django's messages, except that a value outside the choices is answered with the choices."""
    if any(error.code == "invalid_choice" for error in exc.error_list):
        allowed = ", ".join(str(choice) for choice, _ in model_field.flatchoices if choice != "")
        return f'"{value}" is not one of the allowed values: {allowed}.'
    return " ".join(exc.messages)


def reference_keys_checked(data: Mapping[str, Any], names: Iterable[str], problems: Problems) -> Mapping[str, Any]:
    """``data`` without those references among ``names`` that are not given by a key (text or
    a whole number, storable); each one left out is a problem under its name, so that the
    lookups that follow see only keys."""
    unusable = {}
    for name in names:
        value = data.get(name)
        if value is None or isinstance(value, models.Model):
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            unusable[name] = f"names a record by its key (text), not by {_json_kind(value)}."
        elif isinstance(value, str) and unstorable_text(value):
            unusable[name] = unstorable_text(value)
    for name, message in unusable.items():
        problems.add(name, message, "invalid")
    return {key: value for key, value in data.items() if key not in unusable} if unusable else data


def _json_kind(value: Any) -> str:
    kinds = ((bool, "true or false"), (Mapping, "an object"), ((list, tuple), "a list"), (float, "a number"))
    return next((kind for types, kind in kinds if isinstance(value, types)), type(value).__name__)


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
