"""The audit log: every change by a person, an API client or the system names who made it,
what it did and what it changed, never a secret; the admin shows it read-only and fast."""

from __future__ import annotations

import datetime
import json

import pytest
from django import forms
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contracts.choices import ActorKind, AgreementStatus, ApiClientRole, AuditAction, ContractStatus
from contracts.models import ApiClient, AuditEntry, Contract, ContractType, Vendor
from contracts.services import Actor, agreement_close, audit
from contracts.services.audit import MASK
from contracts.tests import factories
from contracts.tests.api.conftest import api_with_key
from contracts.tests.api.factories import ApiClientFactory
from contracts.tests.test_selectors import make_user
from contracts.tests.test_views_agreements import BUYER_PERMISSIONS, edit_url, post_form

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:contracts_auditentry_changelist")


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def entry_of(instance, **filters) -> AuditEntry:
    """The one entry of ``instance`` (with ``filters``); fails when there are none or several."""
    opts = instance._meta
    [entry] = entries(object_type=f"{opts.app_label}.{opts.model_name}", object_id=str(instance.pk), **filters)
    return entry


def who(entry: AuditEntry) -> tuple[str, str, str]:
    return entry.actor_kind, entry.actor_name, entry.action


def admin_post(client, url: str, changes: dict):
    """Submits an admin add or change page as a browser would: every field as rendered, with ``changes``."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(form.fields[name].widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(value, (list, tuple)):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else value
    data.update(changes)
    return client.post(url, {name: value for name, value in data.items() if value is not None})


def all_entries_json() -> str:
    return json.dumps(list(AuditEntry.objects.values("object_repr", "changes")), default=str)


# --- People ---------------------------------------------------------------------------------


def test_a_buyers_edit_in_the_browser_is_their_entry_with_old_and_new_values(
    client, django_user_model, legal_entity, scm_agreement
):
    buyer = make_user(django_user_model, "buyer", legal_entities=[legal_entity], permissions=BUYER_PERMISSIONS)
    client.force_login(buyer)
    AuditEntry.objects.all().delete()

    response = post_form(client, edit_url(scm_agreement), {"document_title": "Paper and toner"})

    assert response.status_code == 302
    entry = entry_of(scm_agreement)
    assert who(entry) == (ActorKind.USER, "buyer", AuditAction.UPDATED)
    assert entry.changes == {"document_title": ["Printer paper", "Paper and toner"]}
    assert (entry.legal_entity, entry.object_repr) == (legal_entity, "PA-SCM-1 Paper and toner")


def test_closing_an_agreement_is_a_status_change(person, scm_agreement):
    AuditEntry.objects.all().delete()

    agreement_close(agreement=scm_agreement, actor=person)

    entry = entry_of(scm_agreement)
    assert who(entry) == (ActorKind.USER, "buyer", AuditAction.STATUS_CHANGED)
    assert entry.changes == {"status": [AgreementStatus.EFFECTIVE, AgreementStatus.CLOSED]}


def test_master_data_edited_in_the_admin_is_the_admins_entry(admin_client, vendor):
    AuditEntry.objects.all().delete()
    url = reverse("admin:contracts_vendor_change", args=[vendor.pk])

    response = admin_post(admin_client, url, {"name": "Fabrikam Supplies Ltd"})

    assert response.status_code == 302
    entry = entry_of(vendor)
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.UPDATED)
    assert entry.changes == {"name": ["Fabrikam Supplies", "Fabrikam Supplies Ltd"]}
    assert entry.legal_entity_id == vendor.legal_entity_id


def test_master_data_saved_unchanged_in_the_admin_adds_no_entry(admin_client, vendor):
    AuditEntry.objects.all().delete()

    admin_post(admin_client, reverse("admin:contracts_vendor_change", args=[vendor.pk]), {})

    assert entries() == []


def test_master_data_deleted_in_the_admin_keeps_its_last_values(admin_client, legal_entity, usd):
    vendor = factories.VendorFactory(legal_entity=legal_entity, account_number="V-2002", name="Gone Ltd", currency=usd)
    pk = vendor.pk

    admin_client.post(reverse("admin:contracts_vendor_delete", args=[pk]), {"post": "yes"})

    [entry] = entries(object_type="contracts.vendor", object_id=str(pk), action=AuditAction.DELETED)
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.DELETED)
    assert entry.changes["account_number"] == ["V-2002", None]
    assert not Vendor.objects.filter(pk=pk).exists()


def test_a_contract_type_changed_in_the_admin_is_the_admins_entry(admin_client, nda_type):
    url = reverse("admin:contracts_contracttype_change", args=[nda_type.pk])

    admin_post(admin_client, url, {"description": "Mutual NDAs", "needs_review": "on"})

    entry = entry_of(nda_type)
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.UPDATED)
    assert entry.changes == {"description": ["", "Mutual NDAs"], "needs_review": [False, True]}


def test_changes_outside_a_request_are_the_systems_or_the_acting_actors(legal_entity, usd):
    plain = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1", currency=usd)
    with audit.acting_as(Actor.for_connector("erp-import")):
        imported = factories.VendorFactory(legal_entity=legal_entity, account_number="V-2", currency=usd)

    assert who(entry_of(plain)) == (ActorKind.SYSTEM, "clmsite", AuditAction.CREATED)
    assert who(entry_of(imported)) == (ActorKind.CONNECTOR, "erp-import", AuditAction.CREATED)
    assert entry_of(imported).changes["account_number"] == [None, "V-2"]


# --- API clients --------------------------------------------------------------------------


@pytest.fixture
def clm_key(legal_entity):
    return api_with_key(ApiClientFactory(name="Contoso CLM", legal_entities=[legal_entity]))


def test_a_contract_type_created_through_the_api_is_the_clients_entry(clm_key):
    response = clm_key.post("/api/v1/contract-types/", {"name": "Service", "description": "Services"}, format="json")

    assert response.status_code == 201
    entry = entry_of(ContractType.objects.get(name="Service"))
    assert who(entry) == (ActorKind.API_CLIENT, "Contoso CLM", AuditAction.CREATED)
    assert entry.changes == {
        "name": [None, "Service"],
        "description": [None, "Services"],
        "flow": [None, "lightweight"],
        "is_active": [None, True],
        "needs_review": [None, False],
    }


def test_a_status_reported_through_the_api_is_a_status_change_of_the_client(clm_key, legal_entity, nda_type):
    contract = factories.ContractFactory(legal_entity=legal_entity, contract_id="CT-1", contract_type=nda_type)

    response = clm_key.patch("/api/v1/contracts/USMF/CT-1/", {"status": ContractStatus.EXECUTED}, format="json")

    assert response.status_code == 200, response.content
    entry = entry_of(contract, action=AuditAction.STATUS_CHANGED)
    assert who(entry) == (ActorKind.API_CLIENT, "Contoso CLM", AuditAction.STATUS_CHANGED)
    assert entry.changes == {"status": [ContractStatus.DRAFT, ContractStatus.EXECUTED]}
    assert entry.legal_entity == legal_entity


def test_contracts_a_bulk_upsert_creates_and_changes_are_the_clients_entries(clm_key, legal_entity, nda_type, vendor):
    record = {
        "legal_entity": "USMF",
        "contract_type": "NDA",
        "name": "Mutual NDA",
        "account_relation_id": vendor.account_number,
        "effective_date": "2026-01-01",
    }
    records = [{**record, "contract_id": "NDA-1"}, {**record, "contract_id": "NDA-2"}, {"contract_id": "NDA-BAD"}]
    assert clm_key.post("/api/v1/contracts/bulk-upsert/", {"records": records}, format="json").status_code == 200
    changed = {**record, "contract_id": "NDA-1", "name": "Mutual NDA, amended", "effective_date": "2026-02-01"}
    unchanged = {**record, "contract_id": "NDA-2"}
    assert (
        clm_key.post("/api/v1/contracts/bulk-upsert/", {"records": [changed, unchanged]}, format="json").status_code
        == 200
    )

    first, second = Contract.objects.get(contract_id="NDA-1"), Contract.objects.get(contract_id="NDA-2")
    created = entry_of(second)
    assert who(created) == (ActorKind.API_CLIENT, "Contoso CLM", AuditAction.CREATED)
    assert created.changes["contract_id"] == [None, "NDA-2"] and created.changes["status"] == [None, "Draft"]
    assert created.legal_entity == legal_entity
    history = entries(object_type="contracts.contract", object_id=str(first.pk))
    assert [entry.action for entry in history] == [AuditAction.CREATED, AuditAction.UPDATED]
    assert entry_of(first, action=AuditAction.UPDATED).changes == {
        "name": ["Mutual NDA", "Mutual NDA, amended"],
        "effective_date": ["2026-01-01", "2026-02-01"],
    }
    assert not AuditEntry.objects.filter(object_repr__contains="NDA-BAD").exists()


def test_a_contract_deleted_through_the_api_keeps_its_key_in_the_entry(clm_key, legal_entity, nda_type):
    contract = factories.ContractFactory(legal_entity=legal_entity, contract_id="CT-9", contract_type=nda_type)
    pk = contract.pk

    assert clm_key.delete("/api/v1/contracts/USMF/CT-9/").status_code == 204

    [entry] = entries(object_type="contracts.contract", object_id=str(pk))
    assert who(entry) == (ActorKind.API_CLIENT, "Contoso CLM", AuditAction.DELETED)
    assert entry.changes["contract_id"] == ["CT-9", None]
    assert not Contract.objects.filter(pk=pk).exists()


def test_api_client_keys_created_rotated_and_revoked_in_the_admin_never_reach_the_log(admin_client, legal_entity):
    add = reverse("admin:contracts_apiclient_add")
    data = {"name": "Reporting", "role": ApiClientRole.READ_ONLY, "legal_entities": [legal_entity.pk]}
    created = admin_client.post(add, {**data, "is_active": "on"}, follow=True)
    client = ApiClient.objects.get(name="Reporting")
    first_key = next(str(m) for m in created.context["messages"]).split("<code>")[1].split("</code>")[0]
    first_hash = client.key_hash
    rotated = admin_client.post(
        reverse("admin:contracts_apiclient_changelist"),
        {"action": "rotate_keys", "_selected_action": [client.pk]},
        follow=True,
    )
    second_key = next(str(m) for m in rotated.context["messages"]).split("<code>")[1].split("</code>")[0]
    admin_client.post(
        reverse("admin:contracts_apiclient_changelist"), {"action": "revoke_keys", "_selected_action": [client.pk]}
    )

    client.refresh_from_db()
    creation, rotation, revocation = entries(object_type="contracts.apiclient", object_id=str(client.pk))
    assert [who(entry) for entry in (creation, rotation, revocation)] == [
        (ActorKind.USER, "admin", AuditAction.CREATED),
        (ActorKind.USER, "admin", AuditAction.KEY_ROTATED),
        (ActorKind.USER, "admin", AuditAction.KEY_REVOKED),
    ]
    assert creation.changes["key_hash"] == [None, MASK]
    assert creation.changes["legal_entities"] == [[], ["USMF"]]
    assert rotation.changes["key_hash"] == [MASK, MASK]
    assert rotation.changes["key_prefix"] == [first_key.split(".")[0], second_key.split(".")[0]]
    assert revocation.changes == {"revoked_at": [None, client.revoked_at.isoformat()]}
    logged = all_entries_json()
    for secret in (first_key, second_key, first_hash, client.key_hash, first_key.split(".")[1]):
        assert secret not in logged


def test_an_api_clients_legal_entities_changed_in_the_admin_are_in_its_entry(
    admin_client, legal_entity, other_legal_entity
):
    client = ApiClientFactory(name="Reporting", legal_entities=[legal_entity])
    url = reverse("admin:contracts_apiclient_change", args=[client.pk])

    admin_post(admin_client, url, {"legal_entities": [legal_entity.pk, other_legal_entity.pk]})

    entry = entry_of(client, action=AuditAction.UPDATED)
    assert who(entry) == (ActorKind.USER, "admin", AuditAction.UPDATED)
    assert entry.changes == {"legal_entities": [["USMF"], ["DEMF", "USMF"]]}


# --- Writing entries ------------------------------------------------------------------------


def test_a_batch_of_entries_is_written_at_once_and_reads_nothing(legal_entity, vendor):
    actor = Actor.for_connector("reference-clm")
    built = [
        audit.audit_entry(actor=actor, action=AuditAction.UPDATED, instance=vendor, changes={"name": ["a", str(n)]})
        for n in range(500)
    ]

    with CaptureQueriesContext(db_connection) as queries:
        audit.audit_record_many(built)

    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    if db_connection.vendor == "postgresql":  # the ids from the sequence, then one COPY
        assert [sql.split()[0] for sql in statements] == ["SELECT", "COPY"]
        assert "nextval" in statements[0]
    else:  # SQLite: INSERTs, split by its limit on parameters
        assert {sql.split()[0] for sql in statements} == {"INSERT"}
    assert AuditEntry.objects.filter(actor_name="reference-clm").count() == 500


def test_secret_fields_are_masked_whatever_the_value():
    from connectors.models import Connection

    before = {"credentials": "old-token", "webhook_secrets": "", "name": "A"}
    after = {"credentials": "new-token", "webhook_secrets": "whsec-1", "name": "B"}

    assert audit.changes_between(Connection, before, after) == {
        "credentials": [MASK, MASK],
        "webhook_secrets": ["", MASK],
        "name": ["A", "B"],
    }


# --- The admin ----------------------------------------------------------------------------------


@pytest.fixture
def logged(legal_entity, vendor):
    """A few entries of each kind of actor."""
    actors = (
        Actor(ActorKind.USER, "alice"),
        Actor.for_api_client("Contoso CLM", acts_for_clm=True),
        Actor.for_connector("reference-clm"),
    )
    return audit.audit_record_many(
        audit.audit_entry(actor=actor, action=AuditAction.UPDATED, instance=vendor, changes={"x": [1, 2]})
        for actor in actors
    )


def test_the_list_and_an_entry_page_render_for_a_superuser(admin_client, logged):
    listed = admin_client.get(CHANGELIST)
    page = admin_client.get(reverse("admin:contracts_auditentry_change", args=[logged[0].pk]))

    assert listed.status_code == 200
    assert "API client: Contoso CLM" in listed.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>x</td><td>1</td><td>2</td>" in html
    assert 'name="_save"' not in html


def test_nobody_adds_changes_or_deletes_an_entry(admin_client, logged):
    entry = logged[0]

    assert admin_client.get(reverse("admin:contracts_auditentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:contracts_auditentry_change", args=[entry.pk]), {}).status_code == 403
    assert admin_client.get(reverse("admin:contracts_auditentry_delete", args=[entry.pk])).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor_kind": ActorKind.CONNECTOR}, ["reference-clm"]),
        ({"q": "alice"}, ["alice"]),
        ({"q": "ali"}, []),  # exact, so that the index answers
        ({"object_type": "contracts.vendor", "action": AuditAction.UPDATED}, ["reference-clm", "Contoso CLM", "alice"]),
        ({"object_type": "contracts.contract"}, []),
    ],
)
def test_the_list_filters_and_searches(admin_client, logged, params, expected):
    AuditEntry.objects.exclude(pk__in=[entry.pk for entry in logged]).delete()

    response = admin_client.get(CHANGELIST, params)

    assert [entry.actor_name for entry in response.context["cl"].result_list] == expected


def test_a_term_that_is_both_an_actor_and_an_object_finds_both(admin_client, vendor, legal_entity, logged):
    AuditEntry.objects.exclude(pk__in=[entry.pk for entry in logged]).delete()
    [named_like_it] = audit.audit_record_many(
        [audit.audit_entry(actor=Actor.system(str(vendor.pk)), action=AuditAction.UPDATED, instance=legal_entity)]
    )

    response = admin_client.get(CHANGELIST, {"q": str(vendor.pk)})

    found = {entry.pk for entry in response.context["cl"].result_list}
    assert found == {named_like_it.pk, *(entry.pk for entry in logged)}


def test_the_date_drill_down_offers_the_calendar_without_reading_every_row(admin_client, logged):
    AuditEntry.objects.filter(pk=logged[0].pk).update(at=datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC))
    year = timezone.localtime().year

    top = admin_client.get(CHANGELIST).context["cl"].date_choices()
    months = admin_client.get(CHANGELIST, {"at__year": 2024}).context["cl"].date_choices()
    days = admin_client.get(CHANGELIST, {"at__year": 2024, "at__month": 3})
    day = admin_client.get(CHANGELIST, {"at__year": 2024, "at__month": 3, "at__day": 5})

    assert [choice["title"] for choice in top["choices"]] == [str(number) for number in range(year, 2023, -1)]
    assert len(months["choices"]) == 12
    assert len(days.context["cl"].date_choices()["choices"]) == 31
    assert [entry.pk for entry in day.context["cl"].result_list] == [logged[0].pk]


def test_the_list_pages_newer_and_older_without_counting(admin_client, vendor, logged):
    actor = Actor.system("tests")
    audit.audit_record_many(
        audit.audit_entry(actor=actor, action=AuditAction.UPDATED, instance=vendor) for _ in range(150)
    )

    first = admin_client.get(CHANGELIST)
    second = admin_client.get(CHANGELIST + first.context["cl"].older_url)

    assert len(first.context["cl"].result_list) == 100
    assert first.context["cl"].newer_url is None
    assert len(second.context["cl"].result_list) == AuditEntry.objects.count() - 100
    assert second.context["cl"].older_url is None
    assert "Newer" in second.content.decode()


def changelist_queries(client) -> list[str]:
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_the_list_runs_the_same_few_queries_for_3_and_300_entries_and_never_counts(admin_client, vendor, logged):
    few = changelist_queries(admin_client)
    actor = Actor.system("tests")
    audit.audit_record_many(
        audit.audit_entry(actor=actor, action=AuditAction.UPDATED, instance=vendor) for _ in range(300)
    )
    many = changelist_queries(admin_client)

    assert len(few) == len(many) <= 5  # session, user, legal entities (filter), the page, first/last date
    assert not [sql for sql in many if "COUNT(" in sql.upper()]
