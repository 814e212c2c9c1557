"""What a buyer does in a real browser (headless Chromium), end to end through the pages."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.choices import ContractStatus, NavigationAction, NavigationType
from contracts.tests import factories

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def clm_connection(transactional_db):
    connection = factories.ConnectionFactory(
        name="Reference CLM", base_url="https://clm.example.com", navigation_base_url="https://clm.example.com/ui"
    )
    view = factories.NavigationLinkFactory(
        connection=connection,
        navigation_type=NavigationType.VIEW_CONTRACT,
        name="View",
        relative_url="/contracts/view",
        action=NavigationAction.OPEN_IN_NEW_TAB,
    )
    factories.NavigationLinkParameterFactory(link=view, key="id", value="%Contract.ExternalContractId%")
    factories.NavigationLinkParameterFactory(link=view, key="company", value="%Contract.LegalEntityId%", position=1)
    return connection


@pytest.fixture
def usmf_contracts(buyer, clm_connection):
    usmf = buyer.legal_entity_grants.get().legal_entity
    vendor = factories.VendorFactory(legal_entity=usmf, account_number="US-101", name="Fabrikam Supplies")
    executed = factories.ContractFactory(
        legal_entity=usmf,
        vendor=vendor,
        connection=clm_connection,
        contract_id="CTR-1001",
        external_contract_id="ext 1001/a&b",
        name="Office chairs supply",
        status=ContractStatus.EXECUTED,
        expiration_date=datetime.date.today() + datetime.timedelta(days=200),
    )
    factories.ContractFactory(
        legal_entity=usmf,
        vendor=vendor,
        connection=clm_connection,
        contract_id="CTR-1002",
        name="Office chairs supply draft",
        status=ContractStatus.DRAFT,
    )
    hidden = factories.ContractFactory(
        legal_entity=factories.LegalEntityFactory(code="DEMF"),
        connection=clm_connection,
        contract_id="CTR-2001",
        name="Office chairs Germany",
        status=ContractStatus.EXECUTED,
    )
    return executed, hidden


def test_buyer_filters_all_contracts_and_opens_one_in_the_clm(page, buyer, usmf_contracts):
    executed, hidden = usmf_contracts
    log_in(page, buyer)

    page.get_by_role("link", name="All contracts").first.click()
    page.get_by_label("Search contracts").fill("office chairs")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 2, "the other legal entity's contract must not appear"
    assert hidden.contract_id not in page.content()

    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Executed", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    assert "status=Executed" in page.url and "q=office" in page.url, "filters live in the URL"
    assert page.locator("table tbody tr").count() == 1

    page.get_by_role("link", name=executed.contract_id, exact=True).click()
    page.get_by_role("heading", name=executed.name).wait_for()
    view = page.get_by_role("link", name="View (opens in a new tab)")
    assert view.get_attribute("target") == "_blank"
    url = urlsplit(view.get_attribute("href"))
    assert (url.scheme, url.netloc, url.path) == ("https", "clm.example.com", "/ui/contracts/view")
    assert parse_qs(url.query) == {"id": ["ext 1001/a&b"], "company": ["USMF"]}


def test_another_legal_entitys_contract_is_not_found_in_the_browser(page, buyer, usmf_contracts):
    _, hidden = usmf_contracts
    log_in(page, buyer)

    response = page.goto(f"/contracts/{hidden.pk}/")

    assert response.status == 404


def test_pages_need_a_login(page, transactional_db):
    page.goto("/contracts/")

    assert "/login/" in page.url
    page.get_by_role("heading", name="Sign in").wait_for()
