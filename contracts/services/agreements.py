"""Writing purchase agreements and their lines with every rule of SPEC §3.4 and §6.4.

Each write first *prepares* its input (convert, resolve every reference in the agreement's
legal entity, check every rule, collect all problems), then saves. The validation
endpoints of SPEC §8.3 call the same preparation and save nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.choices import AgreementOwnership, AgreementStatus, AuditAction, CommitmentType, ContractStatus
from contracts.models import (
    CLM_OWNED_EDITABLE_HEADER_FIELDS,
    CLM_OWNED_EDITABLE_LINE_FIELDS,
    AgreementNumberSequence,
    BuyerGroup,
    CashDiscount,
    ContactPerson,
    Contract,
    Currency,
    LegalEntity,
    PaymentTerms,
    ProcurementCategory,
    ProductVariant,
    Project,
    PurchaseAgreement,
    PurchaseAgreementClassification,
    PurchaseAgreementLine,
    ReleasedProduct,
    Site,
    UnitOfMeasure,
    Vendor,
    Warehouse,
    Worker,
)

from . import audit
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
from .references import master_data_reference, reference_resolve, worker_field_resolve

HEADER_REFERENCES = {
    "classification": master_data_reference(PurchaseAgreementClassification),
    "vendor": master_data_reference(Vendor),
    "invoice_vendor": master_data_reference(Vendor),
    "cash_discount": master_data_reference(CashDiscount),
    "contact_person": master_data_reference(ContactPerson),
    "currency": master_data_reference(Currency),
    "buyer_group": master_data_reference(BuyerGroup),
    "project": master_data_reference(Project),
    "payment_terms": master_data_reference(PaymentTerms),
}
HEADER_SCALARS = (
    "external_contract_id",
    "status",
    "amendment_in_process",
    "document_title",
    "default_effective_date",
    "default_expiration_date",
    "vendor_reference",
    "default_commitment_type",
    "external_document_reference",
    "line_matching_policy",
    "delivery_address",
    "payment_specification",
    "charges_group",
    "mode_of_delivery",
    "pool",
    "shipping_carrier",
    "carrier_service",
    "carrier_group",
    "transport_mode",
    "route_plan",
    "transportation_template",
    "financial_dimensions",
)
HEADER_WORKERS = {
    "primary_responsible_worker": ("primary_responsible_worker_name", "primary_responsible_worker_email"),
    "secondary_responsible_worker": ("secondary_responsible_worker_name", "secondary_responsible_worker_email"),
}
WORKER = master_data_reference(Worker)
HEADER_INPUT_FIELDS = (
    *HEADER_SCALARS,
    *HEADER_REFERENCES,
    *HEADER_WORKERS,
    *(key for pair in HEADER_WORKERS.values() for key in pair),
    "contract_id",
    "contract_legal_entity",
)

LINE_REFERENCES = {
    "product": master_data_reference(ReleasedProduct),
    "product_variant": master_data_reference(ProductVariant),
    "category": master_data_reference(ProcurementCategory),
    "unit": master_data_reference(UnitOfMeasure),
    "project": master_data_reference(Project),
    "receiving_site": master_data_reference(Site),
    "receiving_warehouse": master_data_reference(Warehouse),
}
LINE_SCALARS = (
    "line_number",
    "external_contract_line_id",
    "commitment_type",
    "committed_quantity",
    "committed_amount",
    "effective_date",
    "expiration_date",
    "price",
    "price_quantity",
    "line_discount_amount",
    "line_discount_percentage",
    "minimum_release_amount",
    "maximum_release_amount",
    "is_commitment_maximum_enforced",
    "is_price_and_discount_fixed",
    "project_category_id",
    "project_activity_number",
    "financial_dimensions",
)
LINE_INPUT_FIELDS = (*LINE_SCALARS, *LINE_REFERENCES)
NOT_NEGATIVE_LINE_FIELDS = (
    "committed_quantity",
    "committed_amount",
    "price",
    "price_quantity",
    "line_discount_amount",
    "minimum_release_amount",
    "maximum_release_amount",
)
QUANTITY_ONLY_LINE_FIELDS = ("price", "price_quantity", "line_discount_amount")


# --- Headers ------------------------------------------------------------------------


def agreement_prepare(
    *,
    legal_entity: LegalEntity | str,
    data: Mapping[str, Any],
    actor: Actor,
    agreement: PurchaseAgreement | None = None,
    ownership: str = AgreementOwnership.SCM,
) -> dict[str, Any]:
    """Checks a header create (``agreement`` None) or update and returns the values to store.

    Raises ``ValidationFailed`` listing every problem. Saves nothing.
    """
    problems = Problems()
    entity = agreement.legal_entity if agreement else legal_entity_get(legal_entity, problems)
    reject_unknown_keys(data, (*HEADER_INPUT_FIELDS, "agreement_id"), problems)
    if agreement is not None and "agreement_id" in data and data["agreement_id"] != agreement.agreement_id:
        problems.add("agreement_id", "cannot be changed; it is the agreement's key.", "read_only")
    values = clean_scalars(PurchaseAgreement, data, HEADER_SCALARS, problems)
    if entity is None:
        problems.raise_if_any()

    for name, ref in HEADER_REFERENCES.items():
        if name in data:
            values[name] = reference_resolve(ref, data[name], legal_entity=entity, field_name=name, problems=problems)
    for name, (name_key, email_key) in HEADER_WORKERS.items():
        if name in data:
            values[name] = reference_resolve(
                WORKER, data[name], legal_entity=entity, field_name=name, problems=problems
            )
        elif name_key in data or email_key in data:
            values[name] = worker_field_resolve(
                legal_entity=entity,
                name=str(data.get(name_key) or ""),
                email=str(data.get(email_key) or ""),
                field_name=name_key if data.get(name_key) else email_key,
                problems=problems,
            )
    if "contract_id" in data:
        values["contract"] = _contract_resolve(data, entity, problems)

    current = _Current(agreement, values)
    vendor = current.get("vendor")
    if agreement is None:
        if vendor is not None and "currency" not in data and vendor.currency_id:
            values["currency"] = vendor.currency
        if vendor is not None and "invoice_vendor" not in data:
            values["invoice_vendor"] = vendor
        if vendor is not None and "payment_terms" not in data and vendor.payment_terms_id:
            values["payment_terms"] = vendor.payment_terms
        values["ownership"] = ownership
        if ownership == AgreementOwnership.CLM and current.get("contract") is None and not problems.has("contract_id"):
            problems.add("contract_id", "is required for an agreement created from a CLM contract.", "required")
        agreement_id = clean_scalars(PurchaseAgreement, data, ("agreement_id",), problems).get("agreement_id", "")
        if agreement_id:
            if PurchaseAgreement.objects.filter(legal_entity=entity, agreement_id=agreement_id).exists():
                problems.add(
                    "agreement_id", f'"{agreement_id}" already exists in legal entity {entity.code}.', "conflict"
                )
            values["agreement_id"] = agreement_id
    else:
        _protect_clm_owned(agreement, agreement, values, CLM_OWNED_EDITABLE_HEADER_FIELDS, actor, problems)

    for name in ("vendor", "currency"):
        if current.get(name) is None and not problems.has(name):
            problems.add(name, "is required.", "required")
    if "vendor" in values and vendor is not None and vendor.blocked:
        problems.add("vendor", f'vendor "{vendor.account_number}" is blocked.', "blocked")
    contact = current.get("contact_person")
    if contact is not None and vendor is not None and contact.vendor_id != vendor.pk:
        problems.add(
            "contact_person",
            f'contact person "{contact.contact_person_id}" is not a contact of vendor "{vendor.account_number}".',
        )
    _check_date_order(current, "default_effective_date", "default_expiration_date", problems)
    problems.raise_if_any()
    return values


def agreement_create(
    *,
    legal_entity: LegalEntity | str,
    data: Mapping[str, Any],
    actor: Actor,
    ownership: str = AgreementOwnership.SCM,
) -> PurchaseAgreement:
    """Creates an agreement header; without ``agreement_id`` it is numbered per legal entity."""
    entity = legal_entity_get(legal_entity)
    with transaction.atomic():
        values = agreement_prepare(legal_entity=entity, data=data, actor=actor, ownership=ownership)
        if not values.get("agreement_id"):
            values["agreement_id"] = _next_agreement_id(entity)
        agreement = PurchaseAgreement.objects.create(legal_entity=entity, changed_by=actor.label, **values)
        audit.audit_record(
            actor=actor, action=AuditAction.CREATED, instance=agreement, changes=audit.created_changes(agreement)
        )
        return agreement


def agreement_update(*, agreement: PurchaseAgreement, data: Mapping[str, Any], actor: Actor) -> PurchaseAgreement:
    """Changes the given header fields; on a CLM-owned agreement people may change only the
    fields of SPEC §6.4."""
    with transaction.atomic():
        agreement = PurchaseAgreement.objects.select_for_update().get(pk=agreement.pk)
        values = agreement_prepare(legal_entity=agreement.legal_entity, data=data, actor=actor, agreement=agreement)
        changed = changed_fields(agreement, values)
        if changed:
            changes = audit.changes_for(agreement, {name: values[name] for name in changed})
            for name in changed:
                setattr(agreement, name, values[name])
            agreement.changed_by = actor.label
            agreement.save()
            audit.audit_record(actor=actor, action=_update_action(changed), instance=agreement, changes=changes)
    return agreement


def agreement_set_status(*, agreement: PurchaseAgreement, status: str, actor: Actor) -> PurchaseAgreement:
    return agreement_update(agreement=agreement, data={"status": status}, actor=actor)


def agreement_close(*, agreement: PurchaseAgreement, actor: Actor) -> PurchaseAgreement:
    return agreement_set_status(agreement=agreement, status=AgreementStatus.CLOSED, actor=actor)


def agreement_delete(*, agreement: PurchaseAgreement, actor: Actor) -> None:
    """Deletes an agreement with its lines. People cannot delete a CLM-owned one (SPEC §6.4)."""
    if agreement.is_clm_owned and not actor.acts_for_clm:
        raise ValidationFailed(
            [
                Problem(
                    "agreement_id", "a CLM-owned agreement cannot be deleted here; the CLM is its master.", "protected"
                )
            ]
        )
    with transaction.atomic():
        audit.audit_record(
            actor=actor, action=AuditAction.DELETED, instance=agreement, changes=audit.deleted_changes(agreement)
        )
        agreement.delete()


def agreements_close_expired(*, actor: Actor, today: datetime.date | None = None) -> int:
    """Closes agreements of Expired contracts whose expiration date has passed (SPEC §4).

    Run daily by the scheduler; returns how many agreements it closed.
    """
    today = today or timezone.localdate()
    closed = 0
    candidates = PurchaseAgreement.objects.filter(
        contract__status=ContractStatus.EXPIRED, status__in=[AgreementStatus.ON_HOLD, AgreementStatus.EFFECTIVE]
    ).select_related("contract")
    for agreement in candidates.iterator():
        if agreement_expiry_passed(agreement, today):
            agreement_close(agreement=agreement, actor=actor)
            closed += 1
    return closed


def agreement_expiry_passed(agreement: PurchaseAgreement, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    expires = agreement.default_expiration_date or (agreement.contract and agreement.contract.expiration_date)
    return bool(expires and expires < today)


# --- Lines --------------------------------------------------------------------------


def line_prepare(
    *,
    agreement: PurchaseAgreement,
    data: Mapping[str, Any],
    actor: Actor,
    line: PurchaseAgreementLine | None = None,
) -> dict[str, Any]:
    """Checks a line insert (``line`` None) or update against every §3.4 rule. Saves nothing."""
    problems = Problems()
    entity = agreement.legal_entity
    reject_unknown_keys(data, LINE_INPUT_FIELDS, problems)
    values = clean_scalars(PurchaseAgreementLine, data, LINE_SCALARS, problems)
    for name, ref in LINE_REFERENCES.items():
        if name in data:
            values[name] = reference_resolve(ref, data[name], legal_entity=entity, field_name=name, problems=problems)

    if line is None:
        if agreement.is_clm_owned and not actor.acts_for_clm:
            problems.add("agreement_id", "lines cannot be added to a CLM-owned agreement here.", "protected")
        values.setdefault("commitment_type", agreement.default_commitment_type)
        if values.get("line_number") is None and not problems.has("line_number"):
            values["line_number"] = _next_line_number(agreement)
    else:
        if "line_number" in values and values["line_number"] != line.line_number:
            problems.add("line_number", "cannot be changed; it is the line's key.", "read_only")
        _protect_clm_owned(agreement, line, values, CLM_OWNED_EDITABLE_LINE_FIELDS, actor, problems)

    line_number = values.get("line_number")
    if line_number is not None and line_number <= 0:
        problems.add("line_number", f"{line_number} must be greater than 0.")
    if line is None and PurchaseAgreementLine.objects.filter(agreement=agreement, line_number=line_number).exists():
        problems.add(
            "line_number", f"line {line_number} already exists on agreement {agreement.agreement_id}.", "conflict"
        )

    current = _Current(line, values)
    commitment = current.get("commitment_type")
    if not commitment:
        problems.add("commitment_type", "is required.", "required")
    else:
        _check_commitment_rules(commitment, current, problems)
    if (
        line is None
        and current.get("unit") is None
        and CommitmentType.is_quantity(commitment)
        and current.get("product")
    ):
        values["unit"] = current.get("product").unit
    for name in NOT_NEGATIVE_LINE_FIELDS:
        value = current.get(name)
        if value is not None and value < 0:
            problems.add(name, f"{value} is negative.", "negative")
    discount = current.get("line_discount_percentage")
    if discount is not None and not 0 <= discount <= 100:
        problems.add("line_discount_percentage", f"{discount} is not between 0 and 100.")
    minimum, maximum = current.get("minimum_release_amount"), current.get("maximum_release_amount")
    if minimum is not None and maximum is not None and maximum < minimum:
        problems.add("maximum_release_amount", f"{maximum} is below the minimum release amount {minimum}.")
    _check_date_order(current, "effective_date", "expiration_date", problems)
    product, variant = current.get("product"), current.get("product_variant")
    if variant is not None and product is not None and variant.product_id != product.pk:
        problems.add(
            "product_variant", f'variant "{variant.variant_number}" is not a variant of item "{product.item_number}".'
        )
    site, warehouse = current.get("receiving_site"), current.get("receiving_warehouse")
    if warehouse is not None and site is not None and warehouse.site_id != site.pk:
        problems.add("receiving_warehouse", f'warehouse "{warehouse.warehouse_id}" is not at site "{site.site_id}".')
    if line is None and warehouse is not None and site is None and "receiving_site" not in data:
        values["receiving_site"] = warehouse.site
    problems.raise_if_any()
    return values


def line_create(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    agreement: PurchaseAgreement | None = None,
    legal_entity: LegalEntity | str | None = None,
    agreement_id: str | None = None,
    external_contract_id: str | None = None,
) -> PurchaseAgreementLine:
    """Adds a line to an agreement given directly, by agreement id, or by the external
    contract id of its contract (SPEC §3.4)."""
    with transaction.atomic():
        if agreement is None:
            agreement = agreement_find(
                legal_entity=legal_entity, agreement_id=agreement_id, external_contract_id=external_contract_id
            )
        agreement = PurchaseAgreement.objects.select_for_update().get(pk=agreement.pk)
        values = line_prepare(agreement=agreement, data=data, actor=actor)
        line = PurchaseAgreementLine.objects.create(
            agreement=agreement, legal_entity_id=agreement.legal_entity_id, changed_by=actor.label, **values
        )
        audit.audit_record(actor=actor, action=AuditAction.CREATED, instance=line, changes=audit.created_changes(line))
        return line


def line_update(*, line: PurchaseAgreementLine, data: Mapping[str, Any], actor: Actor) -> PurchaseAgreementLine:
    with transaction.atomic():
        line = PurchaseAgreementLine.objects.select_for_update().select_related("agreement").get(pk=line.pk)
        values = line_prepare(agreement=line.agreement, data=data, actor=actor, line=line)
        changed = changed_fields(line, values)
        if changed:
            changes = audit.changes_for(line, {name: values[name] for name in changed})
            for name in changed:
                setattr(line, name, values[name])
            line.changed_by = actor.label
            line.save()
            audit.audit_record(actor=actor, action=AuditAction.UPDATED, instance=line, changes=changes)
    return line


def line_delete(*, line: PurchaseAgreementLine, actor: Actor) -> None:
    if line.agreement.is_clm_owned and not actor.acts_for_clm:
        raise ValidationFailed(
            [Problem("line_number", "lines of a CLM-owned agreement cannot be deleted here.", "protected")]
        )
    with transaction.atomic():
        audit.audit_record(actor=actor, action=AuditAction.DELETED, instance=line, changes=audit.deleted_changes(line))
        line.delete()


def agreement_find(
    *, legal_entity: LegalEntity | str | None, agreement_id: str | None = None, external_contract_id: str | None = None
) -> PurchaseAgreement:
    """The agreement named by its id or by its contract's external id, in one legal entity."""
    problems = Problems()
    entity = legal_entity_get(legal_entity, problems)
    problems.raise_if_any()
    agreements = PurchaseAgreement.objects.filter(legal_entity=entity)
    if agreement_id:
        found, field_name, value = agreements.filter(agreement_id=agreement_id).first(), "agreement_id", agreement_id
    elif external_contract_id:
        found = agreements.filter(external_contract_id=external_contract_id).order_by("-created_at").first()
        field_name, value = "external_contract_id", external_contract_id
    else:
        raise ValidationFailed([Problem("agreement_id", "give agreement_id or external_contract_id.", "required")])
    if found is None:
        raise ValidationFailed(
            [Problem(field_name, f'no purchase agreement "{value}" exists in legal entity {entity.code}.', "not_found")]
        )
    return found


