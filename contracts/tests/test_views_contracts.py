"""The browser UI of procurement staff: sign-in, All contracts (SPEC §6.1) and the contract page (§6.2)."""

import datetime
import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contracts.choices import AgreementOwnership, AgreementStatus, ContractStatus, HandshakeStatus, NavigationType
from contracts.models import ContractStatusChange
from contracts.tests import factories
from contracts.tests.test_filtersets import FILTER_CASES, build_catalogue, case_id, fix_today, query
from contracts.tests.test_selectors import make_user
from contracts.views import CONTRACT_COLUMNS
from contracts.views.lists import MAX_PAGE_SIZE

pytestmark = pytest.mark.django_db

LIST_URL = reverse("contracts:list")
ALL_IDS = ["NDA-001", "NDA-002", "PUR-001", "PUR-002", "SRV-001"]


def detail_url(contract) -> str:
    return reverse("contracts:detail", args=[contract.pk])


def listed_ids(response) -> list[str]:
    return [contract.contract_id for contract in response.context["page"].rows]


@pytest.fixture
def usmf_user(django_user_model, legal_entity):
    return make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity])


@pytest.fixture
def cross_company_user(django_user_model):
    return make_user(django_user_model, "group-buyer", permissions=("view_contract", "cross_company"))


@pytest.fixture
def catalogue(monkeypatch, legal_entity, other_legal_entity):
    fix_today(monkeypatch)
    return build_catalogue(legal_entity, other_legal_entity)


@pytest.fixture
def usmf_client(client, usmf_user):
    client.force_login(usmf_user)
    return client


@pytest.fixture
def group_client(client, cross_company_user):
    client.force_login(cross_company_user)
    return client


# --- Signing in ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/contracts/", "/contracts/1/"])
def test_every_page_requires_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_login_page_labels_its_inputs(client):
    html = client.get(reverse("login")).content.decode()

    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html


def test_login_takes_the_user_to_the_page_it_asked_for(client, usmf_user):
    response = client.post(
        reverse("login"), {"username": "usmf-buyer", "password": "usmf-buyer-password-1", "next": LIST_URL}
    )

    assert response.status_code == 302
    assert response.url == LIST_URL
    assert client.get(LIST_URL).status_code == 200


def test_login_without_next_lands_on_the_dashboard(client, usmf_user):
    response = client.post(reverse("login"), {"username": "usmf-buyer", "password": "usmf-buyer-password-1"})

    assert response.url == reverse("home")


def test_wrong_password_is_refused_with_a_message(client, usmf_user):
    response = client.post(reverse("login"), {"username": "usmf-buyer", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_logout_signs_out_and_returns_to_login(usmf_client):
    response = usmf_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert usmf_client.get(LIST_URL).status_code == 302


def test_a_user_without_the_view_permission_is_forbidden(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "visitor", legal_entities=[legal_entity], permissions=()))

    assert client.get(LIST_URL).status_code == 403
    assert "cannot see contracts yet" in client.get("/").content.decode()


# --- Layout ----------------------------------------------------------------------------


def test_layout_has_skip_link_main_navigation_and_logout(usmf_client):
    html = usmf_client.get(LIST_URL).content.decode()

    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<nav class="mainnav" aria-label="Main">' in html
    assert f'<a href="{LIST_URL}" aria-current="page">All contracts</a>' in html
    assert f'action="{reverse("logout")}"' in html
    assert "/static/contracts/css/app.css" in html
    assert 'href="/admin/"' not in html  # the Admin link is for staff only


def test_staff_see_the_admin_link(client, admin_user):
    client.force_login(admin_user)

    assert 'href="/admin/"' in client.get("/").content.decode()


def test_the_contract_page_marks_all_contracts_as_its_section(usmf_client, legal_entity):
    html = usmf_client.get(detail_url(factories.ContractFactory(legal_entity=legal_entity))).content.decode()

    assert f'<a href="{LIST_URL}" class="is-active">All contracts</a>' in html
    assert '<nav class="breadcrumb" aria-label="Breadcrumb">' in html


def test_pages_have_no_inline_script_or_style(usmf_client, usmf_user, legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity)
    for url in ("/", LIST_URL, detail_url(contract), reverse("login")):
        html = usmf_client.get(url).content.decode()
        assert "style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, url


def test_dashboard_counts_only_the_visible_contracts(usmf_client, legal_entity, other_legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, status=ContractStatus.EXECUTED)
    factories.ContractFactory(legal_entity=legal_entity, status=ContractStatus.DRAFT, amendment_in_process=True)
    factories.ContractFactory(legal_entity=other_legal_entity, status=ContractStatus.EXECUTED)

    totals = usmf_client.get("/").context["totals"]

    assert totals == {"contracts": 2, "executed": 1, "expiring_soon": 0, "amendments": 1}


# --- All contracts: filters, search and sorting ------------------------------------------


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=[case_id(case) for case in FILTER_CASES])
def test_page_filters_like_the_filterset(group_client, catalogue, params, expected):
    response = group_client.get(LIST_URL, query(params))

    assert sorted(listed_ids(response)) == expected


