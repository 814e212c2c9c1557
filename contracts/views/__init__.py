"""The browser UI for procurement staff (SPEC §6): thin views over selectors, filtersets
and services, one module per page group."""

from .agreements import (
    AGREEMENT_COLUMNS,
    AgreementCreateView,
    AgreementDeleteView,
    AgreementDetailView,
    AgreementLineCreateView,
    AgreementLineDeleteView,
    AgreementLineUpdateView,
    AgreementListView,
    AgreementUpdateView,
)
from .contracts import CONTRACT_COLUMNS, ContractDetailView, ContractListView
from .dashboard import DashboardView
from .deeplinks import DeepLinkView
from .exports import ContractCsvExportView, ContractXlsxExportView
from .vendors import VendorDetailView, VendorListView

__all__ = [
    "AGREEMENT_COLUMNS",
    "CONTRACT_COLUMNS",
    "AgreementCreateView",
    "AgreementDeleteView",
    "AgreementDetailView",
    "AgreementLineCreateView",
    "AgreementLineDeleteView",
    "AgreementLineUpdateView",
    "AgreementListView",
    "AgreementUpdateView",
    "ContractCsvExportView",
    "ContractDetailView",
    "ContractListView",
    "ContractXlsxExportView",
    "DashboardView",
    "DeepLinkView",
    "VendorDetailView",
    "VendorListView",
]