# --- Rules shared by headers and lines ----------------------------------------------


class _Current:
    """The value a field will have after the write: the new one if given, else the stored one."""

    def __init__(self, instance, values: Mapping[str, Any]):
        self.instance, self.values = instance, values

    def get(self, name: str):
        if name in self.values:
            return self.values[name]
        return getattr(self.instance, name, None) if self.instance is not None else None


def _check_commitment_rules(commitment: str, current: _Current, problems: Problems) -> None:
    quantity, amount = current.get("committed_quantity"), current.get("committed_amount")
    if CommitmentType.is_quantity(commitment):
        if quantity is None and not problems.has("committed_quantity"):
            problems.add("committed_quantity", f"is required for {commitment} commitments.", "required")
        if amount is not None:
            problems.add("committed_amount", f"is not used by {commitment} commitments; give committed_quantity.")
    else:
        if amount is None and not problems.has("committed_amount"):
            problems.add("committed_amount", f"is required for {commitment} commitments.", "required")
        if quantity is not None:
            problems.add("committed_quantity", f"is not used by {commitment} commitments; give committed_amount.")
        for name in QUANTITY_ONLY_LINE_FIELDS:
            if current.get(name) is not None:
                problems.add(name, f"applies only to {CommitmentType.PRODUCT_QUANTITY} commitments.")
    if CommitmentType.needs_item(commitment):
        if current.get("product") is None and not problems.has("product"):
            problems.add("product", f"an item number is required for {commitment} commitments.", "required")
    elif current.get("product") is not None:
        problems.add("product", f"{commitment} commitments are for a category, not an item.")
    category = current.get("category")
    if CommitmentType.needs_category(commitment) and category is None and not problems.has("category"):
        problems.add("category", f"a procurement category is required for {commitment} commitments.", "required")
    if commitment == CommitmentType.PRODUCT_ROOT_CATEGORY and category is not None and not category.is_root:
        problems.add("category", f'"{category.name}" is not a root category.', "not_root")


