"""The browser UI (contracts/urls.py, the dashboard, signing in and out): a person granted
only A reads nothing of B, and B's records are "not found" (404) whatever the page does."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from contracts.choices import DeepLinkTarget
from contracts.models import PurchaseAgreement

from .cases import (
    PAGE,
    PUBLIC,
    SCRIPT,
    assert_hides,
    body_of,
    browser,
    case,
    changes_nothing_of_b,
    query_text,
    read,
    refused,
)
from .world import B_CODE, World

# Filters that name B's records: the list must still show none of them.
NAMING_B = ({"legal_entity": B_CODE}, {"q": "BRAVO chairs"}, {"party": "BRAVO-V1"}, {"type": "NDA", "per_page": 200})


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def _one(name: str, pick):
    """Probes of a page of one record: B's."""
    return lambda world: [("get", url(name, pick(world).pk))]


# --- All contracts, its exports and the contract page -----------------------------------------


@case("contracts:list", PAGE, lambda world: [("get", url("contracts:list"))])
def all_contracts_lists_only_a(world: World):
    client = browser(world)
    body = assert_hides(world.b, read(client, url("contracts:list")))
    assert world.a.contract.contract_id in body and world.a.nda.contract_id in body
    for query in NAMING_B:
        assert_hides(world.b, read(client, url("contracts:list"), query), asked=query_text(query))


def _export_holds_only_a(world: World, name: str):
    client = browser(world)
    body = assert_hides(world.b, read(client, url(name)))
    assert world.a.contract.contract_id in body and world.a.nda.contract_id in body
    for query in NAMING_B:
        assert_hides(world.b, read(client, url(name), query), asked=query_text(query))


@case("contracts:export_csv", PAGE, lambda world: [("get", url("contracts:export_csv"))])
def csv_export_holds_only_a(world: World):
    _export_holds_only_a(world, "contracts:export_csv")


@case("contracts:export_xlsx", PAGE, lambda world: [("get", url("contracts:export_xlsx"))])
def xlsx_export_holds_only_a(world: World):
    _export_holds_only_a(world, "contracts:export_xlsx")


@case("contracts:detail", PAGE, _one("contracts:detail", lambda world: world.b.contract))
def contract_page_of_b_is_not_found(world: World):
    client = browser(world)
    for contract in world.b.contracts:
        read(client, url("contracts:detail", contract.pk), status=404)
    body = assert_hides(world.b, read(client, url("contracts:detail", world.a.contract.pk)))
    assert world.a.clm_agreement.agreement_id in body


@case(
    "contracts:deep_link",
    PAGE,
    lambda world: [("get", url("contracts:deep_link", world.b.link_tokens[DeepLinkTarget.CONTRACT]))],
)
def deep_link_to_b_is_not_found(world: World):
    client = browser(world)
    for token in world.b.link_tokens.values():
        read(client, url("contracts:deep_link", token), status=404)
    # A's links open A's pages, so the 404s above are about B, not about links.
    response = read(client, url("contracts:deep_link", world.a.link_tokens[DeepLinkTarget.CONTRACT]), status=302)
    assert response["Location"] == url("contracts:detail", world.a.contract.pk)


# --- The dashboard and its JSON panels ---------------------------------------------------------


@case("home", PAGE, lambda world: [("get", url("home"))])
def dashboard_counts_only_a(world: World):
    response = read(browser(world), url("home"))
    assert_hides(world.b, response)
    assert response.context["totals"]["contracts"] == len(world.a.contract_ids())
    assert sum(row["count"] for row in response.context["by_status"]) == len(world.a.contract_ids())
    assert [entity.code for entity in response.context["legal_entities"]] == [world.a.code]


@case("contracts:latest_changes", SCRIPT, lambda world: [("get", url("contracts:latest_changes"))])
def latest_changes_are_only_a(world: World):
    response = read(browser(world), url("contracts:latest_changes"))
    assert_hides(world.b, response)
    a_ids = world.a.contract_ids()
    changes = response.json()["changes"]
    assert changes and {change["contract_id"] for change in changes} <= a_ids


@case("contracts:sync_runs", SCRIPT, lambda world: [("get", url("contracts:sync_runs"))])
def sync_runs_panel_hides_b_imports(world: World):
    response = read(browser(world), url("contracts:sync_runs"))
    assert_hides(world.b, response)
    shown = {run["id"] for run in response.json()["runs"]}
    assert world.a.import_run.pk in shown
    assert world.b.import_run.pk not in shown


# --- Vendors ------------------------------------------------------------------------------------


@case("contracts:vendor_list", PAGE, lambda world: [("get", url("contracts:vendor_list"))])
def vendor_list_is_only_a(world: World):
    client = browser(world)
    body = assert_hides(world.b, read(client, url("contracts:vendor_list")))
    assert world.a.master_data["vendors"].account_number in body
    for query in ({"legal_entity": B_CODE}, {"q": "BRAVO"}):
        assert_hides(world.b, read(client, url("contracts:vendor_list"), query), asked=query_text(query))


@case("contracts:vendor_detail", PAGE, _one("contracts:vendor_detail", lambda world: world.b.master_data["vendors"]))
def vendor_page_of_b_is_not_found(world: World):
    client = browser(world)
    read(client, url("contracts:vendor_detail", world.b.master_data["vendors"].pk), status=404)
    body = assert_hides(world.b, read(client, url("contracts:vendor_detail", world.a.master_data["vendors"].pk)))
    assert world.a.nda.contract_id in body


# --- Purchase agreements: list, page, forms ------------------------------------------------------


@case("contracts:agreement_list", PAGE, lambda world: [("get", url("contracts:agreement_list"))])
def agreement_list_is_only_a(world: World):
    client = browser(world)
    body = assert_hides(world.b, read(client, url("contracts:agreement_list")))
    assert world.a.scm_agreement.agreement_id in body and world.a.clm_agreement.agreement_id in body
    for query in ({"legal_entity": B_CODE}, {"q": "BRAVO"}, {"vendor": "BRAVO-V1"}):
        assert_hides(world.b, read(client, url("contracts:agreement_list"), query), asked=query_text(query))


@case("contracts:agreement_detail", PAGE, _one("contracts:agreement_detail", lambda world: world.b.scm_agreement))
def agreement_page_of_b_is_not_found(world: World):
    client = browser(world)
    for agreement in world.b.agreements:
        read(client, url("contracts:agreement_detail", agreement.pk), status=404)
    assert_hides(world.b, read(client, url("contracts:agreement_detail", world.a.scm_agreement.pk)))


@case("contracts:agreement_create", PAGE, lambda world: [("get", url("contracts:agreement_create"))])
def new_agreement_cannot_be_made_in_b(world: World):
    client = browser(world)
    create = url("contracts:agreement_create")
    # Asking for B's form shows the choice of the user's own legal entities, and no form.
    response = read(client, create, {"legal_entity": B_CODE})
    assert response.context["form"] is None
    assert [entity.code for entity in response.context["legal_entities"]] == [world.a.code]
    # A's form offers A's master data only.
    assert_hides(world.b, read(client, create, {"legal_entity": world.a.code}))
    body = {"document_title": "BRAVO sneaked in", "vendor": world.b.master_data["vendors"].account_number}
    with changes_nothing_of_b(world):
        refused(client.post(f"{create}?legal_entity={B_CODE}", body), 404)
        # B's vendor named on A's agreement is not found in A: nothing is created.
        response = client.post(f"{create}?legal_entity={world.a.code}", body)
        refused(response, 200)
        assert response.context["form"].errors["vendor"]
    assert not PurchaseAgreement.objects.filter(document_title="BRAVO sneaked in").exists()


def _pages_of_b_are_not_found(world: World, pages: list[str], form: dict | None = None) -> None:
    """Each page of B's record is "not found", shown (GET) or sent (POST ``form``); B is unchanged."""
    client = browser(world)
    with changes_nothing_of_b(world):
        for page in pages:
            refused(client.get(page), 404)
            refused(client.post(page, form or {}), 404)


