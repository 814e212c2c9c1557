"""The UI's filtersets, used as they are by the API lists (STYLE.md: one filterset per list).

Two of their parameters are the API's own business: ``legal_entity`` is the list's scope
(checked against the caller's grants, with the explicit cross-company option, in
``permissions.requested_legal_entity_ids``), and lists are cursor-paged in a fixed order,
so ``ordering`` is refused rather than silently ignored. Every other filter is the UI's.
"""

from __future__ import annotations

from functools import cache

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from .errors import problem

API_HANDLED_PARAMETERS = ("legal_entity", "ordering")


@cache
def api_filterset(filterset_class: type[django_filters.FilterSet]) -> type[django_filters.FilterSet]:
    """The filterset without the parameters the API handles itself."""
    removed = dict.fromkeys(API_HANDLED_PARAMETERS)
    return type(f"Api{filterset_class.__name__}", (filterset_class,), {**removed, "__doc__": filterset_class.__doc__})


class ApiFilterBackend(DjangoFilterBackend):
    def get_filterset_class(self, view, queryset=None):
        filterset_class = getattr(view, "filterset_class", None)
        return api_filterset(filterset_class) if filterset_class is not None else None

    def filter_queryset(self, request, queryset, view):
        if "ordering" in request.query_params:
            raise problem(
                400,
                "ordering",
                "API lists are cursor-paged in a fixed order (by id), so they cannot be sorted; leave out ordering.",
                "unsupported",
            )
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and filterset_class.base_filters.keys().isdisjoint(request.query_params):
            # Nothing to filter (a sync paging through a legal entity): building and validating
            # the filterset's form would cost a tenth of the request; the paginator sets the order.
            return queryset
        return super().filter_queryset(request, queryset, view)