def test_filters_stay_in_the_url_of_the_next_page(group_client, catalogue):
    response = group_client.get(LIST_URL, {"status": ["Executed", "Draft"], "per_page": "1"})

    next_url = response.context["next_url"]
    assert "status=Executed" in next_url and "status=Draft" in next_url and "page=2" in next_url
    assert listed_ids(group_client.get(LIST_URL + next_url)) != listed_ids(response)


def test_active_filters_show_as_removable_chips(group_client, catalogue):
    response = group_client.get(LIST_URL, {"status": ["Executed", "Draft"], "q": "chairs"})

    chips = {(chip.label, chip.value): chip.remove_url for chip in response.context["active_filters"]}
    assert set(chips) == {("Search", "chairs"), ("Status", "Executed"), ("Status", "Draft")}
    assert chips[("Status", "Draft")] == "?status=Executed&q=chairs"


def test_an_invalid_filter_is_shown_next_to_its_field(group_client, catalogue):
    response = group_client.get(LIST_URL, {"expiring_within": "-3"})

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert sorted(listed_ids(response)) == ALL_IDS


def nulls_last(contracts, key, *, descending: bool):
    """The order the page promises: by ``key``, blanks last both ways, then by primary key."""
    by_pk = sorted(contracts, key=lambda contract: contract.pk)
    present = [contract for contract in by_pk if key(contract) is not None]
    blank = [contract for contract in by_pk if key(contract) is None]
    return [contract.contract_id for contract in sorted(present, key=key, reverse=descending) + blank]


SORT_KEYS = {
    "contract_id": lambda contract: contract.contract_id,
    "name": lambda contract: contract.name,
    "type": lambda contract: contract.contract_type.name,
    "status": lambda contract: contract.status,
    "party": lambda contract: contract.party_name,
    "legal_entity": lambda contract: contract.legal_entity.code,
    "effective_date": lambda contract: contract.effective_date,
    "expiration_date": lambda contract: contract.expiration_date,
    "amendment_in_process": lambda contract: contract.amendment_in_process,
    "connection": lambda contract: contract.connection.name if contract.connection else None,
}


def test_every_column_but_actions_sorts():
    assert [column.sort for column in CONTRACT_COLUMNS] == list(SORT_KEYS)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_sorting_by_each_column(group_client, catalogue, sort, descending):
    response = group_client.get(LIST_URL, {"ordering": f"-{sort}" if descending else sort})

    assert listed_ids(response) == nulls_last(catalogue, SORT_KEYS[sort], descending=descending)
    direction = "descending" if descending else "ascending"
    sorted_headers = re.findall(r'<th scope="col" aria-sort="(\w+)">', response.content.decode())
    assert sorted_headers == [direction]


def test_a_sorted_header_links_to_the_opposite_direction_and_keeps_the_filters(group_client, catalogue):
    response = group_client.get(LIST_URL, {"ordering": "name", "type": "NDA", "page": "2"})

    headers = {header["column"].sort: header for header in response.context["columns"]}
    assert headers["name"]["url"] == "?ordering=-name&type=NDA"
    assert headers["status"]["url"] == "?ordering=status&type=NDA"


def test_status_badge_carries_the_status_colour(group_client, catalogue):
    html = group_client.get(LIST_URL, {"status": "Executed"}).content.decode()

    assert '<span class="badge badge--green">Executed</span>' in html


def test_each_row_shows_every_column(usmf_client, legal_entity):
    connection = factories.ConnectionFactory(name="Reference CLM")
    vendor = factories.VendorFactory(legal_entity=legal_entity, account_number="V-2001", name="Fabrikam Supplies")
    factories.ContractFactory(
        legal_entity=legal_entity,
        contract_id="CON-42",
        name="Office chairs",
        contract_type=factories.ContractTypeFactory(name="Purchase"),
        status=ContractStatus.WAITING_FOR_APPROVAL,
        vendor=vendor,
        party_name="Fabrikam Supplies",
        connection=connection,
        effective_date=datetime.date(2026, 1, 1),
        expiration_date=None,
        amendment_in_process=True,
    )

    html = usmf_client.get(LIST_URL).content.decode()

    for text in (
        "CON-42", "Office chairs", "Purchase", "badge--amber", "Waiting for approval", "V-2001", "Fabrikam Supplies",
        "USMF", "1 Jan 2026", "Open-ended", "Reference CLM", "#agreements",
    ):  # fmt: skip
        assert text in html


# --- Pagination ------------------------------------------------------------------------


@pytest.fixture
def seven_contracts(legal_entity):
    return [factories.ContractFactory(legal_entity=legal_entity, contract_id=f"CON-{n}") for n in range(1, 8)]


def test_first_page_links_to_the_next_only(usmf_client, seven_contracts):
    response = usmf_client.get(LIST_URL, {"per_page": "3", "ordering": "contract_id"})

    assert listed_ids(response) == ["CON-1", "CON-2", "CON-3"]
    assert response.context["next_url"] == "?per_page=3&ordering=contract_id&page=2"
    assert response.context["previous_url"] == ""
    assert 'rel="next"' in response.content.decode() and 'rel="prev"' not in response.content.decode()


def test_middle_page_links_both_ways(usmf_client, seven_contracts):
    response = usmf_client.get(LIST_URL, {"per_page": "3", "ordering": "contract_id", "page": "2"})

    assert listed_ids(response) == ["CON-4", "CON-5", "CON-6"]
    assert response.context["previous_url"] == "?per_page=3&ordering=contract_id&page=1"
    assert response.context["next_url"] == "?per_page=3&ordering=contract_id&page=3"
    assert "Showing 4–6" in response.content.decode()


def test_last_page_has_no_next_link(usmf_client, seven_contracts):
    response = usmf_client.get(LIST_URL, {"per_page": "3", "ordering": "contract_id", "page": "3"})

    assert listed_ids(response) == ["CON-7"]
    assert response.context["next_url"] == ""
    assert 'rel="next"' not in response.content.decode()


def test_a_full_last_page_knows_there_is_no_next_page(usmf_client, seven_contracts):
    response = usmf_client.get(LIST_URL, {"per_page": "7"})

    assert len(listed_ids(response)) == 7
    assert not response.context["page"].has_next


def test_without_a_sort_the_most_recently_updated_come_first(usmf_client, seven_contracts):
    seven_contracts[2].save()

    response = usmf_client.get(LIST_URL)

    assert listed_ids(response) == ["CON-3", "CON-7", "CON-6", "CON-5", "CON-4", "CON-2", "CON-1"]
    assert "most recently updated first" in response.content.decode()
    assert "aria-sort" not in response.content.decode()


@pytest.mark.parametrize(
    ("per_page", "size"), [("", 50), ("10", 10), ("abc", 50), ("0", 50), ("-5", 50), ("100000", MAX_PAGE_SIZE)]
)
def test_page_size_has_a_default_and_a_maximum(usmf_client, per_page, size):
    assert usmf_client.get(LIST_URL, {"per_page": per_page}).context["page"].size == size


@pytest.mark.parametrize("page", ["abc", "0", "-1"])
def test_a_nonsense_page_number_shows_the_first_page(usmf_client, seven_contracts, page):
    response = usmf_client.get(LIST_URL, {"page": page})

    assert response.context["page"].number == 1
    assert len(listed_ids(response)) == 7


def test_a_page_past_the_end_offers_the_first_page(usmf_client, seven_contracts):
    html = usmf_client.get(LIST_URL, {"page": "9", "per_page": "3", "status": "Draft"}).content.decode()

    assert "No more contracts on this page" in html
    assert 'href="?per_page=3&amp;status=Draft"' in html


def test_the_list_never_counts_the_table(usmf_client, seven_contracts):
    with CaptureQueriesContext(db_connection) as queries:
        usmf_client.get(LIST_URL, {"per_page": "3", "page": "2", "ordering": "-name", "q": "CON"})

    assert not [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]


