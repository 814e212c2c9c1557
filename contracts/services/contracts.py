"""Writing contracts: upsert by natural key, and the one door for status changes (SPEC §3.3, §4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import DataError, IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from contracts.choices import AccountType, AuditAction, ContractFlowName, ContractStatus
from contracts.models import (
    AuditEntry,
    ContactPerson,
    Contract,
    ContractStatusChange,
    ContractType,
    Currency,
    LegalEntity,
    Vendor,
    Worker,
)

from . import audit
from .bulk import rows_insert
from .common import (
    Actor,
    Problem,
    Problems,
    ValidationFailed,
    changed_fields,
    clean_scalars,
    legal_entity_get,
    reference_keys_checked,
    reject_unknown_keys,
    unstorable_text,
)
from .references import Reference, master_data_reference, reference_resolve, worker_resolve

if TYPE_CHECKING:
    from connectors.flows.base import ContractFlow


class UpsertOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    STALE = "stale", "Skipped as stale"


@dataclass(frozen=True)
class ContractUpsertResult:
    contract: Contract
    outcome: str


@dataclass(frozen=True)
class ContractInput:
    """One contract as a source sends it: its key and the fields ``contract_upsert`` takes
    (a connector's ``connectors.base.ContractRecord`` is one)."""

    legal_entity: LegalEntity | str
    contract_id: str
    data: Mapping[str, Any]


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

# What the bulk API has always answered for a record the database refuses.
DATABASE_REFUSED = Problem(None, "the database refused the record; it clashes with a stored one.", "conflict")

CURRENCY = master_data_reference(Currency)
# A set, built once: the enum's ``values`` builds a new list on every read.
CONTRACT_STATUSES = frozenset(ContractStatus.values)
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
    A batch of one: :func:`contracts_upsert` holds the rules.
    """
    [result] = _upsert_batch([ContractInput(legal_entity, contract_id, data)], actor=actor, connection=connection)
    if isinstance(result, ValidationFailed):
        raise result
    return result


def contracts_upsert(
    *, records: Sequence[ContractInput], actor: Actor, connection=None, raise_database_errors: bool = False
) -> list[ContractUpsertResult | ValidationFailed]:
    """Applies many contracts with exactly the rules of :func:`contract_upsert`, as a batch.

    Answers in input order: each record's result, or its ``ValidationFailed`` (a failing
    record never stops the others). What the records name is read once per batch, new
    contracts and their first history rows are inserted in bulk, and a record with the same
    key as an earlier one is applied after it, as if they had come one by one.

    Should the database refuse the batch (a concurrent write of the same key), it is applied
    again record by record, each in its own savepoint; a record it still refuses fails with
    code ``conflict``, or raises when ``raise_database_errors`` (so a pull retries its page).
    """
    try:
        with transaction.atomic():
            return _upsert_batch(records, actor=actor, connection=connection)
    except (IntegrityError, DataError):
        if len(records) < 2:
            if raise_database_errors:
                raise
            return [ValidationFailed([DATABASE_REFUSED])]
    results = []
    for record in records:
        try:
            with transaction.atomic():
                results.extend(_upsert_batch([record], actor=actor, connection=connection))
        except (IntegrityError, DataError):
            if raise_database_errors:
                raise
            results.append(ValidationFailed([DATABASE_REFUSED]))
    return results


@dataclass
class _Upsert:
    """One record on its way through a batch."""

    entity: LegalEntity
    contract_id: str
    data: Mapping[str, Any]
    values: dict[str, Any]
    problems: Problems
    contract: Contract | None = None
    creating: bool = False

    @property
    def key(self) -> tuple[int, str]:
        return self.entity.pk, self.contract_id


def _upsert_batch(
    records: Sequence[ContractInput], *, actor: Actor, connection
) -> list[ContractUpsertResult | ValidationFailed]:
    lookups = _Lookups(records, actor=actor, connection=connection)
    results: list[ContractUpsertResult | ValidationFailed | None] = [None] * len(records)
    upserts: dict[int, _Upsert] = {}
    for index, record in enumerate(records):
        try:
            upserts[index] = _upsert_prepare(record, lookups)
        except ValidationFailed as failure:
            results[index] = failure
    for part in _parts_without_repeated_keys(upserts):
        with transaction.atomic():
            for index, result in _upsert_part(part, lookups, actor=actor, connection=connection).items():
                results[index] = result
    return results


def _upsert_prepare(record: ContractInput, lookups: _Lookups) -> _Upsert:
    """The checks that need no stored contract; raises only when the legal entity is unknown."""
    problems = Problems()
    entity = lookups.legal_entity(record.legal_entity, problems)
    contract_id = (record.contract_id or "").strip()
    if not contract_id:
        problems.add("contract_id", "is required.", "required")
    elif len(contract_id) > Contract._meta.get_field("contract_id").max_length:
        problems.add("contract_id", "is longer than 60 characters.")
    elif unstorable_text(contract_id):
        problems.add("contract_id", unstorable_text(contract_id))
        contract_id = ""  # refused, and never looked up: the database cannot even compare it
    data = reference_keys_checked(record.data, ("contract_type", "currency"), problems)
    reject_unknown_keys(data, CONTRACT_INPUT_FIELDS, problems)
    scalar_fields = CONTRACT_SCALAR_FIELDS
    if "status" in data and (not isinstance(data["status"], str) or data["status"] not in CONTRACT_STATUSES):
        problems.found.append(_unknown_status_problem(data["status"]))
        scalar_fields = tuple(name for name in scalar_fields if name != "status")
    values = clean_scalars(Contract, data, scalar_fields, problems)
    if entity is None:
        problems.raise_if_any()
    return _Upsert(entity, contract_id, data, values, problems)


def _parts_without_repeated_keys(upserts: dict[int, _Upsert]) -> list[dict[int, _Upsert]]:
    """Splits the batch before each repeated key, so a repeat sees what the earlier one wrote."""
    parts: list[dict[int, _Upsert]] = [{}]
    keys: set[tuple[int, str]] = set()
    for index, upsert in upserts.items():
        if upsert.key in keys:
            parts.append({})
            keys.clear()
        keys.add(upsert.key)
        parts[-1][index] = upsert
    return [part for part in parts if part]


def _upsert_part(
    part: dict[int, _Upsert], lookups: _Lookups, *, actor: Actor, connection
) -> dict[int, ContractUpsertResult | ValidationFailed]:
    """Applies records with distinct keys: checks all of them, then writes the valid ones."""
    results: dict[int, ContractUpsertResult | ValidationFailed] = {}
    stored = _contracts_locked(part.values())
    checked: dict[int, _Upsert] = {}
    for index, upsert in part.items():
        contract = stored.get(upsert.key)
        if contract is not None and not upsert.problems.found and _is_stale(contract, upsert.values):
            results[index] = ContractUpsertResult(contract, UpsertOutcome.STALE)
            continue
        upsert.creating = contract is None
        upsert.contract = contract or Contract(
            legal_entity=upsert.entity, contract_id=upsert.contract_id, connection=connection
        )
        checked[index] = upsert
    lookups.load(checked.values())

    accepted: dict[int, _Upsert] = {}
    for index, upsert in checked.items():
        problems, contract, data, values = upsert.problems, upsert.contract, upsert.data, upsert.values
        if upsert.creating:
            for name in REQUIRED_ON_CREATE:
                if data.get(name) in (None, ""):
                    problems.add(name, "is required for a new contract.", "required")
        elif connection is not None and contract.connection_id not in (None, connection.pk):
            problems.add("contract_id", f"belongs to connection {contract.connection}, not {connection}.", "conflict")
        if "contract_type" in data and data["contract_type"] not in (None, ""):
            values["contract_type"] = lookups.contract_type(data["contract_type"], problems)
        if "currency" in data:
            values["currency"] = lookups.reference(CURRENCY, data["currency"], upsert.entity, "currency", problems)
        _resolve_parties(contract, values, upsert.entity, problems, lookups)
        _check_rules(contract, values, problems, lookups)
        if problems.found:
            results[index] = ValidationFailed(problems.found)
            continue
        lookups.claim_external_id(contract, values)
        accepted[index] = upsert

    lookups.save_new_contract_types(upsert.values.get("contract_type") for upsert in accepted.values())
    inserts: list[Contract] = []
    entries: list[AuditEntry] = []
    for index, upsert in accepted.items():
        result = _upsert_write(upsert, actor=actor, inserts=inserts, entries=entries)
        results[index] = result if result is not None else ContractUpsertResult(upsert.contract, UpsertOutcome.CREATED)
    if inserts:
        # New contracts whose flow has no effects: inserted, with their first status rows, in bulk.
        rows_insert(Contract, inserts)
        rows_insert(
            ContractStatusChange, [_status_change(contract, previous_status="", actor=actor) for contract in inserts]
        )
        entries.extend(_created_entry(contract, actor) for contract in inserts)
    audit.audit_record_many(entries)
    return results


def _upsert_write(
    upsert: _Upsert, *, actor: Actor, inserts: list[Contract], entries: list[AuditEntry]
) -> ContractUpsertResult | ValidationFailed | None:
    """Writes one checked record, or adds it to ``inserts`` (then ``None``); adds the audit
    entry of a written change to ``entries`` (its status change audits itself)."""
    contract, values, creating = upsert.contract, upsert.values, upsert.creating
    new_status = values.pop("status", None)
    changed = changed_fields(contract, values)
    changes = {} if creating else audit.changes_for(contract, {name: values[name] for name in changed})
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
    flow = _flow_of(contract)
    if creating and flow is not None and not flow.has_effects:
        contract.status = new_status or ContractStatus.DRAFT
        inserts.append(contract)
        return None
    try:
        # A flow may refuse the contract (say, an executed purchase contract without a vendor):
        # its savepoint then undoes this record alone.
        with transaction.atomic():
            if creating:
                contract_set_status(contract=contract, status=new_status or ContractStatus.DRAFT, actor=actor)
            elif status_changes:
                contract.save()
                contract_set_status(contract=contract, status=new_status, actor=actor)
            else:
                contract.save()
                _apply_flow(contract, previous_status=previous_status, actor=actor)
    except ValidationFailed as failure:
        return failure
    if creating:
        entries.append(_created_entry(contract, actor))
    elif changes:
        entries.append(audit.audit_entry(actor=actor, action=AuditAction.UPDATED, instance=contract, changes=changes))
    return ContractUpsertResult(contract, UpsertOutcome.CREATED if creating else UpsertOutcome.UPDATED)


def _created_entry(contract: Contract, actor: Actor) -> AuditEntry:
    changes = audit.created_changes(contract)
    return audit.audit_entry(actor=actor, action=AuditAction.CREATED, instance=contract, changes=changes)


def _contracts_locked(upserts: Iterable[_Upsert]) -> dict[tuple[int, str], Contract]:
    """The stored contracts of the batch, locked as the single path locks its one, by key."""
    ids_by_entity: dict[int, list[str]] = {}
    for upsert in upserts:
        ids_by_entity.setdefault(upsert.entity.pk, []).append(upsert.contract_id)
    if not ids_by_entity:
        return {}
    wanted = Q()
    for entity_id, contract_ids in ids_by_entity.items():
        wanted |= Q(legal_entity_id=entity_id, contract_id__in=contract_ids)
    stored = Contract.objects.select_for_update(of=("self",)).select_related("contract_type").filter(wanted)
    return {(contract.legal_entity_id, contract.contract_id): contract for contract in stored}


class _Lookups:
    """What a batch's records name, read once per batch (one query per kind), and the
    external ids they claim. A name not found is handed on as given to the single-record
    resolver, which reports it in its own words."""

    def __init__(self, records: Sequence[ContractInput], *, actor: Actor, connection):
        self.actor, self.connection = actor, connection
        codes = {_code(record.legal_entity) for record in records if not isinstance(record.legal_entity, LegalEntity)}
        self.legal_entities = {entity.code: entity for entity in LegalEntity.objects.filter(code__in=codes)}
        self.contract_types: dict[str, ContractType] = {}
        self.references: dict[Reference, dict[tuple[int | None, str], models.Model]] = {}
        self.workers: dict[tuple[int, str, str], Worker | None] = {}
        # (connection id, external id) -> (legal entity id, contract id, legal entity code) of its holder
        self.external_ids: dict[tuple[int, str], tuple[int, str, str]] = {}

    def legal_entity(self, legal_entity: LegalEntity | str, problems: Problems) -> LegalEntity | None:
        if not isinstance(legal_entity, LegalEntity):
            legal_entity = self.legal_entities.get(_code(legal_entity), legal_entity)
        return legal_entity_get(legal_entity, problems)

    def load(self, upserts: Iterable[_Upsert]) -> None:
        type_names, wanted, external_ids = set(), {CURRENCY: set(), VENDOR: set(), CONTACT_PERSON: set()}, {}
        for upsert in upserts:
            data, values, contract, entity_id = upsert.data, upsert.values, upsert.contract, upsert.entity.pk
            if data.get("contract_type") not in (None, ""):
                type_names.add(str(data["contract_type"]).strip())
            wanted[CURRENCY].add((None, data.get("currency")))
            if values.get("account_type", contract.account_type) == AccountType.VENDOR:
                wanted[VENDOR].add((entity_id, values.get("account_relation_id", contract.account_relation_id)))
            wanted[CONTACT_PERSON].add((entity_id, values.get("contact_person_id")))
            external_id = values.get("external_contract_id", contract.external_contract_id)
            if external_id and contract.connection_id:
                external_ids.setdefault(contract.connection_id, set()).add(external_id)
        names = type_names - self.contract_types.keys()
        self.contract_types.update((found.name, found) for found in ContractType.objects.filter(name__in=names))
        for ref, keys in wanted.items():
            self._load_references(ref, keys)
        self._load_external_ids(external_ids)

    def _load_references(self, ref: Reference, keys: set[tuple[int | None, Any]]) -> None:
        known = self.references.setdefault(ref, {})
        by_entity: dict[int | None, set[str]] = {}
        for entity_id, value in keys:
            if value in (None, "") or isinstance(value, ref.model):
                continue
            key = (entity_id if ref.per_legal_entity else None, str(value).strip())
            if key not in known:
                by_entity.setdefault(key[0], set()).add(key[1])
        if not by_entity:
            return
        wanted = Q()
        for entity_id, names in by_entity.items():
            wanted |= Q(**{f"{ref.key}__in": names}, **({"legal_entity_id": entity_id} if ref.per_legal_entity else {}))
        for found in ref.model._default_manager.filter(wanted):
            entity_id = found.legal_entity_id if ref.per_legal_entity else None
            known[entity_id, getattr(found, ref.key)] = found

    def _load_external_ids(self, external_ids: dict[int, set[str]]) -> None:
        wanted = Q()
        for connection_id, ids in external_ids.items():
            wanted |= Q(connection_id=connection_id, external_contract_id__in=ids)
        if not wanted:
            return
        holders = Contract.objects.filter(wanted).values_list(
            "connection_id", "external_contract_id", "legal_entity_id", "contract_id", "legal_entity__code"
        )
        for connection_id, external_id, *holder in holders:
            self.external_ids.setdefault((connection_id, external_id), tuple(holder))

    def reference(self, ref: Reference, value, entity: LegalEntity, field_name: str, problems: Problems):
        if value not in (None, "") and not isinstance(value, ref.model):
            key = (entity.pk if ref.per_legal_entity else None, str(value).strip())
            value = self.references.get(ref, {}).get(key, value)
        return reference_resolve(ref, value, legal_entity=entity, field_name=field_name, problems=problems)

    def contract_type(self, name, problems: Problems) -> ContractType | None:
        name = str(name).strip()
        contract_type = self.contract_types.get(name)
        if contract_type is not None:
            if not contract_type.is_active:
                problems.add("contract_type", f'contract type "{name}" is not active.', "inactive")
            return contract_type
        if self.connection is not None and self.connection.create_unknown_contract_types:
            # Saved only once a record that names it is accepted (save_new_contract_types).
            contract_type = ContractType(
                name=name, flow=ContractFlowName.LIGHTWEIGHT, needs_review=True, changed_by=self.actor.label
            )
            self.contract_types[name] = contract_type
            return contract_type
        problems.add("contract_type", f'no contract type "{name}" exists; create it first.', "not_found")
        return None

    def save_new_contract_types(self, contract_types: Iterable[ContractType | None]) -> None:
        for contract_type in contract_types:
            if contract_type is not None and contract_type._state.adding:
                contract_type.save()
                changes, created = audit.created_changes(contract_type), AuditAction.CREATED
                audit.audit_record(actor=self.actor, action=created, instance=contract_type, changes=changes)

    def worker(self, entity: LegalEntity, name: str, email: str) -> Worker | None:
        key = (entity.pk, name, email)
        if key not in self.workers:
            self.workers[key] = worker_resolve(legal_entity=entity, name=name, email=email)
        return self.workers[key]

    def external_id_holder(self, contract: Contract, external_id: str) -> tuple[str, str] | None:
        """Another contract that holds ``external_id`` on the contract's connection: (id, entity code)."""
        holder = self.external_ids.get((contract.connection_id, external_id))
        if holder is None or holder[:2] == (contract.legal_entity_id, contract.contract_id):
            return None
        return holder[1], holder[2]

    def claim_external_id(self, contract: Contract, values: Mapping[str, Any]) -> None:
        """Moves the contract's external id in the map, so later records of the batch see it."""
        if not contract.connection_id or "external_contract_id" not in values:
            return
        holder = (contract.legal_entity_id, contract.contract_id, contract.legal_entity.code)
        previous = (contract.connection_id, contract.external_contract_id)
        if self.external_ids.get(previous, (None, None))[:2] == holder[:2]:
            del self.external_ids[previous]
        if values["external_contract_id"]:
            self.external_ids[contract.connection_id, values["external_contract_id"]] = holder


