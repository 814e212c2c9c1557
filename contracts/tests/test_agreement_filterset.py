"""The filters of the purchase agreements list (SPEC §6.3), in NetBox's form: parameters in,
expected agreements out. The filterset is shared with the API, so it is tested without a request.
"""

import datetime

import pytest

from contracts.choices import AgreementOwnership, AgreementStatus, ContractStatus
from contracts.filtersets import AgreementFilterSet
from contracts.models import PurchaseAgreement
from contracts.tests import factories
from contracts.tests.test_filtersets import case_id, query
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

ALL = ["PA-1", "PA-2", "PA-3", "PA-4", "PA-5"]


@pytest.fixture
def catalogue(legal_entity, other_legal_entity):
    return build_agreement_catalogue(legal_entity, other_legal_entity)


def build_agreement_catalogue(legal_entity, other_legal_entity) -> list[PurchaseAgreement]:
    """Five agreements that differ in every filtered field, in USMF and DEMF."""
    fabrikam = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies")
    litware = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1002", name="Litware Office")
    zurich = factories.VendorFactory(legal_entity=other_legal_entity, account_number="DE-1", name="Zurich Prazision")

    def contract(contract_id, vendor, status):
        return factories.ContractFactory(
            legal_entity=vendor.legal_entity, contract_id=contract_id, vendor=vendor, status=status
        )

    def agreement(agreement_id, vendor, **fields):
        ownership = AgreementOwnership.CLM if fields.get("contract") else AgreementOwnership.SCM
        return factories.AgreementFactory(
            legal_entity=vendor.legal_entity, agreement_id=agreement_id, vendor=vendor, ownership=ownership, **fields
        )

    return [
        agreement(
            "PA-1", fabrikam, status=AgreementStatus.ON_HOLD, document_title="Printer paper",
            default_effective_date=datetime.date(2026, 1, 1), default_expiration_date=datetime.date(2026, 12, 31),
        ),
        agreement(
            "PA-2", litware, status=AgreementStatus.EFFECTIVE, document_title="Office chairs",
            contract=contract("CON-1", litware, ContractStatus.EXECUTED), amendment_in_process=True,
            vendor_reference="LIT-REF-9",
            default_effective_date=datetime.date(2025, 1, 1), default_expiration_date=None,
        ),
        agreement(
            "PA-3", fabrikam, status=AgreementStatus.CLOSED, document_title="Laptops",
            contract=contract("CON-2", fabrikam, ContractStatus.TERMINATED),
            default_effective_date=datetime.date(2024, 6, 1), default_expiration_date=datetime.date(2025, 6, 30),
        ),
        agreement(
            "PA-4", zurich, status=AgreementStatus.EFFECTIVE, document_title="Metal sheets",
            default_effective_date=datetime.date(2026, 3, 1), default_expiration_date=datetime.date(2027, 2, 28),
        ),
        agreement(
            "PA-5", zurich, status=AgreementStatus.ON_HOLD, document_title="Consulting",
            contract=contract("CON-3", zurich, ContractStatus.ON_HOLD),
            default_effective_date=None, default_expiration_date=None,
        ),
    ]  # fmt: skip


def filtered_ids(params: dict) -> list[str]:
    filterset = AgreementFilterSet(query(params), queryset=PurchaseAgreement.objects.all())
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("agreement_id", flat=True))


# Parameters in, the agreements expected out. The page test runs the same cases through the UI.
AGREEMENT_FILTER_CASES = [
    ({}, ALL),
    ({"q": "chairs"}, ["PA-2"]),
    ({"q": "office CHAIRS"}, ["PA-2"]),
    ({"q": "fabrikam"}, ["PA-1", "PA-3"]),
    ({"q": "V-1002"}, ["PA-2"]),
    ({"q": "con-2"}, ["PA-3"]),
    ({"q": "lit-ref"}, ["PA-2"]),
    ({"q": "PA-4"}, ["PA-4"]),
    ({"q": "paper zurich"}, []),
    ({"ownership": "SCM"}, ["PA-1", "PA-4"]),
    ({"ownership": "CLM"}, ["PA-2", "PA-3", "PA-5"]),
    ({"ownership": ["SCM", "CLM"]}, ALL),
    ({"status": "OnHold"}, ["PA-1", "PA-5"]),
    ({"status": ["Effective", "Closed"]}, ["PA-2", "PA-3", "PA-4"]),
    ({"contract_status": "Executed"}, ["PA-2"]),
    ({"contract_status": ["Terminated", "OnHold"]}, ["PA-3", "PA-5"]),
    ({"vendor": "V-1001"}, ["PA-1", "PA-3"]),
    ({"vendor": "v-1001"}, ["PA-1", "PA-3"]),
    ({"vendor": "V-10"}, []),
    ({"contract_id": "con-1"}, ["PA-2"]),
    ({"legal_entity": "USMF"}, ["PA-1", "PA-2", "PA-3"]),
    ({"legal_entity": ["USMF", "DEMF"]}, ALL),
    ({"amendment_in_process": "true"}, ["PA-2"]),
    ({"amendment_in_process": "false"}, ["PA-1", "PA-3", "PA-4", "PA-5"]),
    ({"effective_from": "2026-01-01"}, ["PA-1", "PA-4"]),
    ({"effective_to": "2025-01-01"}, ["PA-2", "PA-3"]),
    ({"expiration_from": "2026-01-01"}, ["PA-1", "PA-4"]),
    ({"expiration_to": "2025-12-31"}, ["PA-3"]),
    ({"ownership": "CLM", "legal_entity": "USMF", "status": "Effective"}, ["PA-2"]),
    ({"vendor": "DE-1", "contract_status": "OnHold"}, ["PA-5"]),
]


