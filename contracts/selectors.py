"""Reads shared by the browser UI and the API: what a user may see (SPEC §2).

Access is per legal entity. Every read of company-specific records starts from one of
these functions, so that filtering, sorting and paging only ever narrow a set that is
already scoped to the user's legal entities.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from contracts.models import Contract, ContractStatusChange, LegalEntity, LegalEntityGrant, PurchaseAgreement

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


def get_contract_for(user, pk: int) -> Contract:
    """One contract with its history and linked agreements; 404 outside the user's legal entities.

    A contract of another legal entity is "not found", not "forbidden", so that its
    existence is not disclosed.
    """
    agreements = PurchaseAgreement.objects.filter(legal_entity__in=visible_legal_entities(user)).select_related(
        "legal_entity", "vendor"
    )
    contracts = (
        contracts_visible_to(user)
        .select_related("currency", "contact", "requester_worker")
        .prefetch_related(
            Prefetch("status_history", queryset=ContractStatusChange.objects.order_by("-changed_at", "-id")),
            Prefetch("agreements", queryset=agreements.order_by("legal_entity__code", "agreement_id")),
        )
    )
    return get_object_or_404(contracts, pk=pk)


def _granted_legal_entity_ids(user) -> QuerySet:
    return LegalEntityGrant.objects.filter(user=user).values("legal_entity_id")
