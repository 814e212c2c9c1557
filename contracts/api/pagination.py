"""Cursor pagination for large lists (SPEC §8.1).

Each list is paged in the order of a stable, unique key (the record id; lines by line
number; contract types by name), so a cursor neither skips nor repeats a row while
records are added. ``page_size`` may be raised up to 1,000.
"""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from .errors import problem


class ApiCursorPagination(CursorPagination):
    ordering = "pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise problem(400, "cursor", "is not a cursor this list gave out.", "invalid") from None


class LineCursorPagination(ApiCursorPagination):
    ordering = "line_number"


class NameCursorPagination(ApiCursorPagination):
    ordering = "name"
