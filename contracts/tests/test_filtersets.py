"""The filters of All contracts (SPEC §6.1), in NetBox's form: parameters in, expected count out.

The filterset is shared with the API, so it is tested on its own, without a request.
"""

import datetime

import pytest
from django.http import QueryDict

from contracts.choices import AccountType, ContractFlowName, ContractStatus
from contracts.filtersets import ContractFilterSet
from contracts.models import Contract
from contracts.tests import factories
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 1)


def fix_today(monkeypatch) -> None:
    """A fixed "today", so that "expiring within N days" gives the same answer every day."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)


def days_from_today(days: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=days)


@pytest.fixture
def catalogue(monkeypatch, legal_entity, other_legal_entity):
    fix_today(monkeypatch)
    return build_catalogue(legal_entity, other_legal_entity)


def build_catalogue(legal_entity, other_legal_entity) -> list:
    """Five contracts that differ in every filtered field, in USMF and DEMF."""
    nda = factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)
    purchase = factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)
    service = factories.ContractTypeFactory(name="Service", flow=ContractFlowName.LIGHTWEIGHT)
    docusign = factories.ConnectionFactory(name="DocuSign CLM")
    reference = factories.ConnectionFactory(name="Reference CLM")
    fabrikam = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies")
    litware = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1002", name="Litware Office")
    zurich = factories.VendorFactory(legal_entity=other_legal_entity, account_number="DE-1", name="Zurich Prazision")

    def contract(contract_id, vendor, **fields):
        return factories.ContractFactory(
            contract_id=contract_id,
            vendor=vendor,
            party_name=vendor.name if vendor else fields.pop("party_name"),
            party_number=vendor.party_number if vendor else fields.pop("party_number"),
            **fields,
        )

    return [
        contract(
            "NDA-001", fabrikam, legal_entity=legal_entity, contract_type=nda, status=ContractStatus.EXECUTED,
            name="Mutual NDA", connection=docusign,
            effective_date=datetime.date(2022, 1, 1), expiration_date=days_from_today(10),
        ),
        contract(
            "PUR-001", litware, legal_entity=legal_entity, contract_type=purchase, status=ContractStatus.EXECUTED,
            name="Office chairs 2026", connection=reference, amendment_in_process=True,
            effective_date=datetime.date(2023, 1, 1), expiration_date=days_from_today(60),
        ),
        contract(
            "PUR-002", litware, legal_entity=legal_entity, contract_type=purchase, status=ContractStatus.DRAFT,
            name="Printer paper", connection=reference,
            effective_date=datetime.date(2023, 6, 1), expiration_date=None,
        ),
        contract(
            "NDA-002", zurich, legal_entity=other_legal_entity, contract_type=nda, status=ContractStatus.TERMINATED,
            name="Confidentiality Zurich", connection=docusign,
            effective_date=datetime.date(2021, 1, 1), expiration_date=days_from_today(-5),
        ),
        contract(
            "SRV-001", None, legal_entity=other_legal_entity, contract_type=service,
            status=ContractStatus.WAITING_FOR_APPROVAL, name="Consulting framework", connection=None,
            account_type=AccountType.PARTY, account_relation_id="", party_name="Contoso Consulting",
            party_number="P-777", effective_date=None, expiration_date=days_from_today(200),
        ),
    ]  # fmt: skip


def query(params: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def filtered_ids(params: dict) -> list[str]:
    filterset = ContractFilterSet(query(params), queryset=Contract.objects.all())
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("contract_id", flat=True))


# Parameters in, the contracts expected out. The page test runs the same cases through the UI.
FILTER_CASES = [
    ({}, ["NDA-001", "NDA-002", "PUR-001", "PUR-002", "SRV-001"]),
    ({"q": "PUR"}, ["PUR-001", "PUR-002"]),
    ({"q": "chairs"}, ["PUR-001"]),
    ({"q": "office CHAIRS"}, ["PUR-001"]),
    ({"q": "office zurich"}, []),
    ({"q": "litware"}, ["PUR-001", "PUR-002"]),
    ({"q": "contoso"}, ["SRV-001"]),
    ({"q": "  "}, ["NDA-001", "NDA-002", "PUR-001", "PUR-002", "SRV-001"]),
    ({"type": "NDA"}, ["NDA-001", "NDA-002"]),
    ({"type": ["NDA", "Service"]}, ["NDA-001", "NDA-002", "SRV-001"]),
    ({"status": "Executed"}, ["NDA-001", "PUR-001"]),
    ({"status": ["Executed", "Draft"]}, ["NDA-001", "PUR-001", "PUR-002"]),
    ({"party": "V-1002"}, ["PUR-001", "PUR-002"]),
    ({"party": "v-1002"}, ["PUR-001", "PUR-002"]),
    ({"party": "P-777"}, ["SRV-001"]),
    ({"party": "V-10"}, []),
    ({"legal_entity": "USMF"}, ["NDA-001", "PUR-001", "PUR-002"]),
    ({"legal_entity": ["USMF", "DEMF"]}, ["NDA-001", "NDA-002", "PUR-001", "PUR-002", "SRV-001"]),
    ({"effective_from": "2023-01-01"}, ["PUR-001", "PUR-002"]),
    ({"effective_to": "2022-12-31"}, ["NDA-001", "NDA-002"]),
    ({"effective_from": "2022-01-01", "effective_to": "2023-01-01"}, ["NDA-001", "PUR-001"]),
    ({"expiration_from": "2026-03-01"}, ["NDA-001", "PUR-001", "SRV-001"]),
    ({"expiration_to": "2026-03-31"}, ["NDA-001", "NDA-002"]),
    ({"expiring_within": "0"}, []),
    ({"expiring_within": "10"}, ["NDA-001"]),
    ({"expiring_within": "60"}, ["NDA-001", "PUR-001"]),
    ({"expiring_within": "365"}, ["NDA-001", "PUR-001", "SRV-001"]),
    ({"amendment_in_process": "true"}, ["PUR-001"]),
    ({"amendment_in_process": "false"}, ["NDA-001", "NDA-002", "PUR-002", "SRV-001"]),
    ({"amendment_in_process": ""}, ["NDA-001", "NDA-002", "PUR-001", "PUR-002", "SRV-001"]),
    ({"type": "Purchase", "status": "Executed", "legal_entity": "USMF"}, ["PUR-001"]),
    ({"q": "nda", "expiring_within": "30"}, ["NDA-001"]),
]


def case_id(case) -> str:
    params = case[0]
    return "&".join(f"{key}={value}" for key, value in params.items()) or "no-filter"


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=[case_id(case) for case in FILTER_CASES])
def test_filter(catalogue, params, expected):
    assert filtered_ids(params) == expected


def test_filter_by_connection(catalogue):
    reference = catalogue[1].connection

    assert filtered_ids({"connection_id": str(reference.pk)}) == ["PUR-001", "PUR-002"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "Signed"},
        {"type": "Lease"},
        {"legal_entity": "XXXX"},
        {"effective_from": "01/02/2026x"},
        {"expiring_within": "-1"},
        {"expiring_within": "3651"},
        {"connection_id": "999999"},
        {"ordering": "vendor__blocked"},
    ],
    ids=lambda params: next(iter(params)),
)
def test_an_invalid_value_is_reported_and_not_applied(catalogue, params):
    filterset = ContractFilterSet(query(params), queryset=Contract.objects.all())

    assert not filterset.is_valid()
    assert set(filterset.errors) == set(params)
    assert filterset.qs.count() == len(catalogue)


def test_legal_entity_choices_are_only_the_visible_ones_when_a_request_is_given(rf, catalogue, django_user_model):
    request = rf.get("/contracts/")
    request.user = make_user(django_user_model, "usmf", legal_entities=[catalogue[0].legal_entity])

    with_request = ContractFilterSet(query({"legal_entity": "DEMF"}), queryset=Contract.objects.all(), request=request)
    without_request = ContractFilterSet(query({"legal_entity": "DEMF"}), queryset=Contract.objects.all())

    assert [code for code, _ in with_request.form.fields["legal_entity"].choices] == ["USMF"]
    assert not with_request.is_valid()
    assert without_request.is_valid()


def test_filters_need_no_distinct(catalogue):
    filterset = ContractFilterSet(
        query({"type": ["NDA", "Purchase"], "status": ["Executed", "Draft"], "legal_entity": ["USMF", "DEMF"]}),
        queryset=Contract.objects.all(),
    )

    assert "DISTINCT" not in str(filterset.qs.query)
