"""Vendors: the list, and one vendor's page with its contracts and NDA standing (SPEC §6.5)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.urls import reverse
from django.views.generic import TemplateView

from contracts import selectors
from contracts.filtersets import ContractFilterSet, VendorFilterSet
from contracts.models import PurchaseAgreement

from .contracts import CONTRACT_COLUMNS, VIEW_CONTRACTS_PERMISSION
from .lists import Column, filtered_list_context

VIEW_VENDORS_PERMISSION = "contracts.view_vendor"

VENDOR_COLUMNS = (
    Column("Account", "account"),
    Column("Name", "name"),
    Column("Legal entity", "legal_entity"),
    Column("Party number"),
    Column("Country"),
    Column("Currency"),
    Column("NDA standing"),
)


class VendorAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed in and allowed to view vendors and contracts; which ones is decided by ``contracts.selectors``."""

    permission_required = (VIEW_VENDORS_PERMISSION, VIEW_CONTRACTS_PERMISSION)


class VendorListView(VendorAccessMixin, TemplateView):
    template_name = "contracts/vendor_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vendors = selectors.with_nda_standing(selectors.vendors_visible_to(self.request.user))
        filterset = VendorFilterSet(self.request.GET, queryset=vendors, request=self.request)
        context.update(filtered_list_context(filterset, self.request.GET, VENDOR_COLUMNS))
        return context


class VendorDetailView(VendorAccessMixin, TemplateView):
    template_name = "contracts/vendor_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        vendor = selectors.get_vendor_for(user, kwargs["pk"])
        # One vendor's contracts, sorted and paged like All contracts (the other filters live there).
        contracts = selectors.contract_table_rows(selectors.contracts_visible_to(user)).filter(vendor=vendor)
        filterset = ContractFilterSet(self.request.GET, queryset=contracts, request=self.request)
        context.update(filtered_list_context(filterset, self.request.GET, CONTRACT_COLUMNS))
        in_all_contracts = {"party": vendor.account_number, "legal_entity": vendor.legal_entity.code}
        context.update(
            vendor=vendor,
            standing=selectors.vendor_nda_standing(vendor),
            contacts=vendor.contacts.order_by("contact_person_id"),
            agreement_count=PurchaseAgreement.objects.filter(
                vendor=vendor, legal_entity_id=vendor.legal_entity_id
            ).count(),
            agreements_url=_agreements_url(vendor),
            all_contracts_url=_url("contracts:list", in_all_contracts),
            all_ndas_url=_url("contracts:list", {**in_all_contracts, "type": selectors.NDA_CONTRACT_TYPE_NAME}),
        )
        return context


def _agreements_url(vendor) -> str:
    return _url("contracts:agreement_list", {"vendor": vendor.account_number, "legal_entity": vendor.legal_entity.code})


def _url(name: str, params: dict) -> str:
    return f"{reverse(name)}?{urlencode(params)}"
