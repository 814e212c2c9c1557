"""What every list page shares: paging without COUNT, page sizes, query strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import QueryDict

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PAGE_SIZE_CHOICES = (25, 50, 100, 200)

# --- Paging without counting ---------------------------------------------------------
#
# All contracts may hold millions of rows, and a COUNT(*) of a filtered set costs about as
# much as reading it. So a page fetches one row more than it shows: that row only says
# whether a next page exists. Nobody needs "page 7 of 41,230" to move through a list, and an
# estimate (PostgreSQL's reltuples) would be wrong for any filtered list and does not exist
# on SQLite. Pages are numbered (offset); deep pages cost more, but a person refines the
# filters long before that matters.


@dataclass(frozen=True)
class Page:
    rows: Sequence
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.rows) - 1 if self.rows else 0


def page_without_count(queryset: QuerySet, *, number: int, size: int) -> Page:
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    return Page(rows=rows[:size], number=number, size=size, has_next=len(rows) > size)


def positive_int(value: str | None, *, default: int, maximum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(number, maximum) if number >= 1 else default


def query_string(query: QueryDict, **changes) -> str:
    """The current query string with ``changes`` applied; a change to ``None`` removes the key."""
    query = query.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        elif isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
