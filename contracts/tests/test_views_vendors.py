"""Vendors (SPEC §6.5): a vendor's NDA standing (§4), its page with its contracts, and the vendor list."""

import datetime
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts import selectors
from contracts.choices import ContractFlowName, ContractStatus
from contracts.models import Vendor
from contracts.tests import factories
from contracts.tests.test_filtersets import TODAY, days_from_today, fix_today
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

VENDOR_LIST_URL = reverse("contracts:vendor_list")
VENDOR_PERMISSIONS = ("view_contract", "view_vendor")


def vendor_url(vendor) -> str:
    return reverse("contracts:vendor_detail", args=[vendor.pk])


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    fix_today(monkeypatch)


@pytest.fixture
def usmf_client(client, django_user_model, legal_entity):
    client.force_login(
        make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity], permissions=VENDOR_PERMISSIONS)
    )
    return client


def nda(vendor, nda_type, **fields):
    return factories.ContractFactory(
        legal_entity=vendor.legal_entity, vendor=vendor, contract_type=nda_type, party_name=vendor.name, **fields
    )


# --- NDA standing: "does vendor X have an executed, unexpired NDA in legal entity Y?" ---


# status, expiration date (days from today; None: open-ended), type name and flow, under NDA?
STANDING_CASES = [
    (ContractStatus.EXECUTED, 365, "NDA", ContractFlowName.LIGHTWEIGHT, True),
    (ContractStatus.EXECUTED, 0, "NDA", ContractFlowName.LIGHTWEIGHT, True),
    (ContractStatus.EXECUTED, None, "NDA", ContractFlowName.LIGHTWEIGHT, True),
    (ContractStatus.EXECUTED, -1, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.TERMINATED, 365, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.EXPIRED, 365, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.CANCELLED, None, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.WAITING_FOR_SIGNATURES, 365, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.DRAFT, None, "NDA", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.EXECUTED, 365, "Service", ContractFlowName.LIGHTWEIGHT, False),
    (ContractStatus.EXECUTED, 365, "Purchase", ContractFlowName.PURCHASE_AGREEMENT, False),
]


def standing_case_id(case) -> str:
    status, days, type_name, _, expected = case
    expires = "open-ended" if days is None else f"expires{days:+d}d"
    return f"{type_name}-{status}-{expires}-{'under' if expected else 'not'}"


@pytest.mark.parametrize(
    ("status", "days", "type_name", "flow", "expected"), STANDING_CASES, ids=map(standing_case_id, STANDING_CASES)
)
def test_nda_standing_counts_only_executed_unexpired_ndas(vendor, status, days, type_name, flow, expected):
    contract_type = factories.ContractTypeFactory(name=type_name, flow=flow)
    nda(vendor, contract_type, status=status, expiration_date=None if days is None else days_from_today(days))

    standing = selectors.vendor_nda_standing(vendor, today=TODAY)
    listed = selectors.with_nda_standing(Vendor.objects.filter(pk=vendor.pk), today=TODAY).get()

    assert standing.has_active_nda is expected
    assert listed.under_nda is expected  # the list's subquery answers as the page does


def test_executed_unexpired_nda_puts_the_vendor_under_nda_until_its_expiry(vendor, nda_type):
    contract = nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2027, 3, 1))

    standing = selectors.vendor_nda_standing(vendor, today=TODAY)

    assert standing.has_active_nda
    assert standing.ndas == (contract,)
    assert standing.until == datetime.date(2027, 3, 1)
    assert not standing.open_ended


def test_an_nda_whose_expiration_date_has_passed_does_not_count(vendor, nda_type):
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=TODAY - datetime.timedelta(days=1))

    standing = selectors.vendor_nda_standing(vendor, today=TODAY)

    assert not standing.has_active_nda
    assert standing.until is None


def test_a_terminated_nda_does_not_count(vendor, nda_type):
    nda(vendor, nda_type, status=ContractStatus.TERMINATED, expiration_date=datetime.date(2030, 1, 1))

    assert not selectors.vendor_nda_standing(vendor, today=TODAY).has_active_nda


def test_an_open_ended_executed_nda_counts_with_no_end_date(vendor, nda_type):
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2027, 3, 1))
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=None, effective_date=None)

    standing = selectors.vendor_nda_standing(vendor, today=TODAY)

    assert standing.has_active_nda
    assert standing.open_ended
    assert standing.until is None
    assert standing.ndas[0].expiration_date is None  # the longest-lasting first


