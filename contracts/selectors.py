"""Reads shared by the browser UI and the API: what a user may see (SPEC §2).

Access is per legal entity. Every read of company-specific records starts from one of
these functions, so that filtering, sorting and paging only ever narrow a set that is
already scoped to the user's legal entities.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from connectors.models import SyncRun
from contracts.choices import ContractFlowName, ContractStatus, SyncRunKind
from contracts.models import (
    Contract,
    ContractStatusChange,
    LegalEntity,
    LegalEntityGrant,
    PurchaseAgreement,
    PurchaseAgreementLine,
    Vendor,
)

CROSS_COMPANY_PERMISSION = "contracts.cross_company"


def sees_every_legal_entity(user) -> bool:
    """Superusers and holders of the cross-company grant see every legal entity."""
    return user.is_active and (user.is_superuser or user.has_perm(CROSS_COMPANY_PERMISSION))


def visible_legal_entities(user) -> QuerySet[LegalEntity]:
    if not user.is_authenticated or not user.is_active:
        return LegalEntity.objects.none()
    if sees_every_legal_entity(user):
        return LegalEntity.objects.all()
    return LegalEntity.objects.filter(pk__in=_granted_legal_entity_ids(user))


def contracts_visible_to(user) -> QuerySet[Contract]:
    """The contracts of the user's legal entities, with what the All contracts columns show."""
    contracts = Contract.objects.select_related("legal_entity", "contract_type", "vendor", "connection")
    if not user.is_authenticated or not user.is_active:
        return contracts.none()
    if sees_every_legal_entity(user):
        return contracts
    # A subquery rather than a join on the grants: the list stays one query and one row per contract.
    return contracts.filter(legal_entity_id__in=_granted_legal_entity_ids(user))


# What a row of the contracts table (templates/contracts/_contract_table.html) shows: a page
# reads these columns only, not every column of the contract and of its four related rows.
CONTRACT_TABLE_FIELDS = (
    "contract_id",
    "name",
    "contract_type__name",
    "status",
    "account_relation_id",
    "party_number",
    "party_name",
    "vendor__name",
    "legal_entity__code",
    "effective_date",
    "expiration_date",
    "amendment_in_process",
    "connection__name",
)


def contract_table_rows(contracts: QuerySet[Contract]) -> QuerySet[Contract]:
    """``contracts`` (from ``contracts_visible_to``) reading only what the contracts table shows."""
    return contracts.only(*CONTRACT_TABLE_FIELDS)


def get_contract_for(user, pk: int) -> Contract:
    """One contract with its history and linked agreements; 404 outside the user's legal entities.

    A contract of another legal entity is "not found", not "forbidden", so that its
    existence is not disclosed.
    """
    contracts = (
        contracts_visible_to(user)
        .select_related("currency", "contact", "requester_worker")
        .prefetch_related(
            Prefetch("status_history", queryset=ContractStatusChange.objects.order_by("-changed_at", "-id")),
            Prefetch("agreements", queryset=agreements_visible_to(user).order_by("legal_entity__code", "agreement_id")),
        )
    )
    return get_object_or_404(contracts, pk=pk)


def latest_status_changes_visible_to(user, limit: int) -> list[ContractStatusChange]:
    """The ``limit`` most recent status changes of the contracts the user may see, newest
    first, each with its contract and the contract's connection.

    Newest first is ``statuschange_latest`` read backwards; the scope joins each change to
    its contract by primary key, so the query stops after ``limit`` visible rows instead of
    gathering every visible contract first.
    """
    changes = ContractStatusChange.objects.filter(contract__in=contracts_visible_to(user))
    return list(changes.select_related("contract__connection").order_by("-changed_at", "-id")[:limit])


# --- Vendors and their NDA standing (SPEC §4, §6.5) -----------------------------------
#
# "Does vendor X have an executed, unexpired NDA in legal entity Y?" A contract counts as
# an NDA when its type is the lightweight type named "NDA": the flow alone is not enough,
# because other lightweight types (a service contract kept in All contracts only) must not
# put a vendor "under NDA" — a false yes is the costly mistake here. It is in force when
# it is executed and its expiration date is blank (open-ended) or today or later. Vendors
# belong to one legal entity, so an NDA signed in another legal entity (with that
# entity's own vendor record) never counts.

NDA_CONTRACT_TYPE_NAME = "NDA"


def vendors_visible_to(user) -> QuerySet[Vendor]:
    """The vendors of the user's legal entities, with the master data the vendor pages show."""
    vendors = Vendor.objects.select_related("legal_entity", "country", "currency", "payment_terms")
    if not user.is_authenticated or not user.is_active:
        return vendors.none()
    if sees_every_legal_entity(user):
        return vendors
    return vendors.filter(legal_entity_id__in=_granted_legal_entity_ids(user))


def get_vendor_for(user, pk: int) -> Vendor:
    """One vendor; 404 outside the user's legal entities (its existence is not disclosed)."""
    return get_object_or_404(vendors_visible_to(user), pk=pk)


def ndas_in_force(*, today: datetime.date) -> Q:
    """The contracts that put their party under NDA on ``today`` (the rule above)."""
    return Q(
        contract_type__name__iexact=NDA_CONTRACT_TYPE_NAME,
        contract_type__flow=ContractFlowName.LIGHTWEIGHT,
        status=ContractStatus.EXECUTED,
    ) & (Q(expiration_date__isnull=True) | Q(expiration_date__gte=today))


@dataclass(frozen=True)
class NdaStanding:
    """A vendor's NDA standing in its legal entity on one day."""

    ndas: tuple[Contract, ...]  # the NDAs in force, the longest-lasting first

    @property
    def has_active_nda(self) -> bool:
        return bool(self.ndas)

    @property
    def open_ended(self) -> bool:
        return any(nda.expiration_date is None for nda in self.ndas)

    @property
    def until(self) -> datetime.date | None:
        """The day the vendor's NDA cover ends; ``None`` when there is none or it is open-ended."""
        if not self.ndas or self.open_ended:
            return None
        return max(nda.expiration_date for nda in self.ndas)


def vendor_nda_standing(vendor: Vendor, *, today: datetime.date | None = None) -> NdaStanding:
    """Whether ``vendor`` has an executed, unexpired NDA in its legal entity (one query)."""
    today = today or timezone.localdate()
    ndas = (
        Contract.objects.filter(ndas_in_force(today=today), vendor=vendor, legal_entity_id=vendor.legal_entity_id)
        .select_related("contract_type", "legal_entity")
        .order_by(F("expiration_date").desc(nulls_first=True), "contract_id", "pk")
    )
    return NdaStanding(ndas=tuple(ndas))


def with_nda_standing(vendors: QuerySet[Vendor], *, today: datetime.date | None = None) -> QuerySet[Vendor]:
    """Annotates each vendor's NDA standing as subqueries, so that a list needs no query per row:
    ``under_nda``, ``nda_open_ended`` and ``nda_until`` (the latest expiration date of its
    dated NDAs in force)."""
    today = today or timezone.localdate()
    ndas = Contract.objects.filter(
        ndas_in_force(today=today), vendor=OuterRef("pk"), legal_entity_id=OuterRef("legal_entity_id")
    )
    latest_expiry = ndas.filter(expiration_date__isnull=False).order_by("-expiration_date").values("expiration_date")
    return vendors.annotate(
        under_nda=Exists(ndas),
        nda_open_ended=Exists(ndas.filter(expiration_date__isnull=True)),
        nda_until=Subquery(latest_expiry[:1]),
    )


def agreements_visible_to(user) -> QuerySet[PurchaseAgreement]:
    """The purchase agreements of the user's legal entities, with what their list shows."""
    agreements = PurchaseAgreement.objects.select_related("legal_entity", "vendor", "contract")
    if not user.is_authenticated or not user.is_active:
        return agreements.none()
    if sees_every_legal_entity(user):
        return agreements
    return agreements.filter(legal_entity_id__in=_granted_legal_entity_ids(user))


def get_agreement_for(user, pk: int) -> PurchaseAgreement:
    """One agreement with every reference its page shows and its lines; 404 outside the
    user's legal entities (as for contracts, its existence is not disclosed)."""
    lines = PurchaseAgreementLine.objects.select_related(
        "product", "product_variant", "category", "unit", "project", "receiving_site", "receiving_warehouse"
    ).order_by("line_number")
    agreements = (
        agreements_visible_to(user)
        .select_related(
            "contract__legal_entity",
            "contract__contract_type",
            "classification",
            "invoice_vendor",
            "primary_responsible_worker",
            "secondary_responsible_worker",
            "cash_discount",
            "contact_person",
            "currency",
            "buyer_group",
            "project",
            "payment_terms",
        )
        .prefetch_related(Prefetch("lines", queryset=lines), "contract__connection__navigation_links__parameters")
    )
    return get_object_or_404(agreements, pk=pk)


def _granted_legal_entity_ids(user) -> QuerySet:
    return LegalEntityGrant.objects.filter(user=user).values("legal_entity_id")


def latest_sync_runs_visible_to(user) -> list[SyncRun]:
    """The latest run of each kind per connection, by connection name. An import shows only
    to those who see every legal entity its uploading client may write."""
    latest = SyncRun.objects.order_by().values("connection", "kind").annotate(latest=Max("pk")).values("latest")
    runs = SyncRun.objects.filter(pk__in=latest).select_related("connection")
    runs = runs.order_by(F("connection__name").asc(nulls_last=True), "kind")
    return [run for run in runs if run.kind != SyncRunKind.IMPORT or _sees_import(user, run)]


def _sees_import(user, run: SyncRun) -> bool:
    from connectors.imports import import_uploader  # connectors imports this app's models

    if sees_every_legal_entity(user):
        return True
    client = import_uploader(run)
    if client is None or client.cross_company:
        return False
    visible = visible_legal_entities(user)
    return not client.legal_entities.exclude(pk__in=visible.values("pk")).exists()
