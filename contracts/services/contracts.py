"""Writing contracts: upsert by natural key, and the one door for status changes (SPEC §3.3, §4)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from contracts.choices import AccountType, ContractFlowName, ContractStatus
from contracts.models import ContactPerson, Contract, ContractStatusChange, ContractType, Currency, LegalEntity, Vendor

from .common import (
    Actor,
    Problem,
    Problems,
    ValidationFailed,
    changed_fields,
    clean_scalars,
    legal_entity_get,
    reject_unknown_keys,
)
from .references import master_data_reference, reference_resolve, worker_resolve


class UpsertOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    STALE = "stale", "Skipped as stale"


@dataclass(frozen=True)
class ContractUpsertResult:
    contract: Contract
    outcome: str


# Plain values a source may send, under the names of the Contract model.
CONTRACT_SCALAR_FIELDS = (
    "external_contract_id",
    "status",
    "name",
    "effective_date",
    "expiration_date",
    "requester_worker_name",
    "requester_worker_email",
    "account_type",
    "account_relation_id",
    "party_number",
    "party_name",
    "contact_person_id",
    "latest_amendment_id",
    "latest_external_amendment_id",
    "amendment_in_process",
    "value",
    "renewal_type",
    "notice_period_days",
    "notice_date",
    "document_url",
    "source_modified_at",
    "source_sequence",
)
SOURCE_STAMP_FIELDS = ("source_modified_at", "source_sequence")
CONTRACT_INPUT_FIELDS = (*CONTRACT_SCALAR_FIELDS, "contract_type", "currency")
REQUIRED_ON_CREATE = ("contract_type", "name")

CURRENCY = master_data_reference(Currency)
VENDOR = master_data_reference(Vendor)
CONTACT_PERSON = master_data_reference(ContactPerson)


def contract_upsert(
    *,
    legal_entity: LegalEntity | str,
    contract_id: str,
    data: Mapping[str, Any],
    actor: Actor,
    connection=None,
) -> ContractUpsertResult:
    """Creates or updates the contract ``(legal_entity, contract_id)`` from a source's data.

    Only the keys present in ``data`` change. An update whose source stamp is older than
    the stored one is skipped and reported as stale; one identical to what is stored is
    reported as unchanged. Every problem found is raised together as ``ValidationFailed``.
    """
    problems = Problems()
    entity = legal_entity_get(legal_entity, problems)
    contract_id = (contract_id or "").strip()
    if not contract_id:
        problems.add("contract_id", "is required.", "required")
    elif len(contract_id) > Contract._meta.get_field("contract_id").max_length:
        problems.add("contract_id", "is longer than 60 characters.")
    reject_unknown_keys(data, CONTRACT_INPUT_FIELDS, problems)
    scalar_fields = CONTRACT_SCALAR_FIELDS
    if "status" in data and data["status"] not in ContractStatus.values:
        problems.found.append(_unknown_status_problem(data["status"]))
        scalar_fields = tuple(name for name in scalar_fields if name != "status")
    values = clean_scalars(Contract, data, scalar_fields, problems)
    if entity is None:
        problems.raise_if_any()

    with transaction.atomic():
        contract = Contract.objects.select_for_update().filter(legal_entity=entity, contract_id=contract_id).first()
        if contract is not None and not problems.found and _is_stale(contract, values):
            return ContractUpsertResult(contract, UpsertOutcome.STALE)

        creating = contract is None
        if creating:
            contract = Contract(legal_entity=entity, contract_id=contract_id, connection=connection)
            for name in REQUIRED_ON_CREATE:
                if data.get(name) in (None, ""):
                    problems.add(name, "is required for a new contract.", "required")
        elif connection is not None and contract.connection_id not in (None, connection.pk):
            problems.add("contract_id", f"belongs to connection {contract.connection}, not {connection}.", "conflict")

        if "contract_type" in data and data["contract_type"] not in (None, ""):
            values["contract_type"] = _contract_type_resolve(data["contract_type"], connection, actor, problems)
        if "currency" in data:
            values["currency"] = reference_resolve(
                CURRENCY, data["currency"], legal_entity=entity, field_name="currency", problems=problems
            )
        _resolve_parties(contract, values, entity, problems)
        _check_rules(contract, values, problems)
        problems.raise_if_any()

        new_status = values.pop("status", None)
        changed = changed_fields(contract, values)
        for name in changed:
            setattr(contract, name, values[name])
        contract.last_synced_at = timezone.now()
        status_changes = new_status is not None and new_status != contract.status
        if not creating and not status_changes and not set(changed) - set(SOURCE_STAMP_FIELDS):
            if changed:
                contract.save(update_fields=[*changed, "last_synced_at"])
            return ContractUpsertResult(contract, UpsertOutcome.UNCHANGED)

        previous_status = None if creating else contract.status
        contract.changed_by = actor.label
        if creating:
            contract_set_status(contract=contract, status=new_status or ContractStatus.DRAFT, actor=actor)
        elif status_changes:
            contract.save()
            contract_set_status(contract=contract, status=new_status, actor=actor)
        else:
            contract.save()
            _apply_flow(contract, previous_status=previous_status, actor=actor)
    return ContractUpsertResult(contract, UpsertOutcome.CREATED if creating else UpsertOutcome.UPDATED)


def contract_set_status(*, contract: Contract, status: str, actor: Actor) -> Contract:
    """The one door for a contract's status: records the history row, then the flow's effects.

    The CLM is the master of status, so every reported status is accepted (SPEC §4). A
    contract not yet saved is saved here, with its first status as the first history row.
    """
    if status not in ContractStatus.values:
        raise ValidationFailed([_unknown_status_problem(status)])
    creating = contract._state.adding
    previous_status = "" if creating else contract.status
    if previous_status == status:
        return contract
    with transaction.atomic():
        contract.status = status
        contract.changed_by = actor.label
        if creating:
            contract.save()
        else:
            contract.save(update_fields=["status", "changed_by", "modified_at"])
        ContractStatusChange.objects.create(
            contract=contract,
            from_status=previous_status,
            to_status=status,
            changed_by=actor.label,
            source_modified_at=contract.source_modified_at,
        )
        _apply_flow(contract, previous_status=previous_status or None, actor=actor)
    return contract


def contract_type_upsert(
    *, name: str, actor: Actor, description: str | None = None, flow: str | None = None, is_active: bool | None = None
) -> ContractType:
    from connectors.flows.registry import flow_names

    problems = Problems()
    name = (name or "").strip()
    if not name:
        problems.add("name", "is required.", "required")
    if flow is not None and flow not in flow_names():
        problems.add("flow", f'"{flow}" is not a registered flow; choose one of {", ".join(flow_names())}.')
    problems.raise_if_any()
    contract_type, _ = ContractType.objects.get_or_create(name=name, defaults={"changed_by": actor.label})
    for attr, value in (("description", description), ("flow", flow), ("is_active", is_active)):
        if value is not None:
            setattr(contract_type, attr, value)
    contract_type.changed_by = actor.label
    contract_type.save()
    return contract_type


def _unknown_status_problem(status) -> Problem:
    return Problem("status", f'"{status}" is not a contract status; use one of {", ".join(ContractStatus.values)}.')


def _is_stale(contract: Contract, values: Mapping[str, Any]) -> bool:
    """True when the incoming source stamp is older than the stored one (SPEC §4).

    Timestamps decide when both sides have different ones; otherwise the sequence does,
    so a source that sends only a sequence number is protected too.
    """
    incoming_at = values.get("source_modified_at")
    stored_at = contract.source_modified_at
    if incoming_at is not None and stored_at is not None and incoming_at != stored_at:
        return incoming_at < stored_at
    incoming_seq, stored_seq = values.get("source_sequence"), contract.source_sequence
    return incoming_seq is not None and stored_seq is not None and incoming_seq < stored_seq


def _contract_type_resolve(name, connection, actor: Actor, problems: Problems) -> ContractType | None:
    name = str(name).strip()
    contract_type = ContractType.objects.filter(name=name).first()
    if contract_type is not None:
        if not contract_type.is_active:
            problems.add("contract_type", f'contract type "{name}" is not active.', "inactive")
        return contract_type
    if connection is not None and connection.create_unknown_contract_types:
        return ContractType.objects.create(
            name=name, flow=ContractFlowName.LIGHTWEIGHT, needs_review=True, changed_by=actor.label
        )
    problems.add("contract_type", f'no contract type "{name}" exists; create it first.', "not_found")
    return None


def _resolve_parties(contract: Contract, values: dict, entity: LegalEntity, problems: Problems) -> None:
    """Links the vendor, contact person and requester that the source names by key."""
    account_type = values.get("account_type", contract.account_type)
    account = values.get("account_relation_id", contract.account_relation_id)
    if {"account_type", "account_relation_id"} & values.keys():
        vendor = None
        if account_type == AccountType.VENDOR and account:
            vendor = reference_resolve(
                VENDOR, account, legal_entity=entity, field_name="account_relation_id", problems=problems
            )
        values["vendor"] = vendor
        if vendor is not None and not values.get("party_number", contract.party_number):
            values["party_number"] = vendor.party_number
        if vendor is not None and not values.get("party_name", contract.party_name):
            values["party_name"] = vendor.name
    if "contact_person_id" in values:
        values["contact"] = reference_resolve(
            CONTACT_PERSON,
            values["contact_person_id"],
            legal_entity=entity,
            field_name="contact_person_id",
            problems=problems,
        )
    if {"requester_worker_name", "requester_worker_email"} & values.keys():
        # A requester the ERP does not know is kept as text: the contract is still the CLM's truth.
        values["requester_worker"] = worker_resolve(
            legal_entity=entity,
            name=values.get("requester_worker_name", contract.requester_worker_name),
            email=values.get("requester_worker_email", contract.requester_worker_email),
        )


def _check_rules(contract: Contract, values: dict, problems: Problems) -> None:
    value = values.get("value")
    if value is not None and value < 0:
        problems.add("value", f"{value} is negative.", "negative")
    effective = values.get("effective_date", contract.effective_date)
    expiration = values.get("expiration_date", contract.expiration_date)
    if effective and expiration and expiration < effective:
        problems.add("expiration_date", f"{expiration} is before the effective date {effective}.", "date_order")
    external_id = values.get("external_contract_id", contract.external_contract_id)
    if external_id and contract.connection_id:
        clash = Contract.objects.filter(connection_id=contract.connection_id, external_contract_id=external_id)
        if contract.pk:
            clash = clash.exclude(pk=contract.pk)
        other = clash.only("contract_id", "legal_entity__code").select_related("legal_entity").first()
        if other is not None:
            problems.add(
                "external_contract_id",
                f'"{external_id}" already identifies contract {other.contract_id} ({other.legal_entity.code}) '
                "on this connection.",
                "conflict",
            )


def _apply_flow(contract: Contract, *, previous_status: str | None, actor: Actor) -> None:
    from connectors.flows.registry import flow_for

    flow_for(contract.contract_type.flow).apply(contract, previous_status=previous_status, actor=actor)


def contract_create(
    *,
    legal_entity: LegalEntity | str,
    contract_id: str,
    data: Mapping[str, Any],
    actor: Actor,
    connection=None,
) -> ContractUpsertResult:
    """Like :func:`contract_upsert`, but refuses (code ``conflict``) a contract that exists."""
    with transaction.atomic():
        entity = legal_entity_get(legal_entity)
        contract_id = (contract_id or "").strip()
        if Contract.objects.filter(legal_entity=entity, contract_id=contract_id).exists():
            message = f'contract "{contract_id}" already exists in legal entity {entity.code}.'
            raise ValidationFailed([Problem("contract_id", message, "conflict")])
        return contract_upsert(
            legal_entity=entity, contract_id=contract_id, data=data, actor=actor, connection=connection
        )


def contract_delete(*, contract: Contract, actor: Actor) -> None:
    """Deletes a contract and its status history; refused (code ``in_use``) while a purchase
    agreement references it, because the agreement would lose its link to the CLM."""
    agreements = contract.agreements.select_related("legal_entity").order_by("legal_entity__code", "agreement_id")
    agreements = list(agreements[:5])
    if agreements:
        named = ", ".join(f"{agreement.agreement_id} ({agreement.legal_entity.code})" for agreement in agreements)
        raise ValidationFailed(
            [Problem("contract_id", f"is referenced by purchase agreement(s) {named}; it cannot be deleted.", "in_use")]
        )
    contract.delete()


def contract_type_create(
    *, name: str, actor: Actor, description: str | None = None, flow: str | None = None, is_active: bool | None = None
) -> ContractType:
    """Like :func:`contract_type_upsert`, but refuses (code ``conflict``) a type that exists."""
    name = (name or "").strip()
    if name and ContractType.objects.filter(name=name).exists():
        raise ValidationFailed([Problem("name", f'contract type "{name}" already exists.', "conflict")])
    return contract_type_upsert(name=name, actor=actor, description=description, flow=flow, is_active=is_active)


def contract_type_delete(*, contract_type: ContractType, actor: Actor) -> None:
    """Deletes a contract type; refused (code ``in_use``) while any contract is of that type."""
    in_use = contract_type.contracts.count()
    if in_use:
        raise ValidationFailed(
            [Problem("name", f'contract type "{contract_type.name}" is used by {in_use} contract(s).', "in_use")]
        )
    contract_type.delete()
