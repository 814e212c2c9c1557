"""The dashboard's Latest contract changes follow the CLM without a reload (SPEC §6; issue 6:
the one-command demo shows contracts appearing and changing live)."""

import pytest

from contracts.choices import ContractFlowName, ContractStatus
from contracts.models import ContractStatusChange
from contracts.services import Actor, contract_upsert
from contracts.tests import factories

from .conftest import log_in
from .test_sync_progress import screenshot_path

pytestmark = pytest.mark.browser

CLM = Actor.for_connector("reference-clm")
PANEL = "[data-latest-changes-url]"
POLL_WAIT_MS = 12_000  # the panel asks every 5 s


@pytest.fixture
def clm(buyer):
    """Applies a contract as the reference CLM's sync does; ``buyer`` has made USMF and DEMF."""
    connection = factories.ConnectionFactory(name="Reference CLM")
    nda = factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)

    def apply(legal_entity, contract_id, status, name):
        data = {"contract_type": nda.name, "name": name, "status": status}
        contract_upsert(legal_entity=legal_entity, contract_id=contract_id, data=data, actor=CLM, connection=connection)
        return ContractStatusChange.objects.latest("id")

    return apply


def test_a_status_change_in_the_clm_appears_on_the_open_dashboard(page, buyer, clm):
    clm("USMF", "NDA-1001", ContractStatus.DRAFT, "Mutual NDA with Fabrikam")
    clm("USMF", "NDA-1002", ContractStatus.DRAFT, "Consulting services 2026")
    clm("USMF", "NDA-1001", ContractStatus.WAITING_FOR_APPROVAL, "Mutual NDA with Fabrikam")
    log_in(page, buyer)
    page.goto("/")
    rows = page.locator(f"{PANEL} tbody tr")
    assert rows.count() == 3

    clm("DEMF", "DE-7001", ContractStatus.DRAFT, "Merger talks")
    appeared = clm("USMF", "NDA-1003", ContractStatus.DRAFT, "Chairs <b>& desks</b>")
    changed = clm("USMF", "NDA-1002", ContractStatus.WAITING_FOR_SIGNATURES, "Consulting services 2026")

    newest = page.locator(f'{PANEL} tr[data-change-id="{changed.pk}"]')
    newest.wait_for(timeout=POLL_WAIT_MS)
    assert rows.count() == 5
    assert rows.first.get_attribute("data-change-id") == str(changed.pk)
    assert newest.get_attribute("class") == "is-new"
    assert [badge.inner_text() for badge in newest.locator(".badge").all()] == ["Draft", "Waiting for signatures"]
    assert newest.locator(".badge").last.get_attribute("class") == "badge badge--blue"
    new_contract = page.locator(f'{PANEL} tr[data-change-id="{appeared.pk}"]')
    assert new_contract.locator(".transition").inner_text().split() == ["new", "·", "Draft"]
    # The title is text, never markup.
    assert new_contract.locator(".sub").first.inner_text() == "Chairs <b>& desks</b>"
    assert new_contract.locator("b").count() == 0
    # The rows that were already there are not marked as new.
    assert rows.nth(2).get_attribute("class") in (None, "")
    assert "DE-7001" not in page.locator(PANEL).inner_text()
    assert page.locator("[data-latest-changes-announce]").inner_text() == "2 new contract changes"
    page.screenshot(path=str(screenshot_path("dashboard-latest-changes.png")), full_page=True)

    link = newest.get_by_role("link", name="NDA-1002")
    link.click()
    page.wait_for_url(f"**/contracts/{changed.contract_id}/")


def test_the_first_change_replaces_the_empty_state(page, buyer, clm):
    log_in(page, buyer)
    page.goto("/")
    assert page.locator(PANEL).get_by_text("No contract has changed yet").is_visible()

    change = clm("USMF", "NDA-1001", ContractStatus.DRAFT, "Mutual NDA with Fabrikam")

    page.locator(f'{PANEL} tr[data-change-id="{change.pk}"]').wait_for(timeout=POLL_WAIT_MS)
    assert not page.locator(PANEL).get_by_text("No contract has changed yet").is_visible()


def test_a_hidden_tab_stops_asking_and_catches_up_when_shown(page, buyer, clm):
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "latest-changes.json" in request.url else None)
    log_in(page, buyer)
    page.goto("/")
    set_hidden(page, True)

    change = clm("USMF", "NDA-1001", ContractStatus.DRAFT, "Mutual NDA with Fabrikam")
    page.wait_for_timeout(6_500)  # past the first poll

    assert asked == []
    set_hidden(page, False)
    # At once, not at the next 5 s tick.
    page.locator(f'{PANEL} tr[data-change-id="{change.pk}"]').wait_for(timeout=2_500)
    assert len(asked) == 1


def set_hidden(page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background or comes back."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )
