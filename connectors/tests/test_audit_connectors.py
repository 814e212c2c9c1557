"""The audit log of the integration: what connectors apply, what the CLM changes through the
API, and what admins do to connections, links and dead letters, each with its actor and
never with a secret value."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from connectors import pull
from connectors.base import ContractRecord
from connectors.deadletters import dead_letter_add
from connectors.models import Connection, InboundEvent, NavigationLink
from connectors.pull import pull_run_advance, pull_start
from connectors.tests.test_admin import link_data, unchanged_connection_data
from contracts.choices import (
    AccountType,
    ActorKind,
    AgreementOwnership,
    AgreementStatus,
    ApiClientRole,
    AuditAction,
    ContractFlowName,
    ContractStatus,
    DeadLetterKind,
    HandshakeStatus,
    WorkStatus,
)
from contracts.models import ApiClient, AuditEntry, PurchaseAgreement
from contracts.services import Actor
from contracts.services.audit import MASK
from contracts.tests import factories
from contracts.tests.api.conftest import api_with_key
from contracts.tests.api.factories import ApiClientFactory

pytestmark = pytest.mark.django_db

STORED_CREDENTIALS = "client-id:s3cr3t-credential"
STORED_WEBHOOK_SECRETS = "whsec-old-one\nwhsec-new-two"


def entry_of(instance, **filters) -> AuditEntry:
    """The one entry of ``instance`` (with ``filters``); fails when there are none or several."""
    opts = instance._meta
    [entry] = AuditEntry.objects.filter(
        object_type=f"{opts.app_label}.{opts.model_name}", object_id=str(instance.pk), **filters
    )
    return entry


def who(entry: AuditEntry) -> tuple[str, str, str]:
    return entry.actor_kind, entry.actor_name, entry.action


def all_entries_json() -> str:
    return json.dumps(list(AuditEntry.objects.values("object_repr", "changes")), default=str)


@pytest.fixture
def connection(db):
    return factories.ConnectionFactory(
        name="Reference CLM",
        credentials=STORED_CREDENTIALS,
        webhook_secrets=STORED_WEBHOOK_SECRETS,
    )


# --- Connectors ----------------------------------------------------------------------------


def test_an_agreement_a_pulled_contract_creates_is_the_connectors_entry(legal_entity, fake_clm, monkeypatch):
    monkeypatch.setattr(pull.pull_connection_task, "apply_async", lambda *args, **kwargs: None)
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", currency=factories.CurrencyFactory())
    factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)
    clm = factories.ConnectionFactory(name="Fake CLM", connector="fake")
    fake_clm.put(
        ContractRecord(
            "USMF",
            "PC-1",
            {
                "name": "Office chairs",
                "contract_type": "Purchase",
                "status": ContractStatus.EXECUTED,
                "external_contract_id": "clm-1",
                "account_type": AccountType.VENDOR,
                "account_relation_id": "V-1001",
            },
        )
    )

    run = pull_start(connection_id=clm.pk, actor=Actor.system("test"))
    pull_run_advance(run_id=run.pk, slice_seconds=None)

    agreement = PurchaseAgreement.objects.get()
    created = entry_of(agreement, action=AuditAction.CREATED)
    made_effective = entry_of(agreement, action=AuditAction.STATUS_CHANGED)
    assert who(created) == (ActorKind.CONNECTOR, "Fake CLM", AuditAction.CREATED)
    assert created.changes["ownership"] == [None, AgreementOwnership.CLM]
    assert created.changes["document_title"] == [None, "Office chairs"]
    assert created.legal_entity == legal_entity
    assert who(made_effective) == (ActorKind.CONNECTOR, "Fake CLM", AuditAction.STATUS_CHANGED)
    assert made_effective.changes == {"status": [AgreementStatus.ON_HOLD, AgreementStatus.EFFECTIVE]}


# --- The CLM through the API -------------------------------------------------------------------


@pytest.fixture
def clm_key(legal_entity, connection):
    client = ApiClientFactory(name="Reference CLM integration", legal_entities=[legal_entity], connection=connection)
    return api_with_key(client)


def test_a_status_the_clm_reports_is_its_clients_status_change(clm_key, connection):
    body = {"establishment_status": HandshakeStatus.SUCCESS, "message": "ok"}

    assert clm_key.patch("/api/v1/connections/Reference%20CLM/status/", body, format="json").status_code == 200

    entry = entry_of(connection)
    assert who(entry) == (ActorKind.API_CLIENT, "Reference CLM integration", AuditAction.STATUS_CHANGED)
    assert entry.changes["establishment_status"] == [HandshakeStatus.NOT_STARTED, HandshakeStatus.SUCCESS]
    assert entry.changes["status_message"] == ["", "ok"]


def test_navigation_links_the_clm_puts_and_replaces_are_its_entries(clm_key, connection):
    url = "/api/v1/connections/Reference%20CLM/navigation-links/"
    link = {
        "name": "View",
        "relative_url": "/contracts/view",
        "parameters": [{"key": "id", "value": "%Contract.ExternalContractId%"}],
    }

    assert clm_key.put(f"{url}ViewContract/", link, format="json").status_code in (200, 201)
    stored = NavigationLink.objects.get()
    assert clm_key.put(url, {"links": []}, format="json").status_code == 200

    created, deleted = AuditEntry.objects.filter(object_type="connectors.navigationlink").order_by("id")
    assert who(created) == (ActorKind.API_CLIENT, "Reference CLM integration", AuditAction.CREATED)
    assert created.object_id == deleted.object_id == str(stored.pk)
    assert created.object_repr == "Reference CLM: View contract"
    assert created.changes["relative_url"] == [None, "/contracts/view"]
    assert created.changes["parameters"] == [[], ["id=%Contract.ExternalContractId%"]]
    assert who(deleted) == (ActorKind.API_CLIENT, "Reference CLM integration", AuditAction.DELETED)
    assert deleted.changes["parameters"] == [["id=%Contract.ExternalContractId%"], []]


# --- Admins ------------------------------------------------------------------------------------


def test_typed_secrets_are_recorded_as_changed_never_as_values(admin_client, connection):
    url = reverse("admin:connectors_connection_change", args=[connection.pk])
    data = unchanged_connection_data(
        connection, new_credentials="client-id:rotated-credential", clear_webhook_secrets="on"
    )

    assert admin_client.post(url, data).status_code == 302

    entry = entry_of(connection)
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.UPDATED)
    assert entry.changes == {"credentials": [MASK, MASK], "webhook_secrets": [MASK, ""]}
    logged = all_entries_json()
    for secret in ("s3cr3t-credential", "rotated-credential", "whsec-old-one", "whsec-new-two"):
        assert secret not in logged


def test_a_connection_added_in_the_admin_is_the_admins_entry_with_masked_secrets(admin_client):
    data = {
        "name": "New CLM",
        "connector": "reference",
        "base_url": "https://clm.example.com",
        "navigation_base_url": "",
        "enabled": "on",
        "settings": "{}",
        "new_credentials": "bearer-abc123",
        "new_webhook_secrets": "",
    }

    assert admin_client.post(reverse("admin:connectors_connection_add"), data).status_code == 302

    entry = entry_of(Connection.objects.get(name="New CLM"))
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.CREATED)
    assert entry.changes["credentials"] == [None, MASK]
    assert entry.changes["base_url"] == [None, "https://clm.example.com"]
    assert "bearer-abc123" not in all_entries_json()


def test_a_navigation_link_added_in_the_admin_records_its_query_string(admin_client, connection):
    data = link_data(connection, id="%Contract.ExternalContractId%")

    assert admin_client.post(reverse("admin:connectors_navigationlink_add"), data).status_code == 302

    entry = entry_of(NavigationLink.objects.get())
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.CREATED)
    assert entry.changes["parameters"] == [None, ["id=%Contract.ExternalContractId%"]]


@pytest.mark.parametrize(
    ("action", "audited", "status"),
    [("retry", AuditAction.RETRIED, WorkStatus.PENDING), ("discard", AuditAction.DISCARDED, WorkStatus.DISCARDED)],
)
def test_a_dead_letter_settled_by_an_admin_is_their_entry(admin_client, connection, action, audited, status):
    event = InboundEvent.objects.create(connection=connection, event_id="evt-1", payload={}, status=WorkStatus.DEAD)
    letter = dead_letter_add(
        kind=DeadLetterKind.INBOUND_EVENT, item=event, connection=connection, summary="evt-1", error="x", attempts=8
    )

    admin_client.post(
        reverse("admin:connectors_deadletter_changelist"), {"action": action, "_selected_action": [letter.pk]}
    )

    entry = entry_of(event)
    assert who(entry) == (ActorKind.USER, "admin", audited)
    assert entry.changes == {"status": [WorkStatus.DEAD, status]}


# --- Pairing -------------------------------------------------------------------------------------


def test_pairing_records_the_new_secrets_as_changed_and_never_their_values(tmp_path, connection):
    target = tmp_path / "pairing.json"

    call_command("pair_clm", "Reference CLM", "--clm-url", "http://127.0.0.1:8001", "--write", str(target))

    pairing = json.loads(target.read_text())
    paired = entry_of(connection)
    client = ApiClient.objects.get(connection=connection, role=ApiClientRole.CLM_INTEGRATION)
    assert who(paired) == (ActorKind.SYSTEM, "pair_clm", AuditAction.PAIRED)
    assert paired.changes["credentials"] == [MASK, MASK]
    assert paired.changes["webhook_secrets"] == [MASK, MASK]
    assert paired.changes["base_url"][1] == "http://127.0.0.1:8001"
    assert who(entry_of(client)) == (ActorKind.SYSTEM, "pair_clm", AuditAction.CREATED)
    logged = all_entries_json()
    for secret in (pairing["api_key"], pairing["webhook_secret"], pairing["pull_token"], client.key_hash):
        assert secret not in logged
