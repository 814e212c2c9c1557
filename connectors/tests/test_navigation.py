"""Navigation links rendered as buttons that open the CLM (SPEC §3.6, §6.1–§6.3)."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.template import Context, Template

from connectors.navigation import (
    PLACEHOLDERS,
    NavigationButton,
    agreement_buttons,
    contract_buttons,
    navigation_url,
    navigation_value_problems,
    new_contract_button,
)
from contracts.choices import AgreementOwnership, NavigationAction, NavigationType
from contracts.models import Contract
from contracts.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(db):
    return factories.ConnectionFactory(name="Contoso CLM", base_url="https://clm.example.com")


@pytest.fixture
def contract(connection):
    return factories.ContractFactory(
        connection=connection, contract_id="CON-00042", external_contract_id="ext 42&x", legal_entity__code="USMF"
    )


def link_with(connection, navigation_type=NavigationType.VIEW_CONTRACT, relative_url="/contracts/view", **params):
    link = factories.NavigationLinkFactory(
        connection=connection, navigation_type=navigation_type, relative_url=relative_url
    )
    for position, (key, value) in enumerate(params.items()):
        factories.NavigationLinkParameterFactory(link=link, key=key, value=value, position=position)
    return link


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --- The URL ------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["https://clm.example.com", "https://clm.example.com/"])
@pytest.mark.parametrize("relative_url", ["contracts/view", "/contracts/view"])
def test_base_and_relative_url_are_joined_by_exactly_one_slash(connection, base_url, relative_url):
    connection.base_url = base_url
    link = link_with(connection, relative_url=relative_url)

    assert navigation_url(link) == "https://clm.example.com/contracts/view"


def test_keys_and_values_are_url_encoded(connection):
    link = link_with(connection, **{"ref no": "a b&c=d/e#f ü"})

    url = navigation_url(link)

    assert url == "https://clm.example.com/contracts/view?ref%20no=a%20b%26c%3Dd%2Fe%23f%20%C3%BC"
    assert query_of(url) == [("ref no", "a b&c=d/e#f ü")]


def test_contract_placeholders_are_replaced_from_the_contract(connection, contract):
    link = link_with(
        connection,
        id="%Contract.ExternalContractId%",
        number="%Contract.ContractId%",
        company="%Contract.LegalEntityId%",
    )

    url = navigation_url(link, contract=contract)

    assert query_of(url) == [("id", "ext 42&x"), ("number", "CON-00042"), ("company", "USMF")]
    assert "id=ext%2042%26x&" in url


def test_agreement_placeholders_are_replaced_from_the_agreement(connection):
    agreement = factories.AgreementFactory(
        agreement_id="PA-000007", legal_entity__code="DEMF", vendor__account_number="V-ü 1"
    )
    link = link_with(
        connection,
        NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT,
        agreement="%PurchaseAgreement.PurchaseAgreementId%",
        company="%PurchaseAgreement.BuyingLegalEntityId%",
        vendor="%PurchaseAgreement.VendorAccountNumber%",
    )

    url = navigation_url(link, agreement=agreement)

    assert query_of(url) == [("agreement", "PA-000007"), ("company", "DEMF"), ("vendor", "V-ü 1")]


def test_literal_text_and_placeholders_mix_in_one_value(connection, contract):
    link = link_with(connection, ref="C-%Contract.ContractId%-x", pair="%Contract.LegalEntityId%/%Contract.ContractId%")

    assert query_of(navigation_url(link, contract=contract)) == [("ref", "C-CON-00042-x"), ("pair", "USMF/CON-00042")]


def test_a_percent_sign_that_is_no_placeholder_stays_literal(connection, contract):
    link = link_with(connection, discount="50% off", id="%Contract.ContractId%")

    assert query_of(navigation_url(link, contract=contract)) == [("discount", "50% off"), ("id", "CON-00042")]


def test_replaced_values_are_not_expanded_again(connection):
    contract = factories.ContractFactory(connection=connection, contract_id="%Contract.ExternalContractId%")
    link = link_with(connection, id="%Contract.ContractId%")

    assert query_of(navigation_url(link, contract=contract)) == [("id", "%Contract.ExternalContractId%")]


def test_parameters_follow_their_position(connection):
    link = factories.NavigationLinkFactory(connection=connection)
    factories.NavigationLinkParameterFactory(link=link, key="second", value="2", position=2)
    factories.NavigationLinkParameterFactory(link=link, key="first", value="1", position=1)

    assert query_of(navigation_url(link)) == [("first", "1"), ("second", "2")]


def test_blank_navigation_base_url_falls_back_to_the_base_url(connection):
    link = link_with(connection)

    assert navigation_url(link).startswith("https://clm.example.com/contracts/view")


def test_navigation_base_url_is_used_when_set(connection):
    connection.navigation_base_url = "https://app.clm.example.com/ui/"
    link = link_with(connection)

    assert navigation_url(link) == "https://app.clm.example.com/ui/contracts/view"


def test_a_relative_url_with_its_own_query_gets_the_parameters_appended(connection, contract):
    link = link_with(connection, relative_url="/#/contracts?tab=overview", id="%Contract.ContractId%")

    assert navigation_url(link, contract=contract) == "https://clm.example.com/#/contracts?tab=overview&id=CON-00042"


def test_view_on_an_agreement_reads_contract_placeholders_from_its_contract(connection, contract):
    agreement = factories.AgreementFactory(agreement_id="PA-1", contract=contract, ownership=AgreementOwnership.CLM)
    link = link_with(connection, contract="%Contract.ContractId%", agreement="%PurchaseAgreement.PurchaseAgreementId%")

    assert query_of(navigation_url(link, agreement=agreement)) == [("contract", "CON-00042"), ("agreement", "PA-1")]


def test_agreement_placeholders_render_empty_on_a_contract(connection, contract):
    link = link_with(connection, agreement="%PurchaseAgreement.PurchaseAgreementId%")

    assert query_of(navigation_url(link, contract=contract)) == [("agreement", "")]


# --- Which placeholders a type offers ----------------------------------------------


def test_every_navigation_type_declares_its_placeholders():
    assert set(PLACEHOLDERS) == set(NavigationType.values)
    assert PLACEHOLDERS[NavigationType.NEW_CONTRACT] == ()
    assert all(
        p.startswith("%PurchaseAgreement.") for p in PLACEHOLDERS[NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT]
    )
    assert "%Contract.ExternalContractId%" in PLACEHOLDERS[NavigationType.EDIT_CONTRACT]
    assert "%PurchaseAgreement.PurchaseAgreementId%" in PLACEHOLDERS[NavigationType.VIEW_CONTRACT]


def test_offered_placeholders_and_plain_text_are_accepted():
    assert navigation_value_problems(NavigationType.VIEW_CONTRACT, "C-%Contract.ContractId%-x") == []
    assert navigation_value_problems(NavigationType.NEW_CONTRACT, "50% off") == []


def test_an_unknown_placeholder_is_refused_with_the_offered_ones():
    (problem,) = navigation_value_problems(NavigationType.VIEW_CONTRACT, "%Contract.Nonsense%/%Contract.Nonsense%")

    assert problem.startswith("The placeholder %Contract.Nonsense% is unknown.")
    assert "%Contract.ExternalContractId%" in problem


def test_a_placeholder_not_offered_for_the_type_is_refused():
    (problem,) = navigation_value_problems(NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT, "%Contract.ContractId%")

    assert "%Contract.ContractId% is not offered for this navigation type" in problem
    assert "%PurchaseAgreement.PurchaseAgreementId%" in problem
    assert (
        "New contract links offer no placeholders."
        in navigation_value_problems(NavigationType.NEW_CONTRACT, "%Contract.ContractId%")[0]
    )


# --- Buttons ------------------------------------------------------------------------


def test_contract_buttons_are_view_edit_amend_of_its_connection(connection, contract):
    for kind in (NavigationType.AMEND_CONTRACT, NavigationType.VIEW_CONTRACT, NavigationType.EDIT_CONTRACT):
        link_with(connection, kind, relative_url=f"/{kind}", id="%Contract.ContractId%")

    buttons = contract_buttons(contract)

    assert [button.label for button in buttons] == ["View", "Edit", "Amend"]
    assert buttons[1] == NavigationButton(
        navigation_type=NavigationType.EDIT_CONTRACT,
        label="Edit",
        url="https://clm.example.com/EditContract?id=CON-00042",
        opens_in_new_tab=True,
    )


def test_a_button_appears_only_when_its_link_is_configured(connection, contract):
    link_with(connection, NavigationType.VIEW_CONTRACT)

    assert [button.label for button in contract_buttons(contract)] == ["View"]
    assert new_contract_button(connection) is None


def test_links_of_another_connection_give_no_buttons(connection, contract):
    link_with(factories.ConnectionFactory(name="Other CLM"), NavigationType.VIEW_CONTRACT)

    assert contract_buttons(contract) == []


def test_a_contract_without_connection_has_no_buttons(connection):
    link_with(connection, NavigationType.VIEW_CONTRACT)

    assert contract_buttons(factories.ContractFactory(connection=None)) == []


def test_a_disabled_connection_shows_no_buttons(connection, contract):
    for kind in NavigationType.values:
        link_with(connection, kind)
    agreement = factories.AgreementFactory(contract=contract, ownership=AgreementOwnership.CLM)
    scm_agreement = factories.AgreementFactory()
    connection.enabled = False
    connection.save()

    assert contract_buttons(contract) == []
    assert new_contract_button(connection) is None
    assert agreement_buttons(agreement) == []
    assert agreement_buttons(scm_agreement) == []


def test_new_contract_button_opens_the_new_link(connection):
    link_with(connection, NavigationType.NEW_CONTRACT, relative_url="/contracts/new", source="ERP")

    assert new_contract_button(connection) == NavigationButton(
        navigation_type=NavigationType.NEW_CONTRACT,
        label="New",
        url="https://clm.example.com/contracts/new?source=ERP",
        opens_in_new_tab=True,
    )
    assert new_contract_button(None) is None


def test_the_action_decides_between_new_tab_and_same_tab(connection, contract):
    link_with(connection, NavigationType.VIEW_CONTRACT)
    edit = link_with(connection, NavigationType.EDIT_CONTRACT)
    edit.action = NavigationAction.OPEN_IN_EXISTING_TAB
    edit.save()

    assert [(b.label, b.opens_in_new_tab) for b in contract_buttons(contract)] == [("View", True), ("Edit", False)]


def test_agreement_with_a_contract_shows_its_contracts_buttons(connection, contract):
    link_with(connection, NavigationType.VIEW_CONTRACT, id="%Contract.ExternalContractId%")
    link_with(connection, NavigationType.AMEND_CONTRACT, pa="%PurchaseAgreement.PurchaseAgreementId%")
    link_with(connection, NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT)
    agreement = factories.AgreementFactory(agreement_id="PA-9", contract=contract, ownership=AgreementOwnership.CLM)

    buttons = agreement_buttons(agreement)

    assert [(b.label, query_of(b.url)) for b in buttons] == [
        ("View", [("id", "ext 42&x")]),
        ("Amend", [("pa", "PA-9")]),
    ]


def test_scm_agreement_without_contract_gets_new_from_every_enabled_connection(connection):
    second = factories.ConnectionFactory(name="Another CLM", base_url="https://other.example.com")
    disabled = factories.ConnectionFactory(name="Old CLM", enabled=False)
    for each in (connection, second, disabled):
        link_with(
            each,
            NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT,
            relative_url="/new",
            pa="%PurchaseAgreement.PurchaseAgreementId%",
        )
    link_with(connection, NavigationType.VIEW_CONTRACT)
    agreement = factories.AgreementFactory(agreement_id="PA-3")

    buttons = agreement_buttons(agreement)

    assert [(b.label, b.url) for b in buttons] == [
        ("New (Another CLM)", "https://other.example.com/new?pa=PA-3"),
        ("New (Contoso CLM)", "https://clm.example.com/new?pa=PA-3"),
    ]
    assert {b.navigation_type for b in buttons} == {NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT}


def test_with_a_single_connection_the_new_button_is_just_new(connection):
    link_with(connection, NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT)

    assert [b.label for b in agreement_buttons(factories.AgreementFactory())] == ["New"]


def test_an_agreement_that_has_a_contract_gets_no_new_button(connection, contract):
    link_with(connection, NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT)
    clm_owned = factories.AgreementFactory(contract=contract, ownership=AgreementOwnership.CLM)
    scm_linked = factories.AgreementFactory(contract=contract, ownership=AgreementOwnership.SCM)

    assert agreement_buttons(clm_owned) == []
    assert agreement_buttons(scm_linked) == []


def test_buttons_of_prefetched_contracts_need_no_further_queries(connection, django_assert_num_queries):
    link_with(connection, NavigationType.VIEW_CONTRACT, id="%Contract.ContractId%", le="%Contract.LegalEntityId%")
    factories.ContractFactory.create_batch(3, connection=connection)

    contracts = list(
        Contract.objects.select_related("legal_entity", "connection").prefetch_related(
            "connection__navigation_links__parameters"
        )
    )

    with django_assert_num_queries(0):
        assert all(len(contract_buttons(contract)) == 1 for contract in contracts)


# --- The template tag ---------------------------------------------------------------


def render_buttons(buttons) -> str:
    return Template("{% load navigation %}{% navigation_buttons buttons %}").render(Context({"buttons": buttons}))


def test_the_tag_opens_only_new_tab_links_in_a_new_tab():
    html = render_buttons(
        [
            NavigationButton(NavigationType.VIEW_CONTRACT, "View", "https://clm.example.com/v?a=1&b=2", True),
            NavigationButton(NavigationType.EDIT_CONTRACT, "Edit", "https://clm.example.com/e", False),
        ]
    )

    assert (
        '<a class="button" href="https://clm.example.com/v?a=1&amp;b=2" data-navigation-type="ViewContract"'
        ' target="_blank" rel="noopener noreferrer">View</a>'
    ) in html
    assert '<a class="button" href="https://clm.example.com/e" data-navigation-type="EditContract">Edit</a>' in html
    assert html.count("target=") == 1


def test_the_tag_renders_nothing_without_buttons():
    assert render_buttons([]).strip() == ""
    assert render_buttons(None).strip() == ""


def test_the_tag_takes_a_single_button_too():
    html = render_buttons(NavigationButton(NavigationType.NEW_CONTRACT, "New", "https://clm.example.com/n", False))

    assert ">New</a>" in html


def test_the_tag_uses_no_inline_script_or_style():
    html = render_buttons([NavigationButton(NavigationType.VIEW_CONTRACT, "View", "https://clm.example.com/v", True)])

    assert "<script" not in html
    assert "style=" not in html
    assert "onclick" not in html
