"""How long to wait before trying failed work again (SPEC §9): exponential backoff with
full jitter, capped, and never sooner than the CLM's own ``Retry-After``."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings


def max_attempts() -> int:
    return settings.CONNECTOR_MAX_ATTEMPTS


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """The wait after failed attempt number ``attempt`` (1 for the first failure)."""
    ceiling = min(settings.CONNECTOR_BACKOFF_CAP, settings.CONNECTOR_BACKOFF_BASE * 2 ** (attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.CONNECTOR_RETRY_AFTER_CAP))
    return delay


def backoff(attempt: int, *, retry_after: float | None = None) -> timedelta:
    return timedelta(seconds=backoff_seconds(attempt, retry_after=retry_after))
