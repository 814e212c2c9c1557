"""What connectors share besides HTTP (``connectors/http.py``): reading the settings an admin
typed, the dates CLMs write, where the next incremental pull starts, and the page limit that
stops a listing which never ends."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from contracts.choices import SyncRunKind, SyncRunStatus

from .base import PermanentError
from .http import json_kind
from .models import SyncRun

# A date, or a date-time with or without fraction and offset: "2024-03-01", "2024-03-01T09:30:00.5+02:00".
LOCAL_DATE_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def calendar_date(text: str) -> date:
    """The calendar date of an ISO 8601 date or date-time as it is written, whatever its
    offset: an agreement effective "2024-03-01T00:00:00+02:00" is effective on 1 March.
    Raises ``ValueError`` saying what is wrong ("is not a real date")."""
    match = LOCAL_DATE_TIME.fullmatch(text)
    if match is None:
        raise ValueError("is not an ISO 8601 date-time")
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        day = None
    hour, minute, second = (int(match[name] or 0) for name in ("hour", "minute", "second"))
    if day is None or hour > 23 or minute > 59 or second > 59:
        raise ValueError("is not a real date")
    return day


def watermark_before(moment: datetime, overlap: timedelta) -> str:
    """Where the next incremental pull starts when the CLM gives no watermark of its own: a
    pull's start less an overlap (for clock skew and a CLM's indexing delay), in UTC ISO 8601."""
    return (moment - overlap).isoformat(timespec="seconds").replace("+00:00", "Z")


def stop_at_page_limit(
    *, connection_id: int, token: str, max_pages: int, source: str, page_size: int | None, whole: str
) -> None:
    """Raises ``PermanentError`` once the active pull waiting for ``token`` has read ``max_pages``
    pages, so that a listing which never ends stops (only the run knows the count; a first page
    never stops). ``source`` names the CLM and ``whole`` what it lists, in the message."""
    if not token:
        return
    pages = (
        SyncRun.objects.filter(
            connection_id=connection_id,
            kind__in=(SyncRunKind.PULL, SyncRunKind.FULL_RESYNC),
            status__in=SyncRunStatus.active(),
            next_token=token,
        )
        .values_list("pages", flat=True)
        .first()
    )
    if pages is not None and pages >= max_pages:
        of_size = f" of {page_size}" if page_size else ""
        raise PermanentError(
            f"{source} still had more agreements after {pages} pages{of_size}, the most this connection reads "
            f"(max_pages {max_pages}); stopped. Raise max_pages if the {whole} is that large."
        )


class SettingsReader:
    """Reads typed values out of a connection's settings. Each wrong value is noted in
    ``problems`` and read as its default, so that an admin learns every problem at once."""

    def __init__(self, raw: Mapping[str, Any], problems: list[str]):
        self.raw, self.problems = raw, problems

    def refuse_unknown(self, known: Iterable[str]) -> None:
        known = set(known)
        self.problems.extend(f'"{key}" is not a setting of this connector.' for key in self.raw if key not in known)

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.append(f"{key} is required.")
            return ""
        if not isinstance(value, str):
            self.problems.append(f"{key} must be text, not {json_kind(value)}.")
            return ""
        return value.strip()

    def whole_number(self, key: str, default: int, *, minimum: int) -> int:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{key} must be a whole number, not {value!r}.")
            return default
        if value < minimum:
            self.problems.append(f"{key} must be at least {minimum}.")
            return default
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            self.problems.append(f"{key} must be true or false, not {value!r}.")
            return False
        return value

    def text_map(self, key: str) -> dict[str, str]:
        value = self.raw.get(key) or {}
        valid = isinstance(value, Mapping) and all(
            isinstance(name, str) and isinstance(target, str) and target.strip() for name, target in value.items()
        )
        if not valid:
            self.problems.append(f'{key} must be an object of text to text, e.g. {{"name": "value"}}.')
            return {}
        return {name.strip(): target.strip() for name, target in value.items()}

    def text_list(self, key: str) -> list[str]:
        value = self.raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(name, str) and name.strip() for name in value):
            self.problems.append(f'{key} must be a list of names, e.g. ["ACME, INC"].')
            return []
        return value