@case("contracts:agreement_update", PAGE, _one("contracts:agreement_update", lambda world: world.b.scm_agreement))
def agreement_of_b_cannot_be_edited(world: World):
    pages = [url("contracts:agreement_update", agreement.pk) for agreement in world.b.agreements]
    _pages_of_b_are_not_found(world, pages, {"document_title": "Changed by A", "vendor_reference": "A was here"})


@case("contracts:agreement_delete", PAGE, _one("contracts:agreement_delete", lambda world: world.b.scm_agreement))
def agreement_of_b_cannot_be_deleted(world: World):
    _pages_of_b_are_not_found(
        world, [url("contracts:agreement_delete", agreement.pk) for agreement in world.b.agreements]
    )


@case(
    "contracts:agreement_line_create",
    PAGE,
    _one("contracts:agreement_line_create", lambda world: world.b.scm_agreement),
)
def line_cannot_be_added_to_b(world: World):
    body = {"line_number": "9", "commitment_type": "ProductQuantity", "product": "BRAVO-I1", "committed_quantity": "1"}
    _pages_of_b_are_not_found(world, [url("contracts:agreement_line_create", world.b.scm_agreement.pk)], body)
    # B's product on A's agreement is not found in A: the form says so and adds nothing.
    client, a_agreement = browser(world), world.a.scm_agreement
    lines_before = a_agreement.lines.count()
    response = client.post(url("contracts:agreement_line_create", a_agreement.pk), body)
    refused(response, 200)
    assert response.context["form"].errors["product"]
    assert a_agreement.lines.count() == lines_before


def _line_urls(world: World, name: str) -> list[str]:
    """B's line under B's agreement, and under A's agreement (the line is looked up in the agreement's)."""
    b_line = world.b.line
    return [url(name, b_line.agreement_id, b_line.pk), url(name, world.a.scm_agreement.pk, b_line.pk)]


@case(
    "contracts:agreement_line_update",
    PAGE,
    lambda world: [("get", _line_urls(world, "contracts:agreement_line_update")[0])],
)
def line_of_b_cannot_be_edited(world: World):
    pages = _line_urls(world, "contracts:agreement_line_update")
    _pages_of_b_are_not_found(world, pages, {"committed_quantity": "1", "price": "0.01"})


@case(
    "contracts:agreement_line_delete",
    PAGE,
    lambda world: [("get", _line_urls(world, "contracts:agreement_line_delete")[0])],
)
def line_of_b_cannot_be_deleted(world: World):
    _pages_of_b_are_not_found(world, _line_urls(world, "contracts:agreement_line_delete"))


# --- Signing in and out: open to anyone, showing no record ------------------------------------------


@case("login", PUBLIC, lambda world: [("get", url("login"))])
def login_page_shows_no_record(world: World):
    for company in (world.a, world.b):
        assert_hides(company, read(Client(), url("login")))
    # Signed in, the login page sends the person on (redirect_authenticated_user).
    read(browser(world), url("login"), status=302)


@case("logout", PUBLIC, lambda world: [("post", url("logout"))])
def logout_shows_no_record(world: World):
    response = browser(world).post(url("logout"))
    refused(response, 200, 302)
    for company in (world.a, world.b):
        assert not [secret for secret in company.secrets if secret in body_of(response)]


# --- Health checks: open to load balancers, naming no record ------------------------------------------


@case("health", PUBLIC, lambda world: [("get", f"{url('health')}?check=database")])
def health_check_shows_no_record(world: World):
    for client in (Client(), browser(world)):
        response = client.get(url("health"), {"check": "database"})
        refused(response, 200, 503)
        for company in (world.a, world.b):
            assert_hides(company, response)


@case("health_live", PUBLIC, lambda world: [("get", url("health_live"))])
def liveness_shows_no_record(world: World):
    response = read(Client(), url("health_live"))
    for company in (world.a, world.b):
        assert_hides(company, response)
