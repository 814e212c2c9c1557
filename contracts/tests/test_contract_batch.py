"""Contracts applied as a batch (``contracts_upsert``) meet exactly the rules of one applied
alone (``contract_upsert``), and cost a fixed number of SQL statements, not some per record."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from contracts.choices import AccountType, ContractFlowName, ContractStatus
from contracts.models import Contract, ContractStatusChange, ContractType, PurchaseAgreement
from contracts.services import ContractInput, UpsertOutcome, ValidationFailed, contract_upsert, contracts_upsert
from contracts.services import contracts as contract_services
from contracts.tests import factories

pytestmark = pytest.mark.django_db

MONDAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
TUESDAY = MONDAY + datetime.timedelta(days=1)
WEDNESDAY = MONDAY + datetime.timedelta(days=2)


def nda(**overrides):
    return {
        "contract_type": "NDA",
        "name": "Mutual NDA",
        "status": ContractStatus.DRAFT,
        "account_type": AccountType.VENDOR,
        "account_relation_id": "V-1001",
        "effective_date": datetime.date(2026, 1, 1),
        "expiration_date": datetime.date(2028, 12, 31),
        "source_modified_at": MONDAY,
        **overrides,
    }


def purchase(**overrides):
    return nda(contract_type="Purchase", name="Office chairs", currency="USD", value=Decimal("1200.00"), **overrides)


@pytest.fixture
def stored(legal_entity, connection, clm_actor, vendor, nda_type, purchase_type):
    """What the database holds before the records arrive."""
    factories.ContractTypeFactory(name="Retired", is_active=False)
    factories.WorkerFactory(legal_entity=legal_entity, name="Ada Lovelace", email="ada@example.com")
    factories.ContactPersonFactory(legal_entity=legal_entity, contact_person_id="CP-1", vendor=vendor)

    def put(contract_id, data):
        contract_upsert(
            legal_entity=legal_entity, contract_id=contract_id, data=data, actor=clm_actor, connection=connection
        )

    put("NDA-CHANGED", nda(external_contract_id="clm-changed", source_modified_at=TUESDAY))
    put("NDA-SAME", nda(external_contract_id="clm-same"))
    put("NDA-STALE", nda(source_modified_at=WEDNESDAY))
    put("NDA-MOVES", nda(external_contract_id="clm-moving"))
    put("PC-TO-EXECUTE", purchase())
    put("PC-TO-TERMINATE", purchase(status=ContractStatus.EXECUTED))
    return connection


def records():
    """New, changed, unchanged, stale, invalid in each way, flows with effects, duplicates."""
    return [
        ("USMF", "NDA-NEW", nda(status=ContractStatus.EXECUTED, external_contract_id="clm-new")),
        ("USMF", "NDA-RICH", nda(currency="USD", contact_person_id="CP-1", requester_worker_name="ada lovelace")),
        ("USMF", "NDA-CHANGED", nda(name="Renamed NDA", source_modified_at=WEDNESDAY)),
        ("USMF", "NDA-SAME", nda(external_contract_id="clm-same")),
        ("USMF", "NDA-STALE", nda(name="Older", contract_type="No such type", source_modified_at=MONDAY)),
        ("USMF", "NDA-STAMP", nda(source_sequence=3)),
        ("USMF", "NDA-STAMP", nda(source_sequence=4)),
        ("USMF", "BAD-KEY", nda(colour="blue")),
        ("USMF", "BAD-STATUS", nda(status="Shredded")),
        ("USMF", "BAD-VALUE", nda(value="-5", expiration_date=datetime.date(2025, 1, 1))),
        ("USMF", "BAD-VENDOR", nda(account_relation_id="V-404")),
        ("USMF", "BAD-CONTACT", nda(contact_person_id="CP-404", currency="XXX")),
        ("USMF", "BAD-INACTIVE", nda(contract_type="Retired")),
        ("USMF", "BAD-NAME", {"contract_type": "NDA"}),
        ("USMF", "", nda()),
        ("USMF", "X" * 61, nda()),
        ("NOPE", "NDA-NOWHERE", nda()),
        ("USMF", "BAD-CLASH", nda(external_contract_id="clm-changed")),
        ("USMF", "SIDE-1", nda(contract_type="Side letter")),
        ("USMF", "SIDE-2", nda(contract_type="Side letter", value="-1")),
        ("USMF", "PC-TO-EXECUTE", {"status": ContractStatus.EXECUTED, "source_modified_at": TUESDAY}),
        ("USMF", "PC-TO-TERMINATE", {"status": ContractStatus.TERMINATED, "source_modified_at": TUESDAY}),
        ("USMF", "PC-NEW", purchase(status=ContractStatus.EXECUTED, external_contract_id="clm-pc-new")),
        ("USMF", "PC-NO-VENDOR", purchase(status=ContractStatus.EXECUTED, account_type=AccountType.CUSTOMER)),
        ("USMF", "NDA-DUP", nda()),
        ("USMF", "NDA-DUP", nda(status=ContractStatus.EXECUTED, source_modified_at=TUESDAY)),
        ("USMF", "NDA-DUP", nda(name="Late", source_modified_at=MONDAY)),
        ("USMF", "SHARED-1", nda(external_contract_id="clm-shared")),
        ("USMF", "SHARED-2", nda(external_contract_id="clm-shared")),
        ("USMF", "NDA-MOVES", nda(external_contract_id="clm-moved", source_modified_at=TUESDAY)),
        ("USMF", "TAKES-MOVED", nda(external_contract_id="clm-moving")),
    ]


def one_by_one(items, *, actor, connection):
    """The single path, as a pull used to apply a page: each record in its own savepoint."""
    results = []
    for legal_entity, contract_id, data in items:
        try:
            with transaction.atomic():
                results.append(
                    contract_upsert(
                        legal_entity=legal_entity,
                        contract_id=contract_id,
                        data=data,
                        actor=actor,
                        connection=connection,
                    )
                )
        except ValidationFailed as failure:
            results.append(failure)
    return results


def as_batch(items, *, actor, connection):
    inputs = [ContractInput(legal_entity, contract_id, data) for legal_entity, contract_id, data in items]
    return contracts_upsert(records=inputs, actor=actor, connection=connection)


def answers(results):
    return [
        result.as_list() if isinstance(result, ValidationFailed) else (result.contract.contract_id, result.outcome)
        for result in results
    ]


# Ids and clock times differ between two runs; what the ids point to is compared by key.
IGNORED = {"id", "created_at", "modified_at", "last_synced_at", "agreement_id", "contract_id", "contract_type_id"}


def database_state():
    """Everything the records may change, by natural key."""

    def rows(queryset, key, *related):
        columns = (key, *related, *(field.attname for field in queryset.model._meta.fields))
        return sorted(
            (row[key], {name: value for name, value in row.items() if name not in IGNORED})
            for row in queryset.values(*columns)
        )

    return {
        "contracts": rows(Contract.objects.all(), "contract_id", "contract_type__name"),
        "history": sorted(
            ContractStatusChange.objects.values_list(
                "contract__contract_id", "from_status", "to_status", "changed_by", "source_modified_at"
            )
        ),
        "agreements": rows(PurchaseAgreement.objects.all(), "contract__contract_id"),
        "types": sorted(ContractType.objects.values_list("name", "flow", "needs_review", "is_active")),
    }


class Undo(Exception):
    pass


def applied(apply, *, actor, connection):
    """The answers and the resulting state of ``apply``, then undone for the next one."""
    try:
        with transaction.atomic():
            outcome = answers(apply(records(), actor=actor, connection=connection)), database_state()
            raise Undo
    except Undo:
        return outcome


@pytest.mark.parametrize("create_unknown_types", [False, True])
def test_a_batch_gives_the_same_answers_and_database_as_one_record_at_a_time(stored, clm_actor, create_unknown_types):
    stored.create_unknown_contract_types = create_unknown_types
    stored.save()

    single = applied(one_by_one, actor=clm_actor, connection=stored)
    batch = applied(as_batch, actor=clm_actor, connection=stored)

    assert batch[0] == single[0]
    assert batch[1] == single[1]


def test_the_batch_covers_every_outcome_and_flow_effect(stored, clm_actor):
    results = dict(enumerate(as_batch(records(), actor=clm_actor, connection=stored)))

    outcomes = {
        records()[index][1]: result.outcome
        for index, result in results.items()
        if not isinstance(result, ValidationFailed)
    }
    assert outcomes["NDA-NEW"] == UpsertOutcome.CREATED
    assert outcomes["NDA-CHANGED"] == UpsertOutcome.UPDATED
    assert outcomes["NDA-SAME"] == UpsertOutcome.UNCHANGED
    assert outcomes["NDA-STALE"] == UpsertOutcome.STALE
    assert Contract.objects.get(contract_id="PC-TO-EXECUTE").agreements.get().status == "Effective"
    assert Contract.objects.get(contract_id="PC-TO-TERMINATE").agreements.get().status == "Closed"
    assert Contract.objects.get(contract_id="PC-NEW").agreements.exists()
    assert not Contract.objects.filter(contract_id="PC-NO-VENDOR").exists()
    # Repeated keys are applied in input order: the second NDA-DUP executes it, the third is stale.
    assert [results[index].outcome for index in (24, 25, 26)] == ["created", "updated", "stale"]
    assert isinstance(results[28], ValidationFailed)  # SHARED-2: SHARED-1 took the external id first
    assert results[30].outcome == UpsertOutcome.CREATED  # the id NDA-MOVES gave up earlier in the batch


def test_a_batch_of_new_contracts_costs_a_fixed_number_of_statements(
    legal_entity, connection, clm_actor, vendor, nda_type, django_assert_max_num_queries
):
    items = [ContractInput("USMF", f"NDA-{n:04d}", nda(external_contract_id=f"clm-{n}")) for n in range(100)]

    with django_assert_max_num_queries(15):
        results = contracts_upsert(records=items, actor=clm_actor, connection=connection)

    assert [result.outcome for result in results] == [UpsertOutcome.CREATED] * 100
    assert ContractStatusChange.objects.filter(contract__legal_entity=legal_entity).count() == 100


def test_a_record_the_database_refuses_does_not_lose_the_others(
    legal_entity, connection, clm_actor, vendor, nda_type, monkeypatch
):
    """A concurrent writer stored NDA-RACE after the batch looked: its insert fails, the batch
    is applied again record by record, and only what still clashes fails."""
    factories.ContractFactory(
        legal_entity=legal_entity, contract_id="NDA-RACE", contract_type=nda_type, connection=connection
    )
    locked = contract_services._contracts_locked
    calls = []

    def blind_first_time(upserts):
        calls.append(1)
        return {} if len(calls) == 1 else locked(upserts)

    monkeypatch.setattr(contract_services, "_contracts_locked", blind_first_time)
    items = [ContractInput("USMF", contract_id, nda()) for contract_id in ("NDA-A", "NDA-RACE", "NDA-B")]

    results = contracts_upsert(records=items, actor=clm_actor, connection=connection)

    assert [getattr(result, "outcome", result) for result in results] == ["created", "updated", "created"]
    assert Contract.objects.filter(contract_id__in=["NDA-A", "NDA-B"]).count() == 2


def test_a_flow_that_refuses_one_record_leaves_the_others_written(
    legal_entity, connection, clm_actor, vendor, purchase_type, nda_type
):
    items = [
        ContractInput("USMF", "PC-NO-VENDOR", purchase(status=ContractStatus.EXECUTED, account_type="Cust")),
        ContractInput("USMF", "NDA-FINE", nda()),
    ]

    refused, written = contracts_upsert(records=items, actor=clm_actor, connection=connection)

    assert isinstance(refused, ValidationFailed)
    assert refused.problems[0].field == "account_relation_id"
    assert written.outcome == UpsertOutcome.CREATED
    assert list(Contract.objects.values_list("contract_id", flat=True)) == ["NDA-FINE"]


def test_an_unknown_type_is_created_once_for_the_whole_batch(legal_entity, connection, clm_actor, vendor):
    connection.create_unknown_contract_types = True
    connection.save()
    items = [ContractInput("USMF", f"SL-{n}", nda(contract_type="Side letter")) for n in range(3)]

    contracts_upsert(records=items, actor=clm_actor, connection=connection)

    side_letter = ContractType.objects.get(name="Side letter")
    assert (side_letter.flow, side_letter.needs_review) == (ContractFlowName.LIGHTWEIGHT, True)
    assert side_letter.contracts.count() == 3