@pytest.mark.parametrize("params", [{}, {"type": "Purchase", "legal_entity": "USMF", "status": "Draft", "q": "a"}])
def test_the_list_runs_the_same_queries_for_5_and_50_contracts(
    client, usmf_user, legal_entity, django_assert_max_num_queries, params
):
    factories.NavigationLinkFactory(
        connection=factories.ConnectionFactory(name="Reference CLM"), navigation_type=NavigationType.NEW_CONTRACT
    )
    client.force_login(usmf_user)
    params = {"per_page": "100", **params}

    def list_queries() -> int:
        with CaptureQueriesContext(db_connection) as queries:
            assert client.get(LIST_URL, params).status_code == 200
        return len(queries)

    factories.ContractFactory.create_batch(5, legal_entity=legal_entity, status=ContractStatus.DRAFT)
    # Session, user, 2 for permissions, 2 to check the type and legal entity values, the page of
    # contracts, 3 for the New buttons, 3 for the type, legal entity and connection choices.
    with django_assert_max_num_queries(13):
        client.get(LIST_URL, params)
    with_5 = list_queries()
    factories.ContractFactory.create_batch(45, legal_entity=legal_entity, status=ContractStatus.DRAFT)

    assert list_queries() == with_5


# --- Legal-entity isolation ----------------------------------------------------------


@pytest.fixture
def usmf_and_demf_contracts(legal_entity, other_legal_entity):
    return (
        factories.ContractFactory(legal_entity=legal_entity, contract_id="US-1"),
        factories.ContractFactory(legal_entity=other_legal_entity, contract_id="DE-1", name="Berlin office lease"),
    )


def test_another_entitys_contract_never_appears_in_the_list(usmf_client, usmf_and_demf_contracts):
    for params in ({}, {"legal_entity": "DEMF"}, {"q": "DE-1"}, {"ordering": "legal_entity"}):
        response = usmf_client.get(LIST_URL, params)
        assert listed_ids(response) in (["US-1"], [])
        assert "Berlin office lease" not in response.content.decode()


def test_another_entitys_contract_is_not_found(usmf_client, usmf_and_demf_contracts):
    usmf, demf = usmf_and_demf_contracts

    assert usmf_client.get(detail_url(usmf)).status_code == 200
    assert usmf_client.get(detail_url(demf)).status_code == 404


def test_only_granted_legal_entities_are_offered_as_filters(usmf_client, usmf_and_demf_contracts):
    html = usmf_client.get(LIST_URL).content.decode()

    assert 'name="legal_entity" value="USMF"' in html
    assert 'value="DEMF"' not in html


def test_cross_company_user_sees_both_entities(group_client, usmf_and_demf_contracts):
    usmf, demf = usmf_and_demf_contracts

    assert sorted(listed_ids(group_client.get(LIST_URL))) == ["DE-1", "US-1"]
    assert group_client.get(detail_url(demf)).status_code == 200


# --- Empty and no-result states --------------------------------------------------------


def test_empty_list_says_contracts_arrive_from_the_clm(usmf_client):
    html = usmf_client.get(LIST_URL).content.decode()

    assert "No contracts yet" in html
    assert "Contracts appear here when a connected CLM system sends them." in html


def test_a_user_without_legal_entities_is_told_to_ask_for_a_grant(client, django_user_model):
    client.force_login(make_user(django_user_model, "new-starter"))

    html = client.get(LIST_URL).content.decode()

    assert "No legal entities granted to you yet" in html
    assert "Ask an integration admin to grant you" in html


def test_no_results_suggests_removing_filters(usmf_client, usmf_and_demf_contracts):
    html = usmf_client.get(LIST_URL, {"q": "nothing-like-this", "ordering": "name"}).content.decode()

    assert "No contracts match these filters" in html
    assert "Clear all filters" in html
    assert 'href="?ordering=name"' in html  # clearing keeps the sort


# --- Navigation buttons ----------------------------------------------------------------


def test_new_button_for_each_enabled_connection_that_configures_it(usmf_client):
    reference = factories.ConnectionFactory(name="Reference CLM", navigation_base_url="https://ref.example.com")
    docusign = factories.ConnectionFactory(name="DocuSign", navigation_base_url="https://ds.example.com")
    disabled = factories.ConnectionFactory(name="Old CLM", enabled=False, navigation_base_url="https://old.example.com")
    factories.ConnectionFactory(name="View only")
    for connection in (reference, docusign, disabled):
        factories.NavigationLinkFactory(
            connection=connection, navigation_type=NavigationType.NEW_CONTRACT, relative_url="/contracts/new"
        )

    response = usmf_client.get(LIST_URL)

    buttons = {button.label: button.url for button in response.context["new_buttons"]}
    assert buttons == {
        "New (DocuSign)": "https://ds.example.com/contracts/new",
        "New (Reference CLM)": "https://ref.example.com/contracts/new",
    }
    assert 'href="https://ref.example.com/contracts/new"' in response.content.decode()


