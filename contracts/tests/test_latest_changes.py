"""The dashboard's Latest contract changes: the newest status changes of the user's contracts,
on the page and as the JSON that keeps it live (SPEC §3.3 status history, §6)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from contracts.choices import ContractStatus
from contracts.models import ContractStatusChange
from contracts.services import Actor, contract_upsert
from contracts.tests.test_dashboard import dashboard_queries
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

HOME = reverse("home")
CHANGES_URL = reverse("contracts:latest_changes")
CLM = Actor.for_connector("reference-clm")


@pytest.fixture
def usmf_client(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity]))
    return client


@pytest.fixture
def sync(connection, nda_type):
    """Applies a contract as the reference CLM's sync does, through ``contract_upsert``."""

    def apply(legal_entity, contract_id, status, name="Mutual NDA"):
        data = {"contract_type": nda_type.name, "name": name, "status": status}
        return contract_upsert(
            legal_entity=legal_entity, contract_id=contract_id, data=data, actor=CLM, connection=connection
        ).contract

    return apply


def listed(client) -> list[tuple[str, str, str]]:
    """The JSON rows as (contract id, from, to)."""
    response = client.get(CHANGES_URL)
    assert response.status_code == 200
    return [(row["contract_id"], row["from_label"], row["to_label"]) for row in response.json()["changes"]]


