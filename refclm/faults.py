"""Fault modes (docs/reference-clm.md): the served API and the outgoing webhooks misbehave on request.

Counters go down as they are used, each by a conditional update, so two requests of the
threaded web server never use one fault twice.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from .models import Faults
from .services import InputInvalid

COUNTERS = ("errors", "timeouts", "rate_limits", "repeat_ctoken")
NUMBERS = ("delay_ms", "timeout_seconds", *COUNTERS)
SWITCHES = ("duplicate_webhooks", "out_of_order_webhooks")
FAULT_NAMES = (*NUMBERS, *SWITCHES)
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def faults_as_json(faults: Faults | None = None) -> dict[str, Any]:
    faults = faults or Faults.load()
    return {name: getattr(faults, name) for name in FAULT_NAMES}


def faults_set(*, values: dict[str, Any], clear: bool = False) -> dict[str, Any]:
    """Sets the named fault modes (after clearing all, with ``clear``); raises ``InputInvalid``."""
    parsed = {name: _parsed(name, value) for name, value in values.items()}
    with transaction.atomic():
        faults = Faults.load()
        if clear:
            defaults = Faults()
            for name in FAULT_NAMES:
                setattr(faults, name, getattr(defaults, name))
        for name, value in parsed.items():
            setattr(faults, name, value)
        faults.save()
    return faults_as_json(faults)


def _parsed(name: str, value: Any) -> int | bool:
    if name not in FAULT_NAMES:
        raise InputInvalid(name, f"is not a fault mode; use {', '.join(FAULT_NAMES)}.")
    if name in SWITCHES or isinstance(value, bool):
        word = str(value).strip().lower()
        if word not in (*TRUE_WORDS, *FALSE_WORDS):
            raise InputInvalid(name, f'"{value}" is not true or false.')
        return int(word in TRUE_WORDS) if name in NUMBERS else word in TRUE_WORDS
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InputInvalid(name, f'"{value}" is not a whole number.') from None
    if number < 0:
        raise InputInvalid(name, f"{number} is negative.")
    return number


def fault_use(name: str) -> bool:
    """Uses one of the counter ``name`` if any is left; True when this request got it."""
    return Faults.objects.filter(pk=1, **{f"{name}__gt": 0}).update(**{name: F(name) - 1}) == 1
