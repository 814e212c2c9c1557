"""New rows inserted in bulk (``rows_insert``: COPY on PostgreSQL) read back as written, take
ids the table's own sequence goes on from, and clash with stored keys as any insert would."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from contracts.choices import ContractStatus
from contracts.models import Contract, ContractStatusChange
from contracts.services.bulk import rows_insert
from contracts.tests import factories

pytestmark = pytest.mark.django_db

STAMP = datetime.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=datetime.UTC)


def new_contract(legal_entity, nda_type, vendor, usd, number):
    return Contract(
        legal_entity=legal_entity,
        contract_id=f"BULK-{number}",
        external_contract_id=f"clm-bulk-{number}",
        contract_type=nda_type,
        status=ContractStatus.EXECUTED,
        name=f"Mutual NDA «{number}», O'Brien & Co\ttabbed\nsecond line \\ backslash",
        account_relation_id=vendor.account_number,
        vendor=vendor,
        currency=usd,
        value=Decimal("1234567.89"),
        effective_date=datetime.date(2026, 1, 1),
        expiration_date=None,
        amendment_in_process=True,
        source_modified_at=STAMP,
        source_sequence=2**62,
    )


def test_bulk_inserted_contracts_read_back_exactly_as_written(legal_entity, nda_type, vendor, usd):
    contracts = [new_contract(legal_entity, nda_type, vendor, usd, number) for number in range(3)]

    rows_insert(Contract, contracts)

    assert all(contract.pk for contract in contracts)
    stored = Contract.objects.get(pk=contracts[1].pk)
    assert stored.name == "Mutual NDA «1», O'Brien & Co\ttabbed\nsecond line \\ backslash"
    assert (stored.value, stored.expiration_date, stored.source_modified_at) == (Decimal("1234567.89"), None, STAMP)
    assert (stored.vendor_id, stored.currency_id, stored.contract_type_id) == (vendor.pk, usd.pk, nda_type.pk)
    assert stored.amendment_in_process is True and stored.source_sequence == 2**62
    assert datetime.timedelta(0) <= stored.modified_at - stored.created_at < datetime.timedelta(seconds=1)


def test_ids_drawn_for_a_bulk_insert_never_clash_with_later_single_inserts(legal_entity, nda_type, vendor, usd):
    contracts = [new_contract(legal_entity, nda_type, vendor, usd, number) for number in range(5)]
    rows_insert(Contract, contracts)
    history = [ContractStatusChange(contract_id=contract.pk, to_status=contract.status) for contract in contracts]
    rows_insert(ContractStatusChange, history)

    later = factories.ContractFactory(legal_entity=legal_entity, contract_type=nda_type)

    assert later.pk > max(contract.pk for contract in contracts)
    assert ContractStatusChange.objects.filter(contract__in=contracts).count() == 5


def test_a_stored_key_makes_the_bulk_insert_fail_as_an_integrity_error(legal_entity, nda_type, vendor, usd):
    factories.ContractFactory(legal_entity=legal_entity, contract_id="BULK-1", contract_type=nda_type)
    contracts = [new_contract(legal_entity, nda_type, vendor, usd, number) for number in range(3)]

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(Contract, contracts)

    assert list(Contract.objects.values_list("contract_id", flat=True)) == ["BULK-1"]