def _code(legal_entity) -> str:
    return str(legal_entity or "").strip().upper()


def _flow_of(contract: Contract) -> ContractFlow | None:
    """The contract's flow; ``None`` when its type names none that is registered (the
    single-record write then reports that)."""
    from connectors.flows.registry import flow_for

    try:
        return flow_for(contract.contract_type.flow)
    except ValidationFailed:
        return None


def _status_change(contract: Contract, *, previous_status: str, actor: Actor) -> ContractStatusChange:
    return ContractStatusChange(
        contract_id=contract.pk,
        from_status=previous_status,
        to_status=contract.status,
        changed_by=actor.label,
        source_modified_at=contract.source_modified_at,
    )


def contract_set_status(*, contract: Contract, status: str, actor: Actor) -> Contract:
    """The one door for a contract's status: records the history row, then the flow's effects.

    The CLM is the master of status, so every reported status is accepted (SPEC §4). A
    contract not yet saved is saved here, with its first status as the first history row.
    """
    if status not in CONTRACT_STATUSES:
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
        _status_change(contract, previous_status=previous_status, actor=actor).save()
        if not creating:  # a new contract's entry is its creation's, written by whoever creates it
            changes = {"status": [previous_status, status]}
            audit.audit_record(actor=actor, action=AuditAction.STATUS_CHANGED, instance=contract, changes=changes)
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
    with transaction.atomic():
        contract_type, created = ContractType.objects.get_or_create(name=name, defaults={"changed_by": actor.label})
        values = {"description": description, "flow": flow, "is_active": is_active}
        values = {attr: value for attr, value in values.items() if value is not None}
        changes = audit.changes_for(contract_type, values)
        for attr, value in values.items():
            setattr(contract_type, attr, value)
        contract_type.changed_by = actor.label
        contract_type.save()
        if created:
            audit.audit_record(
                actor=actor,
                action=AuditAction.CREATED,
                instance=contract_type,
                changes=audit.created_changes(contract_type),
            )
        elif changes:
            audit.audit_record(actor=actor, action=AuditAction.UPDATED, instance=contract_type, changes=changes)
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