def test_several_ndas_cover_the_vendor_until_the_latest_expiry(vendor, nda_type):
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2026, 6, 30))
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2028, 1, 31))

    assert selectors.vendor_nda_standing(vendor, today=TODAY).until == datetime.date(2028, 1, 31)


def test_an_nda_in_another_legal_entity_does_not_count_for_this_one(vendor, nda_type, other_legal_entity):
    """The same vendor account in DEMF is another vendor record: its NDA covers DEMF only."""
    demf_vendor = factories.VendorFactory(legal_entity=other_legal_entity, account_number=vendor.account_number)
    nda(demf_vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2030, 1, 1))

    assert not selectors.vendor_nda_standing(vendor, today=TODAY).has_active_nda
    assert selectors.vendor_nda_standing(demf_vendor, today=TODAY).has_active_nda
    listed = selectors.with_nda_standing(Vendor.objects.all(), today=TODAY)
    assert {v.legal_entity.code: v.under_nda for v in listed} == {"USMF": False, "DEMF": True}


def test_the_list_annotation_gives_the_latest_expiry_and_open_endedness(vendor, nda_type, legal_entity):
    open_ended = factories.VendorFactory(legal_entity=legal_entity)
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2026, 6, 30))
    nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2028, 1, 31))
    nda(open_ended, nda_type, status=ContractStatus.EXECUTED, expiration_date=None)

    listed = {v.pk: v for v in selectors.with_nda_standing(Vendor.objects.all(), today=TODAY)}

    assert (listed[vendor.pk].nda_until, listed[vendor.pk].nda_open_ended) == (datetime.date(2028, 1, 31), False)
    assert (listed[open_ended.pk].under_nda, listed[open_ended.pk].nda_open_ended) == (True, True)


# --- The vendor page -------------------------------------------------------------------


def test_vendor_page_lists_only_that_vendors_contracts(usmf_client, vendor, legal_entity, purchase_type):
    mine = factories.ContractFactory(legal_entity=legal_entity, vendor=vendor, contract_id="MINE-1")
    factories.ContractFactory(legal_entity=legal_entity, contract_id="OTHER-1", name="Someone else's deal")

    response = usmf_client.get(vendor_url(vendor))

    assert [contract.pk for contract in response.context["page"].rows] == [mine.pk]
    html = response.content.decode()
    assert "MINE-1" in html
    assert "OTHER-1" not in html


def test_vendor_page_shows_master_data_agreements_and_contacts(usmf_client, vendor, legal_entity):
    factories.AgreementFactory(legal_entity=legal_entity, vendor=vendor)
    factories.AgreementFactory(legal_entity=legal_entity)  # another vendor's
    factories.ContactPersonFactory(legal_entity=legal_entity, vendor=vendor, name="Alex Miller")

    response = usmf_client.get(vendor_url(vendor))

    html = response.content.decode()
    assert response.context["agreement_count"] == 1
    for text in ("V-1001", "Fabrikam Supplies", "USMF", "USD", "Alex Miller", "No active NDA"):
        assert text in html
    assert f'href="{reverse("contracts:agreement_list")}?vendor=V-1001&amp;legal_entity=USMF"' in html


def test_vendor_page_answers_under_nda_with_the_end_date(usmf_client, vendor, nda_type):
    contract = nda(vendor, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2027, 3, 1))

    html = usmf_client.get(vendor_url(vendor)).content.decode()

    assert "Under NDA until 1 Mar 2027" in html
    assert f'href="{reverse("contracts:detail", args=[contract.pk])}"' in html


def test_vendor_page_links_to_the_vendors_contracts_in_all_contracts(usmf_client, vendor):
    html = usmf_client.get(vendor_url(vendor)).content.decode()

    assert f'href="{reverse("contracts:list")}?party=V-1001&amp;legal_entity=USMF"' in html
    assert f'href="{reverse("contracts:list")}?party=V-1001&amp;legal_entity=USMF&amp;type=NDA"' in html


def test_vendor_page_pages_its_contracts_without_counting(usmf_client, vendor, legal_entity):
    factories.ContractFactory.create_batch(3, legal_entity=legal_entity, vendor=vendor)

    with CaptureQueriesContext(db_connection) as queries:
        response = usmf_client.get(vendor_url(vendor), {"per_page": "2", "ordering": "contract_id"})

    assert len(response.context["page"].rows) == 2
    assert response.context["page"].has_next
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and '"contracts_contract"' in q["sql"]]


