"""Purchase agreements in the browser UI (SPEC §6.3): the list, one agreement's page, and
creating and changing SCM-owned agreements, while CLM-owned ones stay protected (§6.4)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.choices import AgreementOwnership, AgreementStatus, CommitmentType, ContractStatus, NavigationType
from contracts.models import PurchaseAgreement, PurchaseAgreementLine
from contracts.tests import factories
from contracts.tests.test_agreement_filterset import AGREEMENT_FILTER_CASES, build_agreement_catalogue
from contracts.tests.test_filtersets import case_id, query
from contracts.tests.test_selectors import make_user
from contracts.views import AGREEMENT_COLUMNS

pytestmark = pytest.mark.django_db

LIST_URL = reverse("contracts:agreement_list")
CREATE_URL = reverse("contracts:agreement_create")
BUYER_PERMISSIONS = (
    "view_contract",
    "view_purchaseagreement",
    "add_purchaseagreement",
    "change_purchaseagreement",
    "delete_purchaseagreement",
    "view_purchaseagreementline",
    "add_purchaseagreementline",
    "change_purchaseagreementline",
    "delete_purchaseagreementline",
)
PROTECTED = "cannot be changed on a CLM-owned agreement; the CLM is its master."


def detail_url(agreement) -> str:
    return reverse("contracts:agreement_detail", args=[agreement.pk])


def edit_url(agreement) -> str:
    return reverse("contracts:agreement_update", args=[agreement.pk])


def line_url(name: str, line) -> str:
    return reverse(f"contracts:agreement_line_{name}", args=[line.agreement_id, line.pk])


def listed_ids(response) -> list[str]:
    return [row["agreement"].agreement_id for row in response.context["rows"]]


def field_errors(response, name: str) -> list[str]:
    return list(response.context["form"].errors.get(name, []))


@pytest.fixture
def buyer(django_user_model, legal_entity):
    return make_user(django_user_model, "buyer", legal_entities=[legal_entity], permissions=BUYER_PERMISSIONS)


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def viewer_client(client, django_user_model, legal_entity):
    client.force_login(
        make_user(django_user_model, "viewer", legal_entities=[legal_entity], permissions=("view_purchaseagreement",))
    )
    return client


@pytest.fixture
def group_client(client, django_user_model):
    client.force_login(
        make_user(django_user_model, "group-buyer", permissions=("view_purchaseagreement", "cross_company"))
    )
    return client


@pytest.fixture
def catalogue(legal_entity, other_legal_entity):
    return build_agreement_catalogue(legal_entity, other_legal_entity)


def post_form(client, url: str, changes: dict):
    """Submits the form at ``url`` as a browser would: every field as rendered, with ``changes``."""
    form = client.get(url).context["form"]
    data = {}
    for field in form:
        if field.read_only:
            continue
        value = field.value()
        if field.widget_type == "checkbox":
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = "" if value is None else value
    data.update(changes)
    return client.post(url, {key: value for key, value in data.items() if value is not None})


# --- Access and navigation -------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST_URL, CREATE_URL, "/agreements/1/", "/agreements/1/edit/"])
def test_every_page_requires_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_viewing_needs_the_view_permission(client, django_user_model, legal_entity, scm_agreement):
    client.force_login(make_user(django_user_model, "visitor", legal_entities=[legal_entity]))

    assert client.get(LIST_URL).status_code == 403
    assert client.get(detail_url(scm_agreement)).status_code == 403
    assert "Purchase agreements" not in client.get("/contracts/").content.decode()


def test_changing_needs_the_add_and_change_permissions(viewer_client, scm_agreement):
    line = factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    for url in (
        CREATE_URL,
        edit_url(scm_agreement),
        reverse("contracts:agreement_delete", args=[scm_agreement.pk]),
        reverse("contracts:agreement_line_create", args=[scm_agreement.pk]),
        line_url("update", line),
        line_url("delete", line),
    ):
        assert viewer_client.get(url).status_code == 403, url
        assert viewer_client.post(url, {"document_title": "x"}).status_code == 403, url
    assert PurchaseAgreement.objects.get(pk=scm_agreement.pk).document_title == "Printer paper"


def test_a_viewer_is_offered_no_changes(viewer_client, scm_agreement):
    factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    list_html = viewer_client.get(LIST_URL).content.decode()
    detail_html = viewer_client.get(detail_url(scm_agreement)).content.decode()

    assert "New purchase agreement" not in list_html
    for control in (edit_url(scm_agreement), "/delete/", "/lines/new/", "/lines/"):
        assert control not in detail_html


def test_the_top_navigation_leads_to_purchase_agreements(buyer_client, scm_agreement):
    list_html = buyer_client.get(LIST_URL).content.decode()
    detail_html = buyer_client.get(detail_url(scm_agreement)).content.decode()

    assert f'<a href="{LIST_URL}" aria-current="page">Purchase agreements</a>' in list_html
    assert f'<a href="{LIST_URL}" class="is-active">Purchase agreements</a>' in detail_html
    assert '<a href="/contracts/" class="is-active">' not in detail_html


def test_pages_have_no_inline_script_or_style(buyer_client, scm_agreement, clm_agreement):
    line = factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)
    urls = [
        LIST_URL,
        CREATE_URL,
        f"{CREATE_URL}?legal_entity=USMF",
        detail_url(scm_agreement),
        detail_url(clm_agreement),
        edit_url(scm_agreement),
        edit_url(clm_agreement),
        reverse("contracts:agreement_delete", args=[scm_agreement.pk]),
        reverse("contracts:agreement_line_create", args=[scm_agreement.pk]),
        line_url("update", line),
        line_url("delete", line),
    ]
    for url in urls:
        response = buyer_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "style=" not in html, url
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, url


# --- The list: filters, sorting, paging --------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"), AGREEMENT_FILTER_CASES, ids=[case_id(case) for case in AGREEMENT_FILTER_CASES]
)
def test_page_filters_like_the_filterset(group_client, catalogue, params, expected):
    response = group_client.get(LIST_URL, query(params))

    assert sorted(listed_ids(response)) == expected


def test_each_row_shows_every_column(group_client, catalogue):
    html = group_client.get(LIST_URL, {"q": "chairs"}).content.decode()

    for text in (
        "PA-2", "Office chairs", "CON-1", '<span class="badge badge--green">Executed</span>',
        "External contract management", '<span class="badge badge--green">Effective</span>', "Amending",
        "V-1002", "Litware Office", "USMF", "1 Jan 2025", "Open-ended",
    ):  # fmt: skip
        assert text in html


def test_an_scm_row_shows_its_ownership_and_no_contract(group_client, catalogue):
    html = group_client.get(LIST_URL, {"q": "PA-1"}).content.decode()

    assert "Supply Chain Management" in html
    assert '<span class="badge badge--amber">On hold</span>' in html


def test_active_filters_show_as_removable_chips_with_their_labels(group_client, catalogue):
    response = group_client.get(LIST_URL, {"ownership": "CLM", "contract_status": "OnHold", "q": "con"})

    chips = {(chip.label, chip.value): chip.remove_url for chip in response.context["active_filters"]}
    assert set(chips) == {
        ("Search", "con"),
        ("Ownership", "External contract management"),
        ("Contract status", "On hold"),
    }
    assert chips[("Ownership", "External contract management")] == "?contract_status=OnHold&q=con"


def test_every_column_sorts():
    assert [column.sort for column in AGREEMENT_COLUMNS] == [
        "agreement_id", "title", "contract_id", "contract_status", "ownership", "status", "vendor",
        "legal_entity", "effective_date", "expiration_date",
    ]  # fmt: skip


@pytest.mark.parametrize("sort", [column.sort for column in AGREEMENT_COLUMNS])
def test_sorting_by_a_column_marks_its_header(group_client, catalogue, sort):
    for ordering, direction in ((sort, "ascending"), (f"-{sort}", "descending")):
        response = group_client.get(LIST_URL, {"ordering": ordering})

        assert len(listed_ids(response)) == 5
        assert re.findall(r'<th scope="col" aria-sort="(\w+)">', response.content.decode()) == [direction]


def test_the_page_sorts_like_the_filterset(group_client, catalogue):
    assert listed_ids(group_client.get(LIST_URL, {"ordering": "-contract_id"})) == [
        "PA-5", "PA-3", "PA-2", "PA-1", "PA-4",
    ]  # fmt: skip


@pytest.fixture
def seven_agreements(legal_entity, vendor):
    return [
        factories.AgreementFactory(legal_entity=legal_entity, vendor=vendor, agreement_id=f"PA-{n}")
        for n in range(1, 8)
    ]


def test_paging_links_each_way_and_keeps_the_filters(buyer_client, seven_agreements):
    first = buyer_client.get(LIST_URL, {"per_page": "3", "status": "Effective"})
    middle = buyer_client.get(LIST_URL + first.context["next_url"])
    last = buyer_client.get(LIST_URL, {"per_page": "3", "status": "Effective", "page": "3"})

    assert listed_ids(first) == ["PA-1", "PA-2", "PA-3"]
    assert first.context["next_url"] == "?per_page=3&status=Effective&page=2"
    assert first.context["previous_url"] == ""
    assert listed_ids(middle) == ["PA-4", "PA-5", "PA-6"]
    assert "Showing 4–6" in middle.content.decode()
    assert listed_ids(last) == ["PA-7"]
    assert last.context["next_url"] == ""


def test_a_page_past_the_end_offers_the_first_page(buyer_client, seven_agreements):
    html = buyer_client.get(LIST_URL, {"page": "9", "per_page": "3"}).content.decode()

    assert "No more purchase agreements on this page" in html
    assert 'href="?per_page=3"' in html


def make_agreements(legal_entity, count: int) -> None:
    """Half SCM-owned, half from executed purchase contracts (``count`` even), so that every column has data."""
    vendor = factories.VendorFactory(legal_entity=legal_entity)
    for n in range(count):
        contract = None
        if n % 2:
            contract = factories.ContractFactory(
                legal_entity=legal_entity, vendor=vendor, status=ContractStatus.EXECUTED
            )
        factories.AgreementFactory(
            legal_entity=legal_entity,
            vendor=vendor,
            contract=contract,
            ownership=AgreementOwnership.CLM if contract else AgreementOwnership.SCM,
        )


@pytest.mark.parametrize(
    ("params", "share"),
    [({}, 1), ({"ordering": "-contract_status", "ownership": "CLM", "legal_entity": "USMF", "q": "PA"}, 0.5)],
    ids=["unfiltered", "filtered-and-sorted"],
)
def test_the_list_runs_the_same_queries_for_6_and_50_agreements_and_never_counts(
    buyer_client, legal_entity, params, share
):
    params = {"per_page": "100", **params}

    def list_queries() -> tuple[int, list[str]]:
        with CaptureQueriesContext(db_connection) as queries:
            response = buyer_client.get(LIST_URL, params)
        return len(response.context["rows"]), [captured["sql"] for captured in queries]

    make_agreements(legal_entity, 6)
    rows_6, with_6 = list_queries()
    make_agreements(legal_entity, 44)
    rows_50, with_50 = list_queries()

    assert (rows_6, rows_50) == (6 * share, 50 * share)
    assert len(with_50) == len(with_6)
    assert not [sql for sql in with_50 if "COUNT(" in sql.upper()]


# --- Legal-entity isolation ----------------------------------------------------------


@pytest.fixture
def demf_agreement(other_legal_entity):
    return factories.AgreementFactory(
        legal_entity=other_legal_entity, agreement_id="PA-DE-1", document_title="Berlin office lease"
    )


def test_another_entitys_agreement_never_appears_in_the_list(buyer_client, scm_agreement, demf_agreement):
    for params in ({}, {"legal_entity": "DEMF"}, {"q": "Berlin"}, {"ordering": "legal_entity"}):
        response = buyer_client.get(LIST_URL, params)
        assert listed_ids(response) in (["PA-SCM-1"], [])
        assert "Berlin office lease" not in response.content.decode()


def test_another_entitys_agreement_and_its_pages_are_not_found(buyer_client, scm_agreement, demf_agreement):
    line = factories.LineFactory(agreement=demf_agreement, legal_entity=demf_agreement.legal_entity)

    assert buyer_client.get(detail_url(scm_agreement)).status_code == 200
    for url in (
        detail_url(demf_agreement),
        edit_url(demf_agreement),
        reverse("contracts:agreement_delete", args=[demf_agreement.pk]),
        reverse("contracts:agreement_line_create", args=[demf_agreement.pk]),
        line_url("update", line),
    ):
        assert buyer_client.get(url).status_code == 404, url
    assert buyer_client.post(reverse("contracts:agreement_delete", args=[demf_agreement.pk])).status_code == 404
    assert PurchaseAgreement.objects.filter(pk=demf_agreement.pk).exists()


def test_a_line_is_found_only_under_its_own_agreement(buyer_client, scm_agreement, clm_agreement):
    line = factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity)

    url = reverse("contracts:agreement_line_delete", args=[scm_agreement.pk, line.pk])

    assert buyer_client.get(url).status_code == 404
    assert buyer_client.post(url).status_code == 404


# --- Detail --------------------------------------------------------------------------


def test_a_clm_owned_agreement_shows_its_contract(buyer_client, clm_agreement):
    contract = clm_agreement.contract
    contract.amendment_in_process = True
    contract.latest_amendment_id = "CON-A02"
    contract.save()

    response = buyer_client.get(detail_url(clm_agreement))
    html = response.content.decode()

    assert "External contract management" in html
    contract_url = reverse("contracts:detail", args=[contract.pk])
    assert f'<a href="{contract_url}">{contract.contract_id}</a>' in html
    assert '<span class="badge badge--green">Executed</span>' in html
    assert "CON-A02" in html
    assert re.search(r"<dt>Amendment in process</dt><dd><span class=\"badge badge--amber\">Yes</span>", html)


def test_an_scm_owned_agreement_says_supply_chain_management(buyer_client, scm_agreement):
    html = buyer_client.get(detail_url(scm_agreement)).content.decode()

    assert "<dt>Ownership</dt><dd>Supply Chain Management</dd>" in html
    assert "No contract references this agreement yet." in html


def test_detail_shows_the_header_fields(buyer_client, legal_entity, vendor):
    worker = factories.WorkerFactory(legal_entity=legal_entity, name="Grace Wong")
    agreement = factories.AgreementFactory(
        legal_entity=legal_entity,
        vendor=vendor,
        document_title="Printer paper",
        classification=factories.ClassificationFactory(legal_entity=legal_entity, name="Blanket"),
        primary_responsible_worker=worker,
        buyer_group=factories.BuyerGroupFactory(legal_entity=legal_entity, group_id="IT-BUY"),
        payment_terms=factories.PaymentTermsFactory(legal_entity=legal_entity, name="Net45"),
        vendor_reference="FAB-77",
        delivery_address="1 Main Street\nSeattle",
        financial_dimensions="BU-CC-DEP",
    )

    html = buyer_client.get(detail_url(agreement)).content.decode()

    for text in (
        "Printer paper", "Blanket", "Grace Wong", "IT-BUY", "Net45", "FAB-77", "1 Main Street<br>Seattle",
        "BU-CC-DEP", "V-1001", "Fabrikam Supplies", "USD", "1 Jan 2026", "31 Dec 2027",
    ):  # fmt: skip
        assert text in html


def test_detail_lists_every_line_field_a_buyer_needs(buyer_client, legal_entity, scm_agreement):
    site = factories.SiteFactory(legal_entity=legal_entity, site_id="SEA")
    product = factories.ProductFactory(legal_entity=legal_entity, item_number="OS-1001", name="Copy paper")
    factories.LineFactory(
        agreement=scm_agreement,
        legal_entity=legal_entity,
        line_number=Decimal("1"),
        product=product,
        product_variant=factories.VariantFactory(legal_entity=legal_entity, product=product, variant_number="A4"),
        committed_quantity=Decimal("1200"),
        price=Decimal("24.90"),
        price_quantity=Decimal("1"),
        line_discount_percentage=Decimal("5"),
        minimum_release_amount=Decimal("100"),
        maximum_release_amount=Decimal("5000"),
        is_commitment_maximum_enforced=True,
        is_price_and_discount_fixed=True,
        effective_date=datetime.date(2026, 2, 1),
        receiving_site=site,
        receiving_warehouse=factories.WarehouseFactory(legal_entity=legal_entity, site=site, warehouse_id="SEA-1"),
        project=factories.ProjectFactory(legal_entity=legal_entity, project_id="PRJ-9"),
        financial_dimensions="BU-CC",
    )
    factories.LineFactory(
        agreement=scm_agreement,
        legal_entity=legal_entity,
        line_number=Decimal("2.5"),
        commitment_type=CommitmentType.PRODUCT_CATEGORY,
        product=None,
        category=factories.CategoryFactory(name="Paper and print"),
        committed_quantity=None,
        committed_amount=Decimal("25000"),
        price=None,
    )

    html = buyer_client.get(detail_url(scm_agreement)).content.decode()

    assert 'Lines <span class="count">(2)</span>' in html
    for text in (
        "Product quantity commitment", "OS-1001", "Copy paper", "A4", "1,200 ea", "24.90 USD", "Discount 5 %",
        "100.00 – 5,000.00", "Maximum enforced", "Price and discount fixed", "1 Feb 2026", "SEA-1", "PRJ-9",
        "BU-CC", "2.5", "Product category value commitment", "Paper and print", "25,000.00 USD",
    ):  # fmt: skip
        assert text in html


def test_detail_runs_the_same_queries_for_1_and_10_lines(buyer_client, scm_agreement):
    def detail_queries() -> int:
        with CaptureQueriesContext(db_connection) as queries:
            buyer_client.get(detail_url(scm_agreement))
        return len(queries)

    factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)
    with_1 = detail_queries()
    factories.LineFactory.create_batch(9, agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    assert detail_queries() == with_1


def test_an_scm_owned_agreement_offers_every_change(buyer_client, scm_agreement):
    line = factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    html = buyer_client.get(detail_url(scm_agreement)).content.decode()

    for url in (
        edit_url(scm_agreement),
        reverse("contracts:agreement_delete", args=[scm_agreement.pk]),
        reverse("contracts:agreement_line_create", args=[scm_agreement.pk]),
        line_url("update", line),
        line_url("delete", line),
    ):
        assert f'href="{url}' in html, url


def test_a_clm_owned_agreement_offers_no_delete_and_no_add_line(buyer_client, clm_agreement):
    line = factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity)

    html = buyer_client.get(detail_url(clm_agreement)).content.decode()

    assert f'href="{edit_url(clm_agreement)}"' in html
    assert f'href="{line_url("update", line)}"' in html and "Edit dimensions" in html
    assert "/delete/" not in html
    assert "/lines/new/" not in html
    assert "Add line" not in html and "Delete" not in html


def test_new_contract_from_agreement_appears_when_a_connection_configures_it(buyer_client, scm_agreement):
    connection = factories.ConnectionFactory(name="Reference CLM", navigation_base_url="https://clm.example.com/app")
    link = factories.NavigationLinkFactory(
        connection=connection,
        navigation_type=NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT,
        relative_url="/contracts/new",
    )
    factories.NavigationLinkParameterFactory(
        link=link, key="agreement", value="%PurchaseAgreement.PurchaseAgreementId%"
    )

    response = buyer_client.get(detail_url(scm_agreement))

    assert [button.label for button in response.context["buttons"]] == ["New"]
    assert 'href="https://clm.example.com/app/contracts/new?agreement=PA-SCM-1"' in response.content.decode()
    assert "Start one in the CLM with <strong>New</strong>" in response.content.decode()


def test_without_a_configured_link_there_is_no_new_button(buyer_client, scm_agreement):
    factories.ConnectionFactory(name="Reference CLM")

    assert buyer_client.get(detail_url(scm_agreement)).context["buttons"] == []


def test_a_clm_owned_agreement_opens_its_contract_in_the_clm(buyer_client, clm_agreement):
    connection = clm_agreement.contract.connection
    link = factories.NavigationLinkFactory(connection=connection, navigation_type=NavigationType.VIEW_CONTRACT)
    factories.NavigationLinkParameterFactory(link=link, key="id", value="%Contract.ExternalContractId%")
    factories.NavigationLinkFactory(
        connection=connection, navigation_type=NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT
    )

    response = buyer_client.get(detail_url(clm_agreement))

    assert [button.label for button in response.context["buttons"]] == ["View"]
    assert f"?id={clm_agreement.contract.external_contract_id}" in response.content.decode()


# --- CLM-owned agreements are protected (SPEC §6.4) ------------------------------------


def test_the_edit_page_of_a_clm_owned_agreement_offers_only_the_fields_people_keep(buyer_client, clm_agreement):
    response = buyer_client.get(edit_url(clm_agreement))
    html = response.content.decode()

    assert 'name="vendor_reference"' in html
    assert 'name="buyer_group"' in html
    assert 'name="financial_dimensions"' in html
    for protected in ("document_title", "vendor", "default_expiration_date", "status", "agreement_id"):
        assert f'name="{protected}"' not in html, protected
    assert '<p class="read-only-value" aria-labelledby="id_document_title_label">Office chairs 2026</p>' in html


def test_a_crafted_change_of_a_protected_field_is_refused_and_nothing_is_saved(buyer_client, clm_agreement):
    response = buyer_client.post(
        edit_url(clm_agreement), {"document_title": "Cheaper chairs", "vendor_reference": "REF-1"}
    )

    assert response.status_code == 200
    assert field_errors(response, "document_title") == [PROTECTED]
    assert "Cannot be changed on a CLM-owned agreement; the CLM is its master." in response.content.decode()
    clm_agreement.refresh_from_db()
    assert clm_agreement.document_title == "Office chairs 2026"
    assert clm_agreement.vendor_reference == ""


def test_people_change_the_fields_they_keep_on_a_clm_owned_agreement(buyer_client, clm_agreement, legal_entity):
    factories.BuyerGroupFactory(legal_entity=legal_entity, group_id="FAC")

    response = post_form(
        buyer_client, edit_url(clm_agreement), {"vendor_reference": "REF-1", "buyer_group": "FAC", "pool": "P1"}
    )

    assert response.status_code == 302
    assert response.url == detail_url(clm_agreement)
    clm_agreement.refresh_from_db()
    assert (clm_agreement.vendor_reference, clm_agreement.buyer_group.group_id, clm_agreement.pool) == (
        "REF-1", "FAC", "P1",
    )  # fmt: skip
    assert clm_agreement.document_title == "Office chairs 2026"
    assert clm_agreement.changed_by == "user:buyer"


def test_a_clm_owned_line_offers_only_its_financial_dimensions(buyer_client, clm_agreement):
    line = factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity)

    html = buyer_client.get(line_url("update", line)).content.decode()
    refused = buyer_client.post(line_url("update", line), {"price": "1.00", "financial_dimensions": "BU-1"})
    saved = post_form(buyer_client, line_url("update", line), {"financial_dimensions": "BU-1"})

    assert 'name="financial_dimensions"' in html and 'name="price"' not in html
    assert field_errors(refused, "price") == [PROTECTED]
    assert saved.status_code == 302
    line.refresh_from_db()
    assert (line.price, line.financial_dimensions) == (Decimal("9.50"), "BU-1")


def test_crafted_deletes_and_new_lines_on_a_clm_owned_agreement_show_the_services_refusal(buyer_client, clm_agreement):
    line = factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity)

    deleted = buyer_client.post(reverse("contracts:agreement_delete", args=[clm_agreement.pk]))
    line_deleted = buyer_client.post(line_url("delete", line))
    added = buyer_client.post(
        reverse("contracts:agreement_line_create", args=[clm_agreement.pk]),
        {
            "commitment_type": CommitmentType.PRODUCT_QUANTITY,
            "product": line.product.item_number,
            "committed_quantity": "1",
        },
    )

    assert "A CLM-owned agreement cannot be deleted here; the CLM is its master." in deleted.content.decode()
    assert "Lines of a CLM-owned agreement cannot be deleted here." in line_deleted.content.decode()
    assert "Agreement: lines cannot be added to a CLM-owned agreement here." in added.content.decode()
    assert PurchaseAgreement.objects.filter(pk=clm_agreement.pk).exists()
    assert list(clm_agreement.lines.all()) == [line]


# --- Creating an SCM-owned agreement -----------------------------------------------------


def test_new_asks_for_the_legal_entity_when_the_user_has_several(
    client, django_user_model, legal_entity, other_legal_entity
):
    client.force_login(
        make_user(
            django_user_model,
            "two-entities",
            legal_entities=[legal_entity, other_legal_entity],
            permissions=BUYER_PERMISSIONS,
        )
    )

    chooser = client.get(CREATE_URL)
    form = client.get(CREATE_URL, {"legal_entity": "DEMF"})

    assert chooser.context["choose_legal_entity"] is True
    assert '<option value="USMF">' in chooser.content.decode() and '<option value="DEMF">' in chooser.content.decode()
    assert form.context["form"].legal_entity == other_legal_entity


def test_new_goes_straight_to_the_form_for_a_single_legal_entity(buyer_client, legal_entity):
    assert buyer_client.get(CREATE_URL).context["form"].legal_entity == legal_entity


def test_new_refuses_a_legal_entity_that_is_not_the_users(buyer_client, other_legal_entity):
    chosen = buyer_client.get(CREATE_URL, {"legal_entity": "DEMF"})

    assert chosen.context["choose_legal_entity"] is True
    assert "is not one of your legal entities" in chosen.content.decode()
    assert buyer_client.post(f"{CREATE_URL}?legal_entity=DEMF", {"vendor": "V-1"}).status_code == 404


def test_the_new_form_offers_the_vendors_of_its_legal_entity(buyer_client, vendor, other_legal_entity):
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="DE-9")
    factories.VendorFactory(legal_entity=vendor.legal_entity, account_number="V-BLOCKED", blocked=True)

    html = buyer_client.get(CREATE_URL).content.decode()

    assert '<datalist id="id_vendor-options"><option value="V-1001">Fabrikam Supplies</option></datalist>' in html
    assert 'list="id_vendor-options"' in html


def test_invalid_data_shows_every_service_message_on_its_field_and_saves_nothing(buyer_client, vendor):
    response = buyer_client.post(
        CREATE_URL,
        {
            "document_title": "Printer paper",
            "vendor": "NOPE",
            "default_effective_date": "2026-06-01",
            "default_expiration_date": "2026-01-31",
            "status": AgreementStatus.ON_HOLD,
        },
    )

    assert response.status_code == 200
    assert field_errors(response, "vendor") == ['no vendor "NOPE" exists in legal entity USMF.']
    assert field_errors(response, "default_expiration_date") == [
        "2026-01-31 is before default effective date 2026-06-01."
    ]
    html = response.content.decode()
    assert "Nothing was saved." in html
    assert "No vendor &quot;NOPE&quot; exists in legal entity USMF." in html
    assert not PurchaseAgreement.objects.exists()


def test_valid_data_creates_a_numbered_scm_agreement(buyer_client, vendor, legal_entity):
    worker = factories.WorkerFactory(legal_entity=legal_entity, personnel_number="W-7")

    response = buyer_client.post(
        CREATE_URL,
        {
            "document_title": "Printer paper 2026",
            "vendor": "V-1001",
            "default_effective_date": "2026-01-01",
            "default_expiration_date": "2026-12-31",
            "status": AgreementStatus.EFFECTIVE,
            "default_commitment_type": CommitmentType.PRODUCT_QUANTITY,
            "primary_responsible_worker": "W-7",
            "currency": "",
        },
        follow=True,
    )

    agreement = PurchaseAgreement.objects.get()
    assert response.redirect_chain == [(detail_url(agreement), 302)]
    assert re.fullmatch(r"PA-\d+", agreement.agreement_id)
    assert agreement.ownership == AgreementOwnership.SCM
    assert agreement.currency == vendor.currency  # blank: the vendor's
    assert agreement.invoice_vendor == vendor
    assert agreement.primary_responsible_worker == worker
    assert agreement.changed_by == "user:buyer"
    assert f"Purchase agreement {agreement.agreement_id} created." in response.content.decode()


def test_an_scm_agreement_is_edited_except_its_key(buyer_client, scm_agreement):
    refused = buyer_client.post(edit_url(scm_agreement), {"agreement_id": "PA-OTHER"})
    saved = post_form(buyer_client, edit_url(scm_agreement), {"document_title": "Paper and toner", "status": "Closed"})

    assert field_errors(refused, "agreement_id") == ["cannot be changed; it is the agreement's key."]
    assert saved.status_code == 302
    scm_agreement.refresh_from_db()
    assert (scm_agreement.agreement_id, scm_agreement.document_title, scm_agreement.status) == (
        "PA-SCM-1", "Paper and toner", AgreementStatus.CLOSED,
    )  # fmt: skip


# --- Lines of an SCM-owned agreement -----------------------------------------------------


def test_a_line_with_a_rule_broken_shows_the_message_then_a_valid_line_saves(buyer_client, scm_agreement):
    url = reverse("contracts:agreement_line_create", args=[scm_agreement.pk])
    factories.CategoryFactory(name="Paper and print")

    refused = buyer_client.post(
        url, {"commitment_type": CommitmentType.PRODUCT_CATEGORY, "committed_amount": "25000", "category": ""}
    )
    saved = buyer_client.post(
        url,
        {
            "commitment_type": CommitmentType.PRODUCT_CATEGORY,
            "committed_amount": "25000",
            "category": "Paper and print",
        },
    )

    assert field_errors(refused, "category") == ["a procurement category is required for ProductCategory commitments."]
    assert saved.status_code == 302
    assert saved.url == f"{detail_url(scm_agreement)}#lines"
    line = PurchaseAgreementLine.objects.get()
    assert (line.line_number, line.category.name, line.committed_amount) == (1, "Paper and print", Decimal("25000"))


def test_the_line_form_offers_the_items_of_the_agreements_legal_entity(buyer_client, scm_agreement, other_legal_entity):
    factories.ProductFactory(legal_entity=scm_agreement.legal_entity, item_number="OS-1001", name="Copy paper")
    factories.ProductFactory(legal_entity=other_legal_entity, item_number="DE-ITEM")

    html = buyer_client.get(reverse("contracts:agreement_line_create", args=[scm_agreement.pk])).content.decode()

    assert '<option value="OS-1001">OS-1001 Copy paper</option>' in html
    assert "DE-ITEM" not in html


def test_a_line_is_edited(buyer_client, scm_agreement):
    line = factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    response = post_form(buyer_client, line_url("update", line), {"price": "8.75", "is_price_and_discount_fixed": "on"})

    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.price, line.is_price_and_discount_fixed) == (Decimal("8.75"), True)


def test_a_line_is_deleted_after_confirmation(buyer_client, scm_agreement):
    line = factories.LineFactory(agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)

    confirmation = buyer_client.get(line_url("delete", line))
    response = buyer_client.post(line_url("delete", line), follow=True)

    assert "Delete line" in confirmation.content.decode()
    assert line.agreement.lines.count() == 0
    assert "deleted." in response.content.decode()


# --- Deleting an SCM-owned agreement -------------------------------------------------------


def test_an_scm_agreement_is_deleted_with_its_lines_after_confirmation(buyer_client, scm_agreement):
    factories.LineFactory.create_batch(2, agreement=scm_agreement, legal_entity=scm_agreement.legal_entity)
    url = reverse("contracts:agreement_delete", args=[scm_agreement.pk])

    confirmation = buyer_client.get(url).content.decode()
    response = buyer_client.post(url, follow=True)

    assert "is deleted with its 2 lines" in confirmation
    assert '<button type="submit" class="btn btn-danger">Delete agreement</button>' in confirmation
    assert response.redirect_chain == [(LIST_URL, 302)]
    assert "Purchase agreement PA-SCM-1 deleted." in response.content.decode()
    assert not PurchaseAgreement.objects.exists()
    assert not PurchaseAgreementLine.objects.exists()
