"""All contracts and contract detail (SPEC §6.1, §6.2)."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.db.models import prefetch_related_objects
from django.http import QueryDict
from django.utils.formats import date_format
from django.views.generic import TemplateView

from connectors.models import Connection
from connectors.navigation import NavigationButton, contract_buttons, new_contract_button
from contracts import selectors
from contracts.choices import AgreementStatus, ConnectionStatus, ContractStatus
from contracts.filtersets import ContractFilterSet

from .lists import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PAGE_SIZE_CHOICES, page_without_count, positive_int, query_string

VIEW_CONTRACTS_PERMISSION = "contracts.view_contract"


# --- Access ----------------------------------------------------------------------------


class ContractAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed in and allowed to view contracts; which ones is decided by ``contracts.selectors``."""

    permission_required = VIEW_CONTRACTS_PERMISSION


# --- All contracts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str
    sort: str = ""  # the value of the ``ordering`` parameter; blank when the column does not sort


CONTRACT_COLUMNS = (
    Column("Contract ID", "contract_id"),
    Column("Title", "name"),
    Column("Type", "type"),
    Column("Status", "status"),
    Column("Vendor / party", "party"),
    Column("Legal entity", "legal_entity"),
    Column("Effective", "effective_date"),
    Column("Expires", "expiration_date"),
    Column("Amendment in process", "amendment_in_process"),
    Column("Connection", "connection"),
)


@dataclass(frozen=True)
class ActiveFilter:
    name: str
    label: str
    value: str
    remove_url: str


class ContractListView(ContractAccessMixin, TemplateView):
    template_name = "contracts/contract_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        filterset = ContractFilterSet(
            query, queryset=selectors.contracts_visible_to(self.request.user), request=self.request
        )
        filterset.is_valid()  # errors are shown next to their field; invalid filters are not applied
        size = positive_int(query.get("per_page"), default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        page = page_without_count(
            filterset.qs, number=positive_int(query.get("page"), default=1, maximum=10**6), size=size
        )
        active_filters = _active_filters(filterset, query)
        context.update(
            filterset=filterset,
            form=filterset.form,
            page=page,
            columns=_column_headers(filterset, query),
            sorted_by_default=not filterset.form.cleaned_data.get("ordering"),
            active_filters=active_filters,
            panel_filter_count=sum(1 for chip in active_filters if chip.name != "q"),
            # Closed once filters apply: the chips above the table say which; open to show an error.
            filters_open=bool(filterset.form.errors),
            clear_url=query_string(QueryDict(), ordering=query.get("ordering"), per_page=query.get("per_page")),
            previous_url=query_string(query, page=str(page.number - 1)) if page.has_previous else "",
            next_url=query_string(query, page=str(page.number + 1)) if page.has_next else "",
            first_url=query_string(query, page=None),
            page_sizes=_page_size_links(query, current=size),
            new_buttons=_new_contract_buttons(),
        )
        if not page.rows and not active_filters and page.number == 1:
            context["has_legal_entities"] = selectors.visible_legal_entities(self.request.user).exists()
        return context


def _page_size_links(query: QueryDict, *, current: int) -> list[dict]:
    return [
        {"size": size, "current": size == current, "url": query_string(query, per_page=str(size), page=None)}
        for size in PAGE_SIZE_CHOICES
    ]


def _column_headers(filterset: ContractFilterSet, query: QueryDict) -> list[dict]:
    ordering = filterset.form.cleaned_data.get("ordering")
    current = ordering[0] if ordering else ""
    headers = []
    for column in CONTRACT_COLUMNS:
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


def _active_filters(filterset: ContractFilterSet, query: QueryDict) -> list[ActiveFilter]:
    """One removable chip per applied filter value, in the order of the form."""
    chips = []
    cleaned = filterset.form.cleaned_data
    for name, field in filterset.form.fields.items():
        if name == "ordering" or name not in cleaned or cleaned[name] in (None, "", [], ()):
            continue
        raw_values = [value for value in query.getlist(name) if value.strip()]
        for raw in raw_values:
            remaining = [value for value in raw_values if value != raw]
            chips.append(
                ActiveFilter(
                    name=name,
                    label=str(field.label),
                    value=_filter_value_label(name, raw, cleaned[name]),
                    remove_url=query_string(query, **{name: remaining, "page": None}),
                )
            )
    return chips


def _filter_value_label(name: str, raw: str, cleaned) -> str:
    if name == "status" and raw in ContractStatus.values:
        return ContractStatus(raw).label
    if isinstance(cleaned, bool):
        return "Yes" if cleaned else "No"
    if isinstance(cleaned, datetime.date):
        return date_format(cleaned, "j M Y")
    if isinstance(cleaned, Connection):
        return cleaned.name
    return raw


def _new_contract_buttons() -> list[NavigationButton]:
    """New on All contracts, one per enabled connection that configures it, each naming its
    connection when there are several."""
    connections = Connection.objects.filter(enabled=True).prefetch_related("navigation_links__parameters")
    buttons = [
        (connection, button) for connection in connections if (button := new_contract_button(connection)) is not None
    ]
    if len(buttons) == 1:
        return [buttons[0][1]]
    return [dataclasses.replace(button, label=f"{button.label} ({connection.name})") for connection, button in buttons]


# --- Contract detail -------------------------------------------------------------------


class ContractDetailView(ContractAccessMixin, TemplateView):
    template_name = "contracts/contract_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contract = selectors.get_contract_for(self.request.user, kwargs["pk"])
        prefetch_related_objects([contract], "connection__navigation_links__parameters")
        connection = contract.connection
        context.update(
            contract=contract,
            buttons=contract_buttons(contract),
            history=[
                {
                    "change": change,
                    "from_colour": ContractStatus.colour(change.from_status),
                    "to_colour": ContractStatus.colour(change.to_status),
                }
                for change in contract.status_history.all()
            ],
            agreements=[
                {"agreement": agreement, "colour": AgreementStatus.colour(agreement.status)}
                for agreement in contract.agreements.all()
            ],
            connection_colour=ConnectionStatus.colour(connection.status) if connection else "",
            party_name=contract.party_name or (contract.vendor.name if contract.vendor else ""),
        )
        return context