@pytest.mark.parametrize(
    ("params", "expected"), AGREEMENT_FILTER_CASES, ids=[case_id(case) for case in AGREEMENT_FILTER_CASES]
)
def test_filter(catalogue, params, expected):
    assert filtered_ids(params) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"ownership": "ERP"},
        {"status": "Active"},
        {"contract_status": "Signed"},
        {"legal_entity": "XXXX"},
        {"effective_from": "2026-13-01"},
        {"ordering": "vendor__blocked"},
    ],
    ids=lambda params: next(iter(params)),
)
def test_an_invalid_value_is_reported_and_not_applied(catalogue, params):
    filterset = AgreementFilterSet(query(params), queryset=PurchaseAgreement.objects.all())

    assert not filterset.is_valid()
    assert set(filterset.errors) == set(params)
    assert filterset.qs.count() == len(catalogue)


def sorted_ids(ordering: str) -> list[str]:
    filterset = AgreementFilterSet(query({"ordering": ordering}), queryset=PurchaseAgreement.objects.all())
    return list(filterset.qs.values_list("agreement_id", flat=True))


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("agreement_id", ["PA-1", "PA-2", "PA-3", "PA-4", "PA-5"]),
        ("-agreement_id", ["PA-5", "PA-4", "PA-3", "PA-2", "PA-1"]),
        ("title", ["PA-5", "PA-3", "PA-4", "PA-2", "PA-1"]),
        # Agreements without a contract come last both ways, then by primary key.
        ("contract_id", ["PA-2", "PA-3", "PA-5", "PA-1", "PA-4"]),
        ("-contract_id", ["PA-5", "PA-3", "PA-2", "PA-1", "PA-4"]),
        ("contract_status", ["PA-2", "PA-5", "PA-3", "PA-1", "PA-4"]),
        ("ownership", ["PA-2", "PA-3", "PA-5", "PA-1", "PA-4"]),
        ("status", ["PA-3", "PA-2", "PA-4", "PA-1", "PA-5"]),
        ("vendor", ["PA-4", "PA-5", "PA-1", "PA-3", "PA-2"]),
        ("-legal_entity", ["PA-1", "PA-2", "PA-3", "PA-4", "PA-5"]),
        ("effective_date", ["PA-3", "PA-2", "PA-1", "PA-4", "PA-5"]),
        ("-expiration_date", ["PA-4", "PA-1", "PA-3", "PA-2", "PA-5"]),
    ],
)
def test_sorting(catalogue, ordering, expected):
    assert sorted_ids(ordering) == expected


def test_without_a_sort_agreements_come_by_legal_entity_and_id(catalogue, legal_entity, other_legal_entity):
    in_entity_order = sorted(catalogue, key=lambda agreement: (agreement.legal_entity_id, agreement.agreement_id))

    assert sorted_ids("") == [agreement.agreement_id for agreement in in_entity_order]


def test_legal_entity_choices_are_only_the_visible_ones_when_a_request_is_given(rf, catalogue, django_user_model):
    request = rf.get("/agreements/")
    request.user = make_user(django_user_model, "usmf", legal_entities=[catalogue[0].legal_entity])
    agreements = PurchaseAgreement.objects.all()

    with_request = AgreementFilterSet(query({"legal_entity": "DEMF"}), queryset=agreements, request=request)
    without_request = AgreementFilterSet(query({"legal_entity": "DEMF"}), queryset=agreements)

    assert [code for code, _ in with_request.form.fields["legal_entity"].choices] == ["USMF"]
    assert not with_request.is_valid()
    assert without_request.is_valid()


def test_filters_need_no_distinct(catalogue):
    filterset = AgreementFilterSet(
        query({"ownership": ["SCM", "CLM"], "status": ["OnHold", "Effective"], "contract_status": "Executed"}),
        queryset=PurchaseAgreement.objects.all(),
    )

    assert "DISTINCT" not in str(filterset.qs.query)
