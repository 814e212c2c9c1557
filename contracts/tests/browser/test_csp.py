"""The pages work under the Content Security Policy (no 'unsafe-inline'): the browser reports
no violation and no script error on the dashboard with its live panels, All contracts with
its filters and sorting, a contract, the admin's connections and Swagger UI."""

from __future__ import annotations

import datetime

import pytest

from clmsite.testing import browser_page, sign_in
from contracts.choices import ContractFlowName, ContractStatus
from contracts.models import LegalEntityGrant
from contracts.services import Actor, contract_upsert
from contracts.tests import factories

from .test_sync_progress import screenshot_path

pytestmark = pytest.mark.browser

PASSWORD = "csp-admin-password-1"
CLM = Actor.for_connector("reference-clm")
# Records every violation the page itself sees, whatever the console says.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


class Watched:
    """A tab whose console messages, page errors and CSP violation events are all kept."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.add_init_script(LISTEN_FOR_VIOLATIONS)

    def assert_clean(self, where: str) -> None:
        violations = self.page.evaluate("window.__cspViolations")
        csp_console = [text for text in self.console if "Content Security Policy" in text]
        assert violations == [], f"{where}: {violations}"
        assert csp_console == [], f"{where}: {csp_console}"
        assert self.errors == [], f"{where}: {self.errors}"

    def screenshot(self, name: str, *, full_page: bool = True) -> None:
        self.page.screenshot(path=str(screenshot_path(f"csp-{name}.png")), full_page=full_page)


@pytest.fixture
def site(transactional_db, django_user_model):
    user = django_user_model.objects.create_superuser("csp.admin", "csp@example.com", PASSWORD)
    usmf = factories.LegalEntityFactory(code="USMF", name="Contoso USA")
    LegalEntityGrant.objects.create(user=user, legal_entity=usmf)
    connection = factories.ConnectionFactory(name="Reference CLM")
    nda = factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)

    def clm_applies(contract_id: str, status: str, name: str):
        data = {"contract_type": nda.name, "name": name, "status": status}
        contract_upsert(legal_entity="USMF", contract_id=contract_id, data=data, actor=CLM, connection=connection)

    clm_applies("NDA-1001", ContractStatus.DRAFT, "Mutual NDA with Fabrikam")
    clm_applies("NDA-1002", ContractStatus.EXECUTED, "Consulting services 2026")
    vendor = factories.VendorFactory(legal_entity=usmf, account_number="US-101", name="Fabrikam Supplies")
    factories.ContractFactory(
        legal_entity=usmf,
        vendor=vendor,
        connection=connection,
        contract_id="CTR-2001",
        name="Office chairs supply",
        status=ContractStatus.EXECUTED,
        expiration_date=datetime.date.today() + datetime.timedelta(days=90),
    )
    return user, connection, clm_applies


@pytest.fixture
def watched(browser, live_server, site):
    with browser_page(browser, live_server.url) as page:
        tab = Watched(page)
        sign_in(page, site[0].get_username(), PASSWORD)
        yield tab


def test_dashboard_and_its_live_panel_work_under_the_policy(watched, site):
    page, (_, _, clm_applies) = watched.page, site
    page.clock.install()
    page.goto("/")
    rows = page.locator("[data-latest-changes-url] tbody tr")
    assert rows.count() == 2

    clm_applies("NDA-1003", ContractStatus.DRAFT, "Chairs and desks")
    page.clock.run_for(6_000)  # the panel asks every 5 s
    page.locator("[data-latest-changes-url] tbody tr.is-new").wait_for()

    assert rows.count() == 3
    watched.screenshot("dashboard")
    watched.assert_clean("dashboard")


def test_all_contracts_filters_sorting_and_a_contract_work_under_the_policy(watched):
    page = watched.page
    page.goto("/contracts/")
    assert page.locator("table tbody tr").count() == 3

    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Executed", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**status=Executed**")
    assert page.locator("table tbody tr").count() == 2
    # app.js drops the empty fields before the form is sent: only what was chosen is in the URL.
    assert "q=" not in page.url

    page.locator("thead th a", has_text="Title").click()
    page.wait_for_url("**ordering=**")
    page.locator("thead th a", has_text="Title").click()  # and the other way round
    page.wait_for_url("**ordering=-**")
    titles = page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
    assert titles == sorted(titles, reverse=True) and len(titles) == 2
    watched.screenshot("contract-list")

    page.get_by_role("link", name="CTR-2001", exact=True).click()
    page.get_by_role("heading", name="Office chairs supply").wait_for()
    watched.screenshot("contract-detail")
    watched.assert_clean("All contracts and a contract")


def test_admin_connections_work_under_the_policy(watched, site):
    page, connection = watched.page, site[1]
    page.goto("/admin/connectors/connection/")
    badge = page.locator("#result_list .status-badge .status-dot").first
    # The colour comes from admin.css by class, not from a style attribute.
    assert badge.evaluate("node => getComputedStyle(node).color") == "rgb(108, 117, 125)"  # grey: not started
    watched.screenshot("admin-connections")

    page.get_by_role("link", name=connection.name, exact=True).click()
    page.wait_for_url(f"**/admin/connectors/connection/{connection.pk}/change/")
    page.locator("#connection_form").wait_for()
    # The admin's own scripts ran (they define window.django).
    assert page.evaluate("typeof window.django === 'object'")
    watched.screenshot("admin-connection-change")
    watched.assert_clean("the admin")


def test_swagger_ui_works_under_the_policy(watched):
    page = watched.page
    page.goto("/api/v1/docs/")
    page.locator(".swagger-ui .info .title", has_text="clmsite API").wait_for()
    assert page.locator(".opblock").count() > 20

    # Try it out: the page's own request to the API goes through (connect-src 'self').
    path = page.locator('.opblock-summary-path[data-path="/api/v1/contract-types/"]')
    operation = page.locator(".opblock.opblock-get", has=path)
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()

    assert status.inner_text().strip() == "200"
    watched.screenshot("swagger-ui", full_page=False)
    watched.assert_clean("Swagger UI")
