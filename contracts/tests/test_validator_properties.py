"""The services' validators take any value in any field (issue 9): a write is stored as it was
checked, or refused with problems that name the fields, and then nothing of it is stored.

Property tests with hypothesis: text, numbers, objects and lists, huge strings, NUL, lone
surrogates, dates beyond the calendar and decimals no column holds, in every input field of
``contract_upsert``/``contracts_upsert``, ``agreement_create`` and ``line_create``. Each example
runs in a savepoint that is rolled back, so every one sees the same records. The budget is
small in the suite and ``FUZZ_MAX_EXAMPLES`` (``make fuzz``) raises it.
"""

from __future__ import annotations

import os

import pytest
from django.db import transaction
from hypothesis import event, given
from hypothesis import strategies as st

from contracts.models import Contract, ContractStatusChange, PurchaseAgreement, PurchaseAgreementLine
from contracts.services import Actor, ValidationFailed, agreement_create, contract_upsert, contracts_upsert, line_create
from contracts.services.agreements import HEADER_INPUT_FIELDS, LINE_INPUT_FIELDS
from contracts.services.contracts import CONTRACT_INPUT_FIELDS, ContractInput, ContractUpsertResult, UpsertOutcome
from contracts.tests import factories
from contracts.tests.strategies import ODD_TEXT, odd_fields, property_settings, row_counts

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

FUZZED = int(os.environ.get("FUZZ_MAX_EXAMPLES", "0"))
EXAMPLES = max(FUZZED, 60)
ACTOR = Actor.for_connector("property-test")
CONTRACT_IDS = st.just("CON-P1") | st.text(max_size=70) | st.sampled_from(ODD_TEXT)
VALID_CONTRACT = {"contract_type": "NDA", "name": "Mutual NDA", "status": "Draft"}
VALID_HEADER = {"vendor": "V-1001", "document_title": "Chairs"}
VALID_LINE = {"commitment_type": "ProductVolume", "committed_amount": "100.00", "product": "CHAIR-1"}


@pytest.fixture
def world(legal_entity, vendor, usd, nda_type, purchase_type, scm_agreement):
    factories.ProductFactory(legal_entity=legal_entity, item_number="CHAIR-1")
    return scm_agreement


def in_rolled_back_savepoint(write):
    """Runs ``write`` and returns (its result or its ValidationFailed, rows before, rows after)."""
    with transaction.atomic():
        before = row_counts()
        try:
            result = write()
        except ValidationFailed as failure:
            result = failure
        after = row_counts()
        stored = _reloaded(result)
        transaction.set_rollback(True)
    return result, before, after, stored


def _reloaded(result):
    instance = result.contract if isinstance(result, ContractUpsertResult) else result
    if isinstance(instance, (Contract, PurchaseAgreement, PurchaseAgreementLine)):
        return type(instance)._default_manager.get(pk=instance.pk)
    return None


def assert_refused_naming_fields(failure: ValidationFailed, data: dict, before: dict, after: dict, *keys: str):
    assert failure.problems
    named = {*data, *keys}
    assert all(problem.field in named for problem in failure.problems), failure.as_list()
    assert all(problem.message for problem in failure.problems)
    assert after == before, "a refused write stored rows"


def assert_stored_as_checked(instance, stored) -> None:
    """What the database gives back is what the service accepted: nothing cut, rounded or moved."""
    for model_field in type(instance)._meta.concrete_fields:
        if model_field.name in ("modified_at", "created_at"):
            continue
        assert getattr(stored, model_field.attname) == getattr(instance, model_field.attname), model_field.name


@property_settings(EXAMPLES)
@given(fields=odd_fields(CONTRACT_INPUT_FIELDS), contract_id=CONTRACT_IDS)
def test_contract_upsert_stores_what_it_checked_or_refuses_naming_the_fields(world, fields, contract_id):
    data = {**VALID_CONTRACT, **fields}

    def write():
        return contract_upsert(legal_entity="USMF", contract_id=contract_id, data=data, actor=ACTOR)

    result, before, after, stored = in_rolled_back_savepoint(write)
    event("refused" if isinstance(result, ValidationFailed) else "stored")

    if isinstance(result, ValidationFailed):
        assert_refused_naming_fields(result, data, before, after, "contract_id", "legal_entity")
    else:
        assert result.outcome == UpsertOutcome.CREATED
        assert_stored_as_checked(result.contract, stored)


@property_settings(max(FUZZED // 3, 20))
@given(records=st.lists(odd_fields(CONTRACT_INPUT_FIELDS), min_size=1, max_size=4))
def test_a_batch_of_contracts_stores_the_valid_ones_and_nothing_of_the_others(world, records):
    inputs = [ContractInput("USMF", f"CON-B{index}", {**VALID_CONTRACT, **data}) for index, data in enumerate(records)]

    with transaction.atomic():
        before = row_counts()
        results = contracts_upsert(records=inputs, actor=ACTOR)
        after = row_counts()
        stored = set(Contract.objects.filter(contract_id__startswith="CON-B").values_list("contract_id", flat=True))
        transaction.set_rollback(True)

    created = {record.contract_id for record, result in zip(inputs, results, strict=True) if not _failed(result)}
    assert stored == created
    for label in (Contract._meta.label, ContractStatusChange._meta.label):
        assert after[label] - before[label] == len(created), label  # each new contract and its first status
    for record, result in zip(inputs, results, strict=True):
        if _failed(result):
            assert all(problem.field in {*record.data, "contract_id"} for problem in result.problems)


def _failed(result) -> bool:
    return isinstance(result, ValidationFailed)


@property_settings(EXAMPLES)
@given(fields=odd_fields((*HEADER_INPUT_FIELDS, "agreement_id")))
def test_agreement_create_stores_what_it_checked_or_refuses_naming_the_fields(world, fields):
    data = {**VALID_HEADER, **fields}

    def write():
        return agreement_create(legal_entity="USMF", data=data, actor=ACTOR)

    result, before, after, stored = in_rolled_back_savepoint(write)
    event("refused" if isinstance(result, ValidationFailed) else "stored")

    if isinstance(result, ValidationFailed):
        assert_refused_naming_fields(result, data, before, after, "vendor", "currency")
    else:
        assert_stored_as_checked(result, stored)


@property_settings(EXAMPLES)
@given(fields=odd_fields(LINE_INPUT_FIELDS))
def test_line_create_stores_what_it_checked_or_refuses_naming_the_fields(world, fields):
    data = {**VALID_LINE, **fields}

    def write():
        return line_create(agreement=world, data=data, actor=ACTOR)

    result, before, after, stored = in_rolled_back_savepoint(write)
    event("refused" if isinstance(result, ValidationFailed) else "stored")

    if isinstance(result, ValidationFailed):
        required = ("commitment_type", "committed_quantity", "committed_amount", "product", "category")
        assert_refused_naming_fields(result, data, before, after, *required)
    else:
        assert_stored_as_checked(result, stored)