def _resolve_parties(contract: Contract, values: dict, entity: LegalEntity, problems: Problems, lookups: _Lookups):
    """Links the vendor, contact person and requester that the source names by key."""
    account_type = values.get("account_type", contract.account_type)
    account = values.get("account_relation_id", contract.account_relation_id)
    if {"account_type", "account_relation_id"} & values.keys():
        vendor = None
        if account_type == AccountType.VENDOR and account:
            vendor = lookups.reference(VENDOR, account, entity, "account_relation_id", problems)
        values["vendor"] = vendor
        if vendor is not None and not values.get("party_number", contract.party_number):
            values["party_number"] = vendor.party_number
        if vendor is not None and not values.get("party_name", contract.party_name):
            values["party_name"] = vendor.name
    if "contact_person_id" in values:
        values["contact"] = lookups.reference(
            CONTACT_PERSON, values["contact_person_id"], entity, "contact_person_id", problems
        )
    if {"requester_worker_name", "requester_worker_email"} & values.keys():
        # A requester the ERP does not know is kept as text: the contract is still the CLM's truth.
        values["requester_worker"] = lookups.worker(
            entity,
            values.get("requester_worker_name", contract.requester_worker_name),
            values.get("requester_worker_email", contract.requester_worker_email),
        )


def _check_rules(contract: Contract, values: dict, problems: Problems, lookups: _Lookups) -> None:
    value = values.get("value")
    if value is not None and value < 0:
        problems.add("value", f"{value} is negative.", "negative")
    effective = values.get("effective_date", contract.effective_date)
    expiration = values.get("expiration_date", contract.expiration_date)
    if effective and expiration and expiration < effective:
        problems.add("expiration_date", f"{expiration} is before the effective date {effective}.", "date_order")
    external_id = values.get("external_contract_id", contract.external_contract_id)
    if external_id and contract.connection_id:
        other = lookups.external_id_holder(contract, external_id)
        if other is not None:
            # Named only in the same legal entity: the writer may not be granted another one's.
            holder = f"contract {other[0]}" if other[1] == contract.legal_entity.code else "another contract"
            problems.add(
                "external_contract_id", f'"{external_id}" already identifies {holder} on this connection.', "conflict"
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
    with transaction.atomic():
        changes = audit.deleted_changes(contract)
        audit.audit_record(actor=actor, action=AuditAction.DELETED, instance=contract, changes=changes)
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
    with transaction.atomic():
        changes = audit.deleted_changes(contract_type)
        audit.audit_record(actor=actor, action=AuditAction.DELETED, instance=contract_type, changes=changes)
        contract_type.delete()
