"""What every list page shares: paging without COUNT, page sizes, query strings, sortable
column headers and removable filter chips."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django import forms
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils.formats import date_format

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


# --- What a filtered, sorted list page shows around its rows ---------------------------


@dataclass(frozen=True)
class Column:
    label: str
    sort: str = ""  # the value of the ``ordering`` parameter; blank when the column does not sort


@dataclass(frozen=True)
class ActiveFilter:
    name: str
    label: str
    value: str
    remove_url: str


def filtered_list_context(filterset, query: QueryDict, columns: Sequence[Column]) -> dict:
    """The page of rows, sortable column headers, removable filter chips and paging links of
    a list page whose search, filters and sorting are ``filterset`` (from ``filtersets.py``)."""
    filterset.is_valid()  # errors are shown next to their field; invalid filters are not applied
    form = filterset.form
    size = positive_int(query.get("per_page"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    page = page_without_count(filterset.qs, number=positive_int(query.get("page"), default=1, maximum=10**6), size=size)
    chips = active_filters(form, query)
    return {
        "filterset": filterset,
        "form": form,
        "page": page,
        "columns": column_headers(columns, form.cleaned_data.get("ordering"), query),
        "sorted_by_default": not form.cleaned_data.get("ordering"),
        "active_filters": chips,
        "panel_filter_count": sum(1 for chip in chips if chip.name != "q"),
        # Closed once filters apply: the chips above the table say which; open to show an error.
        "filters_open": bool(form.errors),
        "clear_url": query_string(QueryDict(), ordering=query.get("ordering"), per_page=query.get("per_page")),
        "previous_url": query_string(query, page=str(page.number - 1)) if page.has_previous else "",
        "next_url": query_string(query, page=str(page.number + 1)) if page.has_next else "",
        "first_url": query_string(query, page=None),
        "page_sizes": [
            {"size": choice, "current": choice == size, "url": query_string(query, per_page=str(choice), page=None)}
            for choice in PAGE_SIZE_CHOICES
        ],
    }


def column_headers(columns: Sequence[Column], ordering: Sequence[str] | None, query: QueryDict) -> list[dict]:
    """Each column with its sort direction (for ``aria-sort``) and the link that sorts by it
    the other way, keeping the filters."""
    current = ordering[0] if ordering else ""
    headers = []
    for column in columns:
        direction = ""
        if column.sort and current.lstrip("-") == column.sort:
            direction = "descending" if current.startswith("-") else "ascending"
        next_sort = f"-{column.sort}" if direction == "ascending" else column.sort
        headers.append(
            {
                "column": column,
                "direction": direction,
                "next_direction": "descending" if direction == "ascending" else "ascending",
                "url": query_string(query, ordering=next_sort, page=None) if column.sort else "",
            }
        )
    return headers


def active_filters(form: forms.Form, query: QueryDict) -> list[ActiveFilter]:
    """One removable chip per applied filter value, in the order of the form."""
    chips = []
    cleaned = form.cleaned_data
    for name, field in form.fields.items():
        if name == "ordering" or name not in cleaned or cleaned[name] in (None, "", [], ()):
            continue
        raw_values = [value for value in query.getlist(name) if value.strip()]
        for raw in raw_values:
            remaining = [value for value in raw_values if value != raw]
            chips.append(
                ActiveFilter(
                    name=name,
                    label=str(field.label),
                    value=filter_value_label(field, raw, cleaned[name]),
                    remove_url=query_string(query, **{name: remaining, "page": None}),
                )
            )
    return chips


def filter_value_label(field: forms.Field, raw: str, cleaned) -> str:
    """How a chip names a filter value: a choice by its label, a record by its name."""
    if isinstance(cleaned, bool):
        return "Yes" if cleaned else "No"
    if isinstance(cleaned, datetime.date):
        return date_format(cleaned, "j M Y")
    if isinstance(cleaned, Model):
        return str(cleaned)
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        return str(dict(field.choices).get(raw, raw))
    return raw