def test_another_legal_entitys_vendor_is_not_found(usmf_client, other_legal_entity):
    demf_vendor = factories.VendorFactory(legal_entity=other_legal_entity)

    assert usmf_client.get(vendor_url(demf_vendor)).status_code == 404


def test_vendor_pages_need_the_vendor_permission(client, django_user_model, legal_entity, vendor):
    client.force_login(make_user(django_user_model, "contracts-only", legal_entities=[legal_entity]))

    assert client.get(VENDOR_LIST_URL).status_code == 403
    assert client.get(vendor_url(vendor)).status_code == 403
    assert f'href="{VENDOR_LIST_URL}"' not in client.get(reverse("contracts:list")).content.decode()


# --- Vendor names link to the vendor page ----------------------------------------------


def test_vendor_names_in_all_contracts_and_contract_detail_link_to_the_vendor(usmf_client, vendor, legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity, vendor=vendor, party_name=vendor.name)
    link = f'<a href="{vendor_url(vendor)}">Fabrikam Supplies</a>'

    assert link in usmf_client.get(reverse("contracts:list")).content.decode()
    assert link in usmf_client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()


# --- The vendor list -------------------------------------------------------------------


def listed_accounts(response) -> list[str]:
    return [vendor.account_number for vendor in response.context["page"].rows]


@pytest.fixture
def vendors(legal_entity, other_legal_entity, nda_type):
    fabrikam = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies")
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-1002", name="Litware Office", blocked=True)
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="V-1003", name="Fabrikam GmbH")
    nda(fabrikam, nda_type, status=ContractStatus.EXECUTED, expiration_date=datetime.date(2027, 3, 1))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["V-1001", "V-1002"]),
        ({"q": "fabrikam"}, ["V-1001"]),
        ({"q": "v-1002"}, ["V-1002"]),
        ({"q": "office litware"}, ["V-1002"]),
        ({"q": "V-1003"}, []),  # another legal entity's vendor is never found
        ({"legal_entity": "DEMF"}, ["V-1001", "V-1002"]),  # not a choice for this user: not applied
        ({"under_nda": "true"}, ["V-1001"]),
        ({"under_nda": "false"}, ["V-1002"]),
        ({"blocked": "true"}, ["V-1002"]),
        ({"ordering": "-name"}, ["V-1002", "V-1001"]),
    ],
)
def test_vendor_list_searches_and_filters_within_the_users_legal_entities(usmf_client, vendors, params, expected):
    assert listed_accounts(usmf_client.get(VENDOR_LIST_URL, params)) == expected


def test_vendor_list_shows_the_nda_standing_column(usmf_client, vendors):
    html = usmf_client.get(VENDOR_LIST_URL).content.decode()

    assert "Under NDA until 1 Mar 2027" in html
    assert "No active NDA" in html
    assert "Fabrikam GmbH" not in html


def test_vendor_list_runs_the_same_queries_for_3_and_30_vendors(usmf_client, legal_entity, nda_type):
    def list_queries() -> int:
        with CaptureQueriesContext(db_connection) as queries:
            assert usmf_client.get(VENDOR_LIST_URL, {"per_page": "100"}).status_code == 200
        return len(queries)

    def add_vendors(count):
        for vendor in factories.VendorFactory.create_batch(count, legal_entity=legal_entity):
            nda(vendor, nda_type, status=ContractStatus.EXECUTED)

    add_vendors(3)
    with_3 = list_queries()
    add_vendors(27)

    assert list_queries() == with_3


def test_vendors_is_a_main_navigation_item(usmf_client, vendor):
    list_html = usmf_client.get(VENDOR_LIST_URL).content.decode()
    detail_html = usmf_client.get(vendor_url(vendor)).content.decode()

    assert f'<a href="{VENDOR_LIST_URL}" aria-current="page">Vendors</a>' in list_html
    assert f'<a href="{VENDOR_LIST_URL}" class="is-active">Vendors</a>' in detail_html


def test_vendor_pages_have_no_inline_script_or_style(usmf_client, vendor, nda_type):
    nda(vendor, nda_type, status=ContractStatus.EXECUTED)
    for url in (VENDOR_LIST_URL, vendor_url(vendor)):
        html = usmf_client.get(url).content.decode()
        assert "style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, url