def test_a_single_new_button_is_just_new(usmf_client):
    factories.NavigationLinkFactory(navigation_type=NavigationType.NEW_CONTRACT)

    assert [button.label for button in usmf_client.get(LIST_URL).context["new_buttons"]] == ["New"]


# --- Contract detail -----------------------------------------------------------------


@pytest.fixture
def synced_contract(legal_entity, vendor, connection, purchase_type):
    connection.establishment_status = HandshakeStatus.SUCCESS
    connection.configuration_status = HandshakeStatus.SUCCESS
    connection.navigation_base_url = "https://clm.example.com/app"
    connection.save()
    contract = factories.ContractFactory(
        legal_entity=legal_entity,
        contract_id="CON-7",
        external_contract_id="ext-7",
        name="Office chairs 2026",
        vendor=vendor,
        party_name=vendor.name,
        connection=connection,
        contract_type=purchase_type,
        status=ContractStatus.EXECUTED,
        latest_amendment_id="CON-7-A02",
        latest_external_amendment_id="ext-amend-2",
        amendment_in_process=True,
        source_modified_at=datetime.datetime(2026, 2, 3, 4, 5, 6, tzinfo=datetime.UTC),
        source_sequence=17,
        last_synced_at=timezone.now(),
        changed_by="connector:reference-clm",
        value="1250000.00",
        currency=vendor.currency,
    )
    for from_status, to_status in ((" ", ContractStatus.DRAFT), (ContractStatus.DRAFT, ContractStatus.EXECUTED)):
        ContractStatusChange.objects.create(
            contract=contract,
            from_status=from_status.strip(),
            to_status=to_status,
            changed_by="connector:reference-clm",
        )
    factories.AgreementFactory(
        legal_entity=legal_entity,
        agreement_id="PA-000042",
        contract=contract,
        ownership=AgreementOwnership.CLM,
        status=AgreementStatus.EFFECTIVE,
        vendor=vendor,
    )
    link = factories.NavigationLinkFactory(
        connection=connection, navigation_type=NavigationType.VIEW_CONTRACT, relative_url="/contracts/view"
    )
    factories.NavigationLinkParameterFactory(link=link, key="id", value="%Contract.ExternalContractId%")
    return contract


def test_detail_shows_every_field(usmf_client, synced_contract):
    html = usmf_client.get(detail_url(synced_contract)).content.decode()

    for text in (
        "CON-7", "Office chairs 2026", "Purchase", "badge--green", "Executed", "USMF", "V-1001", "Fabrikam Supplies",
        "1 Jan 2026", "31 Dec 2027", "1,250,000.00 USD", "Amendment in process",
    ):  # fmt: skip
        assert text in html


def test_detail_shows_the_status_history(usmf_client, synced_contract):
    response = usmf_client.get(detail_url(synced_contract))

    changes = [(row["change"].from_status, row["change"].to_status) for row in response.context["history"]]
    assert changes == [(ContractStatus.DRAFT, ContractStatus.EXECUTED), ("", ContractStatus.DRAFT)]
    assert 'Status history <span class="count">(2)</span>' in response.content.decode()


def test_detail_lists_linked_agreements_with_status_and_ownership(usmf_client, synced_contract):
    html = usmf_client.get(detail_url(synced_contract)).content.decode()

    assert 'id="agreements"' in html
    assert "PA-000042" in html
    assert '<span class="badge badge--green">Effective</span>' in html
    assert "External contract management" in html


def test_detail_shows_provenance_and_amendment_ids(usmf_client, synced_contract):
    html = usmf_client.get(detail_url(synced_contract)).content.decode()

    for text in (
        "Reference CLM", "badge--green\">Ready", "ext-7", "3 Feb 2026, 04:05:06 UTC", "sequence 17",
        "connector:reference-clm", "CON-7-A02", "ext-amend-2",
    ):  # fmt: skip
        assert text in html


def test_detail_shows_the_navigation_buttons(usmf_client, synced_contract):
    response = usmf_client.get(detail_url(synced_contract))

    assert [button.label for button in response.context["buttons"]] == ["View"]
    assert 'href="https://clm.example.com/app/contracts/view?id=ext-7"' in response.content.decode()


def test_detail_without_agreements_or_history_says_so(usmf_client, legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity, connection=None)

    html = usmf_client.get(detail_url(contract)).content.decode()

    assert "No purchase agreement is linked to this contract." in html
    assert "No status change has been recorded yet." in html
