"""The browser UI for procurement staff (SPEC §6): thin views over selectors, filtersets
and services, one module per page group."""

from .contracts import CONTRACT_COLUMNS, ContractDetailView, ContractListView, DashboardView

__all__ = ["CONTRACT_COLUMNS", "ContractDetailView", "ContractListView", "DashboardView"]
