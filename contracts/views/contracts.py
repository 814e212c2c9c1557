"""All contracts and contract detail (SPEC §6.1, §6.2)."""

from __future__ import annotations

import dataclasses

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.db.models import prefetch_related_objects
from django.views.generic import TemplateView

from connectors.models import Connection
from connectors.navigation import NavigationButton, contract_buttons, new_contract_button
from contracts import selectors
from contracts.choices import AgreementStatus, ConnectionStatus, ContractStatus
from contracts.filtersets import ContractFilterSet

from .lists import Column, filtered_list_context

VIEW_CONTRACTS_PERMISSION = "contracts.view_contract"


# --- Access ----------------------------------------------------------------------------


class ContractAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed in and allowed to view contracts; which ones is decided by ``contracts.selectors``."""

    permission_required = VIEW_CONTRACTS_PERMISSION


# --- All contracts ---------------------------------------------------------------------


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


class ContractListView(ContractAccessMixin, TemplateView):
    template_name = "contracts/contract_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, query = self.request.user, self.request.GET
        contracts = selectors.contract_table_rows(selectors.contracts_visible_to(user))
        filterset = ContractFilterSet(query, queryset=contracts, request=self.request)
        context.update(filtered_list_context(filterset, query, CONTRACT_COLUMNS))
        context["new_buttons"] = _new_contract_buttons()
        page = context["page"]
        if not page.rows and not context["active_filters"] and page.number == 1:
            context["has_legal_entities"] = selectors.visible_legal_entities(user).exists()
        return context


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
