"""What a buyer does in a real browser (headless Chromium), end to end through the pages."""

import csv
import datetime
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.choices import AgreementOwnership, ContractStatus, NavigationAction, NavigationType
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


@pytest.fixture
def agreements(usmf_contracts):
    executed, _ = usmf_contracts
    clm_owned = factories.AgreementFactory(
        legal_entity=executed.legal_entity,
        vendor=executed.vendor,
        contract=executed,
        agreement_id="PA-CLM-1",
        ownership=AgreementOwnership.CLM,
        document_title="Chairs from the CLM",
    )
    scm_owned = factories.AgreementFactory(
        legal_entity=executed.legal_entity,
        vendor=executed.vendor,
        agreement_id="PA-SCM-1",
        ownership=AgreementOwnership.SCM,
        document_title="Desks bought directly",
        default_effective_date=datetime.date(2026, 1, 1),
        default_expiration_date=datetime.date(2027, 12, 31),
    )
    return clm_owned, scm_owned


def test_protected_fields_of_a_clm_owned_agreement_are_read_only(page, buyer, agreements):
    clm_owned, _ = agreements
    log_in(page, buyer)

    page.get_by_role("link", name="Purchase agreements").first.click()
    page.get_by_role("link", name=clm_owned.agreement_id, exact=True).click()
    assert page.get_by_text("External contract management").first.is_visible()
    assert page.get_by_role("link", name="Delete", exact=True).count() == 0
    assert page.get_by_role("link", name="Add line").count() == 0

    page.get_by_role("link", name="Edit", exact=True).click()
    title = page.get_by_label("Title", exact=True)
    assert title.inner_text() == "Chairs from the CLM"
    assert page.locator("form [name=document_title]").count() == 0, "the title is shown, not editable"
    page.get_by_label("Vendor reference").fill("PO-REF-77")
    page.get_by_role("button", name="Save").click()

    page.get_by_text("PO-REF-77").first.wait_for()
    clm_owned.refresh_from_db()
    assert (clm_owned.vendor_reference, clm_owned.document_title) == ("PO-REF-77", "Chairs from the CLM")


def test_buyer_fixes_a_validation_error_on_an_scm_owned_agreement(page, buyer, agreements):
    _, scm_owned = agreements
    log_in(page, buyer)
    page.goto(f"/agreements/{scm_owned.pk}/edit/")

    page.get_by_label("Expiration date").fill("2025-06-30")
    page.get_by_role("button", name="Save").click()

    error = page.locator(".errorlist").first
    assert "before" in error.inner_text(), "the service's date-order message is shown on the field"
    scm_owned.refresh_from_db()
    assert scm_owned.default_expiration_date == datetime.date(2027, 12, 31), "nothing was saved"

    page.get_by_label("Expiration date").fill("2028-03-31")
    page.get_by_label("Title").fill("Desks bought directly, extended")
    page.get_by_role("button", name="Save").click()

    page.get_by_role("heading", name="Desks bought directly, extended").wait_for()
    scm_owned.refresh_from_db()
    assert scm_owned.default_expiration_date == datetime.date(2028, 3, 31)


def test_buyer_downloads_the_filtered_contracts_as_csv(page, buyer, usmf_contracts):
    executed, hidden = usmf_contracts
    log_in(page, buyer)
    page.goto("/contracts/?status=Executed")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()

    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    contract_ids = [row[0] for row in rows[1:]]
    assert contract_ids == [executed.contract_id], "only the filtered rows of the buyer's legal entity"
    assert hidden.contract_id not in contract_ids
