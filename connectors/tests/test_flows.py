"""Contract-type flows: what a contract's status does to purchase agreements (SPEC §4, §5)."""

import datetime
from decimal import Decimal

import pytest

from connectors.flows.base import ContractFlow
from connectors.flows.registry import flow_for, register_flow, unregister_flow
from contracts.choices import AccountType, AgreementOwnership, AgreementStatus, ContractFlowName, ContractStatus
from contracts.models import Contract, PurchaseAgreement
from contracts.services import (
    Actor,
    ValidationFailed,
    agreements_close_expired,
    contract_type_upsert,
    contract_upsert,
)
from contracts.tests import factories

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
EFFECTIVE = datetime.date(2026, 1, 1)
EXPIRES = datetime.date(2027, 12, 31)


@pytest.fixture
def vendor(legal_entity):
    usd = factories.CurrencyFactory(code="USD")
    return factories.VendorFactory(
        legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies", currency=usd
    )


@pytest.fixture
def contract_types(db):
    factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)
    factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)


@pytest.fixture
def push(legal_entity, clm_actor, contract_types, vendor):
    """Pushes a contract as the CLM integration; the first push of an id sends the whole
    purchase contract, later ones only what changed."""
    connection = factories.ConnectionFactory(name="Reference CLM")

    def push(contract_id="PC-0001", **data):
        if not Contract.objects.filter(contract_id=contract_id).exists():
            data = {
                "contract_type": "Purchase",
                "name": "Office chairs 2026",
                "status": ContractStatus.DRAFT,
                "external_contract_id": f"clm-{contract_id}",
                "account_type": AccountType.VENDOR,
                "account_relation_id": "V-1001",
                "effective_date": EFFECTIVE,
                "expiration_date": EXPIRES,
                **data,
            }
        return contract_upsert(
            legal_entity=legal_entity, contract_id=contract_id, data=data, actor=clm_actor, connection=connection
        ).contract

    return push


def executed_agreement(push, **data):
    """Pushes an executed purchase contract and returns its (only) agreement."""
    contract = push(status=ContractStatus.EXECUTED, **data)
    return contract.agreements.get()


# --- Executed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [ContractStatus.DRAFT, ContractStatus.WAITING_FOR_APPROVAL, ContractStatus.WAITING_FOR_SIGNATURES],
)
def test_purchase_contract_before_execution_has_no_agreement(status, push):
    push(status=status)

    assert not PurchaseAgreement.objects.exists()


def test_executed_purchase_contract_creates_an_effective_clm_owned_agreement(push, vendor, legal_entity):
    push(status=ContractStatus.DRAFT)

    contract = push(status=ContractStatus.EXECUTED)

    agreement = PurchaseAgreement.objects.get()
    assert agreement.contract == contract
    assert agreement.ownership == AgreementOwnership.CLM
    assert agreement.status == AgreementStatus.EFFECTIVE
    assert agreement.legal_entity == legal_entity
    assert agreement.agreement_id == "PA-000001"
    assert agreement.vendor == vendor
    assert agreement.currency.code == "USD"
    assert agreement.document_title == "Office chairs 2026"
    assert (agreement.default_effective_date, agreement.default_expiration_date) == (EFFECTIVE, EXPIRES)
    assert agreement.external_contract_id == "clm-PC-0001"
    assert agreement.changed_by == "connector:test-clm"


def test_contract_first_seen_as_executed_creates_its_agreement(push):
    agreement = executed_agreement(push)

    assert agreement.status == AgreementStatus.EFFECTIVE


def test_executed_contract_makes_its_on_hold_agreement_effective_without_a_second_one(push, vendor):
    contract = push(status=ContractStatus.WAITING_FOR_SIGNATURES)
    on_hold = factories.AgreementFactory(
        legal_entity=contract.legal_entity,
        ownership=AgreementOwnership.CLM,
        status=AgreementStatus.ON_HOLD,
        contract=contract,
        vendor=vendor,
    )

    push(status=ContractStatus.EXECUTED)

    assert list(PurchaseAgreement.objects.values_list("pk", "status")) == [(on_hold.pk, AgreementStatus.EFFECTIVE)]


def test_executed_purchase_contract_without_a_vendor_is_refused_and_nothing_is_stored(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(status=ContractStatus.EXECUTED, account_type=AccountType.PARTY, account_relation_id="PTY-0042")

    assert [p.field for p in excinfo.value.problems] == ["account_relation_id"]
    assert not Contract.objects.exists()
    assert not PurchaseAgreement.objects.exists()


def test_executing_a_stored_purchase_contract_without_a_vendor_is_refused(push):
    push(status=ContractStatus.DRAFT, account_type=AccountType.PARTY, account_relation_id="PTY-0042")

    with pytest.raises(ValidationFailed) as excinfo:
        push(status=ContractStatus.EXECUTED)

    assert excinfo.value.problems[0].field == "account_relation_id"
    contract = Contract.objects.get()
    assert contract.status == ContractStatus.DRAFT
    assert contract.status_history.count() == 1
    assert not PurchaseAgreement.objects.exists()


# --- Amendments ------------------------------------------------------------------------


def test_amendment_in_process_marks_the_agreement(push):
    agreement = executed_agreement(push)

    push(amendment_in_process=True)

    agreement.refresh_from_db()
    assert agreement.amendment_in_process is True
    assert agreement.status == AgreementStatus.EFFECTIVE


@pytest.mark.parametrize(
    "status_during_amendment",
    [ContractStatus.EXECUTED, ContractStatus.WAITING_FOR_APPROVAL],
    ids=["kept", "re-approved"],
)
def test_amended_contract_executed_again_updates_the_same_agreement_in_place(status_during_amendment, push, clm_actor):
    agreement = executed_agreement(push, latest_amendment_id="")
    line = factories.LineFactory(agreement=agreement, legal_entity=agreement.legal_entity, line_number=Decimal("1"))
    push(amendment_in_process=True, status=status_during_amendment)

    contract = push(
        status=ContractStatus.EXECUTED,
        amendment_in_process=False,
        latest_amendment_id="AMD-0001",
        name="Office chairs 2026-2028",
        expiration_date=datetime.date(2028, 12, 31),
    )

    amended = PurchaseAgreement.objects.get()
    assert amended.pk == agreement.pk
    assert amended.document_title == "Office chairs 2026-2028"
    assert amended.default_expiration_date == datetime.date(2028, 12, 31)
    assert amended.amendment_in_process is False
    assert amended.status == AgreementStatus.EFFECTIVE
    assert list(amended.lines.all()) == [line]
    assert contract.latest_amendment_id == "AMD-0001"


def test_second_amendment_moves_the_latest_amendment_id_on(push):
    executed_agreement(push, latest_amendment_id="AMD-0001")

    contract = push(latest_amendment_id="AMD-0002", name="Office chairs, second amendment")

    assert Contract.objects.get().latest_amendment_id == "AMD-0002"
    assert contract.agreements.get().document_title == "Office chairs, second amendment"


# --- Closing, expiry, on hold ------------------------------------------------------------


@pytest.mark.parametrize("status", [ContractStatus.TERMINATED, ContractStatus.CANCELLED])
def test_terminated_or_cancelled_contract_closes_linked_agreement(status, push):
    agreement = executed_agreement(push)

    push(status=status)

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.CLOSED


def test_terminated_contract_without_an_agreement_creates_none(push):
    push(status=ContractStatus.TERMINATED)

    assert not PurchaseAgreement.objects.exists()


def test_expired_contract_closes_agreement_whose_expiration_has_passed(push):
    agreement = executed_agreement(
        push, effective_date=TODAY - datetime.timedelta(days=400), expiration_date=TODAY - datetime.timedelta(days=1)
    )

    push(status=ContractStatus.EXPIRED)

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.CLOSED


def test_expired_contract_keeps_agreement_effective_until_its_expiration_date_has_passed(push):
    expires = TODAY + datetime.timedelta(days=30)
    agreement = executed_agreement(push, effective_date=TODAY, expiration_date=expires)

    push(status=ContractStatus.EXPIRED)

    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.EFFECTIVE
    assert agreements_close_expired(actor=Actor.system(), today=expires) == 0
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.EFFECTIVE

    closed = agreements_close_expired(actor=Actor.system(), today=expires + datetime.timedelta(days=1))

    agreement.refresh_from_db()
    assert closed == 1
    assert agreement.status == AgreementStatus.CLOSED


def test_closing_expired_agreements_leaves_those_of_executed_contracts_alone(push):
    expires = TODAY + datetime.timedelta(days=30)
    agreement = executed_agreement(push, effective_date=TODAY, expiration_date=expires)

    closed = agreements_close_expired(actor=Actor.system(), today=expires + datetime.timedelta(days=1))

    agreement.refresh_from_db()
    assert closed == 0
    assert agreement.status == AgreementStatus.EFFECTIVE


def test_on_hold_contract_puts_its_agreement_on_hold_and_execution_resumes_it(push):
    agreement = executed_agreement(push)

    push(status=ContractStatus.ON_HOLD)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.ON_HOLD

    push(status=ContractStatus.EXECUTED)
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.EFFECTIVE
    assert PurchaseAgreement.objects.count() == 1


# --- Lightweight (NDA) -------------------------------------------------------------------


def test_nda_status_changes_create_no_agreement(push):
    for status in (ContractStatus.DRAFT, ContractStatus.EXECUTED, ContractStatus.ON_HOLD, ContractStatus.TERMINATED):
        push("NDA-0001", contract_type="NDA", name="Mutual NDA", status=status)

    contract = Contract.objects.get(contract_id="NDA-0001")
    assert contract.status == ContractStatus.TERMINATED
    assert contract.status_history.count() == 4
    assert not PurchaseAgreement.objects.exists()


# --- Custom flows ------------------------------------------------------------------------


class RecordingFlow(ContractFlow):
    """A flow registered by a test: remembers every call instead of changing anything."""

    name = "test_recording"
    label = "Recording (tests only)"

    def __init__(self):
        self.calls = []

    def apply(self, contract, *, previous_status, actor):
        self.calls.append((contract.status, previous_status, actor.label))


@pytest.fixture
def recording_flow():
    register_flow(RecordingFlow)
    yield flow_for(RecordingFlow.name)
    unregister_flow(RecordingFlow.name)


def test_registered_flow_is_applied_with_the_previous_status(recording_flow, push, clm_actor):
    contract_type_upsert(name="Service", flow=RecordingFlow.name, actor=clm_actor)

    push("SVC-0001", contract_type="Service", status=ContractStatus.DRAFT)
    push("SVC-0001", status=ContractStatus.WAITING_FOR_APPROVAL)
    push("SVC-0001", status=ContractStatus.EXECUTED)
    push("SVC-0001", name="Cleaning services, renamed")

    assert recording_flow.calls == [
        (ContractStatus.DRAFT, None, "connector:test-clm"),
        (ContractStatus.WAITING_FOR_APPROVAL, ContractStatus.DRAFT, "connector:test-clm"),
        (ContractStatus.EXECUTED, ContractStatus.WAITING_FOR_APPROVAL, "connector:test-clm"),
        (ContractStatus.EXECUTED, ContractStatus.EXECUTED, "connector:test-clm"),
    ]
    assert not PurchaseAgreement.objects.exists()


def test_contract_type_cannot_name_a_flow_that_is_not_registered(clm_actor, db):
    with pytest.raises(ValidationFailed) as excinfo:
        contract_type_upsert(name="Service", flow=RecordingFlow.name, actor=clm_actor)

    assert '"test_recording"' in excinfo.value.problems[0].message