def test_latest_changes_show_the_users_contracts_newest_first(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    sync(legal_entity, "NDA-2", ContractStatus.DRAFT)
    sync(legal_entity, "NDA-1", ContractStatus.WAITING_FOR_APPROVAL)

    assert listed(usmf_client) == [
        ("NDA-1", "Draft", "Waiting for approval"),
        ("NDA-2", "", "Draft"),
        ("NDA-1", "", "Draft"),
    ]
    rows = usmf_client.get(HOME).context["latest_changes"]
    assert [(row["contract_id"], row["to_label"]) for row in rows] == [
        ("NDA-1", "Waiting for approval"),
        ("NDA-2", "Draft"),
        ("NDA-1", "Draft"),
    ]


def test_another_legal_entitys_changes_never_appear(usmf_client, sync, legal_entity, other_legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    sync(other_legal_entity, "DE-SECRET-1", ContractStatus.EXECUTED, name="Merger talks")

    assert listed(usmf_client) == [("NDA-1", "", "Draft")]
    assert "DE-SECRET-1" not in usmf_client.get(CHANGES_URL).content.decode()
    html = usmf_client.get(HOME).content.decode()
    assert "DE-SECRET-1" not in html
    assert "Merger talks" not in html


def test_a_cross_company_user_sees_every_legal_entitys_changes(
    client, django_user_model, sync, legal_entity, other_legal_entity
):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    sync(other_legal_entity, "DE-1", ContractStatus.DRAFT)
    client.force_login(make_user(django_user_model, "group-buyer", permissions=("view_contract", "cross_company")))

    assert [row[0] for row in listed(client)] == ["DE-1", "NDA-1"]


def test_only_the_ten_latest_changes_are_listed(usmf_client, sync, legal_entity):
    for number in range(12):
        sync(legal_entity, f"NDA-{number:02d}", ContractStatus.DRAFT)

    assert [row[0] for row in listed(usmf_client)] == [f"NDA-{number:02d}" for number in range(11, 1, -1)]
    assert len(usmf_client.get(HOME).context["latest_changes"]) == 10


def test_changes_at_the_same_instant_keep_the_order_they_were_made_in(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    sync(legal_entity, "NDA-2", ContractStatus.DRAFT)
    ContractStatusChange.objects.update(changed_at=timezone.now())

    assert [row[0] for row in listed(usmf_client)] == ["NDA-2", "NDA-1"]


def test_a_transition_shows_both_statuses_as_badges_in_their_colours(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT, name="Chairs & desks")
    contract = sync(legal_entity, "NDA-1", ContractStatus.WAITING_FOR_APPROVAL, name="Chairs & desks")

    row = usmf_client.get(CHANGES_URL).json()["changes"][0]
    assert row["first"] is False
    assert (row["from_colour"], row["to_colour"]) == ("grey", "amber")
    assert row["contract_url"] == reverse("contracts:detail", args=[contract.pk])
    html = usmf_client.get(HOME).content.decode()
    assert f'<a href="{row["contract_url"]}">NDA-1</a><span class="sub">Chairs &amp; desks</span>' in html
    assert re.search(
        r'<span class="badge badge--grey">Draft</span><span aria-hidden="true">→</span>'
        r'<span class="visually-hidden">to</span>\s*<span class="badge badge--amber">Waiting for approval</span>',
        html,
    )


def test_a_contracts_first_appearance_shows_as_new(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)

    row = usmf_client.get(CHANGES_URL).json()["changes"][0]
    assert (row["first"], row["from_label"], row["to_label"]) == (True, "", "Draft")
    html = usmf_client.get(HOME).content.decode()
    assert re.search(
        r'<span class="transition-new">new</span><span aria-hidden="true">·</span>\s*'
        r'<span class="badge badge--grey">Draft</span>',
        html,
    )


def test_each_change_names_its_connection_and_source(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)

    row = usmf_client.get(CHANGES_URL).json()["changes"][0]
    assert (row["connection"], row["changed_by"]) == ("Reference CLM", "connector:reference-clm")
    html = usmf_client.get(HOME).content.decode()
    assert 'Reference CLM<span class="sub mono">connector:reference-clm</span>' in html


def test_each_change_says_how_long_ago_with_the_exact_time_beside(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    # Minutes rather than seconds, so that a slow run cannot make it "13 seconds ago".
    changed_at = timezone.now() - datetime.timedelta(minutes=12)
    ContractStatusChange.objects.update(changed_at=changed_at)

    row = usmf_client.get(CHANGES_URL).json()["changes"][0]
    assert row["changed_text"] == "12\xa0minutes ago"
    assert row["changed_at"] == changed_at.isoformat()
    assert timezone.localtime(changed_at).strftime("%-d %b %Y, %H:%M:%S") in row["changed_title"]
    html = usmf_client.get(HOME).content.decode()
    assert f'<time datetime="{changed_at.isoformat()}" title="{row["changed_title"]}">12\xa0minutes ago</time>' in html


def test_without_changes_the_panel_says_where_they_come_from(usmf_client):
    assert usmf_client.get(CHANGES_URL).json() == {"changes": []}
    html = usmf_client.get(HOME).content.decode()
    assert "No contract has changed yet" in html
    assert "data-latest-changes-table hidden" in html


def test_the_panel_has_no_inline_script_or_style(usmf_client, sync, legal_entity):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT, name='<script>alert("x")</script>')

    html = usmf_client.get(HOME).content.decode()

    assert "style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None


# --- Who may ask ------------------------------------------------------------------------


def test_a_script_without_the_contract_permission_gets_403(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "clerk", legal_entities=[legal_entity], permissions=()))

    assert client.get(CHANGES_URL).status_code == 403


def test_a_signed_out_script_gets_403_and_a_signed_out_person_the_login_page(client):
    assert client.get(CHANGES_URL).status_code == 403
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_the_contract_permission_sees_no_changes_on_the_dashboard(
    client, django_user_model, sync, legal_entity
):
    sync(legal_entity, "NDA-1", ContractStatus.DRAFT)
    client.force_login(make_user(django_user_model, "clerk", legal_entities=[legal_entity], permissions=()))

    html = client.get(HOME).content.decode()

    assert "Latest contract changes" not in html
    assert "NDA-1" not in html


# --- Cost ---------------------------------------------------------------------------------


def test_the_json_costs_the_same_queries_for_few_and_many_changes(
    usmf_client, sync, legal_entity, django_assert_num_queries
):
    def changes(count):
        for number in range(count):
            sync(legal_entity, f"NDA-{number:02d}", ContractStatus.DRAFT)

    changes(3)
    # Session, user, the user's and the groups' permissions, then the changes with their
    # contracts and connections in one query.
    with django_assert_num_queries(5):
        assert len(usmf_client.get(CHANGES_URL).json()["changes"]) == 3
    changes(30)
    with django_assert_num_queries(5):
        assert len(usmf_client.get(CHANGES_URL).json()["changes"]) == 10


def test_the_dashboard_costs_the_same_queries_for_few_and_many_changes(usmf_client, sync, legal_entity):
    for number in range(3):
        sync(legal_entity, f"NDA-{number:02d}", ContractStatus.DRAFT)
    with_3 = dashboard_queries(usmf_client)
    for number in range(3, 30):
        sync(legal_entity, f"NDA-{number:02d}", ContractStatus.DRAFT)

    assert dashboard_queries(usmf_client) == with_3