def _update_action(changed: list[str]) -> str:
    return AuditAction.STATUS_CHANGED if changed == ["status"] else AuditAction.UPDATED


def _check_date_order(current: _Current, start: str, end: str, problems: Problems) -> None:
    begins, ends = current.get(start), current.get(end)
    if begins and ends and ends < begins:
        problems.add(end, f"{ends} is before {start.replace('_', ' ')} {begins}.", "date_order")


def _protect_clm_owned(agreement, instance, values, editable, actor: Actor, problems: Problems) -> None:
    """People may change only the ``editable`` fields of a CLM-owned agreement or its lines."""
    if not agreement.is_clm_owned or actor.acts_for_clm:
        return
    for name in changed_fields(instance, values):
        if name not in editable:
            problems.add(name, "cannot be changed on a CLM-owned agreement; the CLM is its master.", "protected")


def _contract_resolve(data: Mapping[str, Any], entity: LegalEntity, problems: Problems) -> Contract | None:
    contract_id = str(data.get("contract_id") or "").strip()
    if not contract_id:
        return None
    contract_entity = entity
    if data.get("contract_legal_entity"):
        contract_entity = LegalEntity.objects.filter(code=str(data["contract_legal_entity"]).strip().upper()).first()
        if contract_entity is None:
            problems.add(
                "contract_legal_entity", f'there is no legal entity "{data["contract_legal_entity"]}".', "not_found"
            )
            return None
    contract = Contract.objects.filter(legal_entity=contract_entity, contract_id=contract_id).first()
    if contract is None:
        problems.add(
            "contract_id", f'no contract "{contract_id}" exists in legal entity {contract_entity.code}.', "not_found"
        )
    return contract


def _next_agreement_id(entity: LegalEntity) -> str:
    sequence, _ = AgreementNumberSequence.objects.select_for_update().get_or_create(legal_entity=entity)
    while True:
        candidate = sequence.format(sequence.next_number)
        sequence.next_number += 1
        if not PurchaseAgreement.objects.filter(legal_entity=entity, agreement_id=candidate).exists():
            sequence.save(update_fields=["next_number"])
            return candidate


def _next_line_number(agreement: PurchaseAgreement):
    last = agreement.lines.order_by("-line_number").values_list("line_number", flat=True).first()
    return (int(last) + 1) if last is not None else 1
