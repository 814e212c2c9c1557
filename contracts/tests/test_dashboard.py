"""The dashboard: counts by status and type, expiring windows, connections and the status chart."""

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contracts.choices import ContractFlowName, ContractStatus, HandshakeStatus
from contracts.tests import factories
from contracts.tests.test_filtersets import days_from_today, fix_today
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

HOME = reverse("home")
LIST_URL = reverse("contracts:list")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    fix_today(monkeypatch)


@pytest.fixture
def usmf_client(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity]))
    return client


@pytest.fixture
def book(legal_entity, other_legal_entity, nda_type, purchase_type):
    """USMF: 3 executed (expiring in 10, 45 and 80 days), 1 executed expiring in 120 days, 1 executed
    that expired yesterday, 1 draft expiring in 10 days, 1 terminated. DEMF: 2 executed expiring in 10 days."""

    def contract(legal_entity, status, days, contract_type=purchase_type):
        expires = days_from_today(days) if days is not None else None
        return factories.ContractFactory(
            legal_entity=legal_entity, status=status, expiration_date=expires, contract_type=contract_type
        )

    for days in (10, 45, 80, 120, -1):
        contract(legal_entity, ContractStatus.EXECUTED, days, nda_type if days == 10 else purchase_type)
    contract(legal_entity, ContractStatus.DRAFT, 10)
    contract(legal_entity, ContractStatus.TERMINATED, None)
    contract(other_legal_entity, ContractStatus.EXECUTED, 10)
    contract(other_legal_entity, ContractStatus.EXECUTED, 10)


def counts(rows) -> dict:
    return {row["label"]: row["count"] for row in rows}


def test_dashboard_counts_contracts_by_status_in_the_users_legal_entities(usmf_client, book):
    context = usmf_client.get(HOME).context

    assert counts(context["by_status"]) == {"Executed": 5, "Draft": 1, "Terminated": 1}
    assert context["totals"] == {"contracts": 7, "executed": 5, "expiring_soon": 1, "amendments": 0}


def test_dashboard_counts_contracts_by_type(usmf_client, book):
    assert counts(usmf_client.get(HOME).context["by_type"]) == {"Purchase": 6, "NDA": 1}


def test_dashboard_counts_executed_contracts_expiring_in_30_60_and_90_days(usmf_client, book):
    windows = usmf_client.get(HOME).context["expiring_windows"]

    assert [(window["days"], window["count"]) for window in windows] == [(30, 1), (60, 2), (90, 3)]


def test_each_expiring_window_links_to_all_contracts_showing_the_same_contracts(usmf_client, book):
    for window in usmf_client.get(HOME).context["expiring_windows"]:
        assert window["url"] == f"{LIST_URL}?status=Executed&expiring_within={window['days']}&ordering=expiration_date"
        listed = usmf_client.get(window["url"]).context["page"].rows
        assert len(listed) == window["count"]


def test_each_status_and_type_links_to_all_contracts_filtered_by_it(usmf_client, book):
    context = usmf_client.get(HOME).context

    for row in context["by_status"] + context["by_type"]:
        assert len(usmf_client.get(row["url"]).context["page"].rows) == row["count"], row["url"]


def test_another_legal_entitys_contracts_are_never_counted(client, django_user_model, other_legal_entity, book):
    client.force_login(make_user(django_user_model, "demf-buyer", legal_entities=[other_legal_entity]))

    context = client.get(HOME).context

    assert counts(context["by_status"]) == {"Executed": 2}
    assert [window["count"] for window in context["expiring_windows"]] == [2, 2, 2]


def test_status_chart_draws_bars_in_the_status_colours_relative_to_the_largest(usmf_client, book):
    response = usmf_client.get(HOME)

    widths = {row["label"]: row["width"] for row in response.context["by_status"]}
    assert widths == {"Executed": "100.0", "Draft": "20.0", "Terminated": "20.0"}
    html = response.content.decode()
    assert '<rect class="bar-fill bar-fill--green" width="100.0" height="10"/>' in html
    assert '<rect class="bar-fill bar-fill--red" width="20.0" height="10"/>' in html


def test_connections_show_their_status_and_last_sync(usmf_client):
    ready = factories.ConnectionFactory(
        name="Reference CLM",
        establishment_status=HandshakeStatus.SUCCESS,
        configuration_status=HandshakeStatus.SUCCESS,
        last_sync_at=timezone.now(),
    )
    factories.ConnectionFactory(name="DocuSign", establishment_status=HandshakeStatus.ERROR)

    response = usmf_client.get(HOME)

    rows = {row["connection"].name: row["colour"] for row in response.context["connections"]}
    assert rows == {"DocuSign": "red", "Reference CLM": "green"}
    html = response.content.decode()
    assert "Connection establishment failed" in html
    assert "Never synced" in html
    assert f'Last sync <time datetime="{ready.last_sync_at.isoformat()}"' in html


def test_dashboard_without_contracts_says_where_they_come_from(usmf_client):
    html = usmf_client.get(HOME).content.decode()

    assert "No contracts yet" in html


def test_dashboard_runs_the_same_queries_for_few_and_many_contracts(
    usmf_client, legal_entity, nda_type, purchase_type, django_assert_max_num_queries
):
    factories.ConnectionFactory(name="Reference CLM")
    service = factories.ContractTypeFactory(name="Service", flow=ContractFlowName.LIGHTWEIGHT)

    def add(count):
        statuses = list(ContractStatus)
        for index in range(count):
            factories.ContractFactory(
                legal_entity=legal_entity,
                status=statuses[index % len(statuses)],
                contract_type=(nda_type, purchase_type, service)[index % 3],
                expiration_date=days_from_today(index * 7),
            )

    add(3)
    # Session, user, 2 for permissions; the totals, statuses, types, expiring list, connections,
    # legal entities, latest sync runs and latest contract changes: one query each.
    with django_assert_max_num_queries(12):
        usmf_client.get(HOME)
    with_3 = dashboard_queries(usmf_client)
    add(60)

    assert dashboard_queries(usmf_client) == with_3


def dashboard_queries(client) -> int:
    """How many queries the dashboard takes to answer ``client``."""
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(HOME).status_code == 200
    return len(queries)


def test_dashboard_has_no_inline_script_or_style(usmf_client, book):
    html = usmf_client.get(HOME).content.decode()

    assert "style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
