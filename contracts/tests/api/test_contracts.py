"""Contracts over the API (SPEC §3.3, §8.2): list, create, create-or-update, delete."""

import datetime

import pytest

from contracts.choices import ContractStatus
from contracts.models import Contract, ContractStatusChange
from contracts.tests import factories

pytestmark = pytest.mark.django_db

LIST = "/api/v1/contracts/"


def detail(code="USMF", contract_id="CON-1"):
    return f"/api/v1/contracts/{code}/{contract_id}/"


@pytest.fixture
def contract_body(vendor, nda_type, usd):
    return {
        "legal_entity": "USMF",
        "contract_id": "CON-1",
        "external_contract_id": "ext-1",
        "contract_type": "NDA",
        "status": "Draft",
        "name": "Mutual NDA with Fabrikam",
        "effective_date": "2026-01-01",
        "expiration_date": "2027-12-31",
        "account_type": "Vend",
        "account_relation_id": "V-1001",
        "value": "1000.50",
        "currency": "USD",
        "source_modified_at": "2026-01-01T10:00:00Z",
    }


def test_created_contract_is_returned_with_natural_keys_and_an_etag(clm_api, contract_body):
    response = clm_api.post(LIST, contract_body, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "created"
    assert body["contract_type"] == "NDA"
    assert body["currency"] == "USD"
    assert body["legal_entity"] == "USMF"
    assert body["value"] == "1000.50"
    assert response["Location"] == detail()
    assert response["ETag"].startswith('W/"')
    contract = Contract.objects.get(contract_id="CON-1")
    assert contract.vendor.account_number == "V-1001"
    assert contract.changed_by == f"api_client:{clm_api.api_client.name}"


def test_creating_an_existing_contract_is_a_conflict(clm_api, contract_body):
    clm_api.post(LIST, contract_body, format="json")

    response = clm_api.post(LIST, contract_body, format="json")

    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "field": "contract_id",
        "message": 'contract "CON-1" already exists in legal entity USMF.',
        "code": "conflict",
    }


def test_put_creates_then_updates_then_reports_unchanged_and_stale(clm_api, contract_body):
    created = clm_api.put(detail(), contract_body, format="json")
    assert (created.status_code, created.json()["outcome"]) == (201, "created")

    newer = {**contract_body, "status": "Executed", "source_modified_at": "2026-02-01T10:00:00Z"}
    updated = clm_api.put(detail(), newer, format="json")
    assert (updated.status_code, updated.json()["outcome"]) == (200, "updated")
    assert updated.json()["status"] == "Executed"

    again = clm_api.put(detail(), newer, format="json")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")

    older = {**contract_body, "status": "Cancelled", "source_modified_at": "2026-01-15T10:00:00Z"}
    stale = clm_api.put(detail(), older, format="json")
    assert (stale.status_code, stale.json()["outcome"]) == (200, "stale")
    assert stale.json()["status"] == "Executed"
    assert list(ContractStatusChange.objects.values_list("to_status", flat=True)) == ["Draft", "Executed"]


def test_put_body_may_leave_out_the_key_but_not_contradict_the_url(clm_api, contract_body):
    body = {key: value for key, value in contract_body.items() if key not in ("legal_entity", "contract_id")}
    assert clm_api.put(detail(), body, format="json").status_code == 201

    response = clm_api.put(detail(), {**body, "contract_id": "OTHER"}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "mismatch"


def test_a_contract_read_with_get_can_be_sent_back_with_put(clm_api, contract_body):
    clm_api.put(detail(), contract_body, format="json")
    read = clm_api.get(detail()).json()

    response = clm_api.put(detail(), read, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == "unchanged"


def test_patch_changes_only_the_fields_sent_and_needs_an_existing_contract(clm_api, contract_body):
    assert clm_api.patch(detail(), {"name": "x"}, format="json").status_code == 404
    clm_api.put(detail(), contract_body, format="json")

    response = clm_api.patch(detail(), {"name": "Renamed NDA"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed NDA"
    assert response.json()["currency"] == "USD"


def test_every_rule_violation_is_listed_with_its_field(clm_api, contract_body):
    body = {
        **contract_body,
        "contract_type": "Unknown",
        "status": "Signed",
        "account_relation_id": "V-404",
        "expiration_date": "2025-01-01",
        "colour": "blue",
    }

    response = clm_api.post(LIST, body, format="json")

    assert response.status_code == 422
    fields = {error["field"]: error["code"] for error in response.json()["errors"]}
    assert fields == {
        "contract_type": "not_found",
        "status": "invalid",
        "account_relation_id": "not_found",
        "expiration_date": "date_order",
        "colour": "unknown_field",
    }
    assert not Contract.objects.exists()


def test_values_of_the_wrong_type_are_a_400_naming_each_field(clm_api, contract_body):
    body = {**contract_body, "effective_date": "next tuesday", "value": "lots", "amendment_in_process": [1], "name": {}}

    response = clm_api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {
        "effective_date",
        "value",
        "amendment_in_process",
        "name",
    }


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [('{"legal_entity": "USMF",', "application/json"), ("[1, 2]", "application/json"), ("a=b", "text/plain")],
)
def test_malformed_bodies_are_answered_with_the_error_body_never_a_500(clm_api, payload, content_type):
    response = clm_api.generic("POST", LIST, payload, content_type=content_type)

    assert response.status_code in (400, 415)
    assert response.json()["errors"][0]["message"]


def test_deleting_a_contract_that_an_agreement_references_is_refused(clm_api, clm_agreement):
    contract = clm_agreement.contract

    response = clm_api.delete(detail(contract_id=contract.contract_id))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "in_use"
    assert "PA-CLM-1" in response.json()["errors"][0]["message"]
    assert Contract.objects.filter(pk=contract.pk).exists()


def test_deleting_an_unreferenced_contract_removes_it_with_its_history(clm_api, contract_body):
    clm_api.put(detail(), contract_body, format="json")

    assert clm_api.delete(detail()).status_code == 204
    assert not Contract.objects.exists()
    assert not ContractStatusChange.objects.exists()
    assert clm_api.delete(detail()).status_code == 404


def test_list_uses_the_ui_filters_and_pages_by_cursor(clm_api, legal_entity, nda_type, purchase_type):
    for number in range(5):
        factories.ContractFactory(
            legal_entity=legal_entity, contract_id=f"N-{number}", contract_type=nda_type, status=ContractStatus.EXECUTED
        )
    factories.ContractFactory(legal_entity=legal_entity, contract_id="P-1", contract_type=purchase_type)

    ndas = clm_api.get(LIST, {"legal_entity": "USMF", "type": "NDA", "page_size": 2})
    assert ndas.status_code == 200
    first = ndas.json()
    assert [row["contract_id"] for row in first["results"]] == ["N-0", "N-1"]
    second = clm_api.get(first["next"]).json()
    third = clm_api.get(second["next"]).json()
    assert [row["contract_id"] for row in second["results"] + third["results"]] == ["N-2", "N-3", "N-4"]
    assert third["next"] is None

    executed = clm_api.get(LIST, {"legal_entity": "USMF", "status": "Executed", "q": "N-3"}).json()
    assert [row["contract_id"] for row in executed["results"]] == ["N-3"]


def test_list_filters_that_do_not_parse_and_sorting_are_400(clm_api):
    bad_date = clm_api.get(LIST, {"legal_entity": "USMF", "effective_from": "soon"})
    assert bad_date.status_code == 400
    assert bad_date.json()["errors"][0]["field"] == "effective_from"
    sorted_list = clm_api.get(LIST, {"legal_entity": "USMF", "ordering": "name"})
    assert sorted_list.status_code == 400
    assert sorted_list.json()["errors"][0]["field"] == "ordering"
    bad_cursor = clm_api.get(LIST, {"legal_entity": "USMF", "cursor": "nonsense"})
    assert bad_cursor.status_code == 400


def test_a_client_with_a_connection_records_it_on_the_contracts_it_creates(
    api_client_for, legal_entity, connection, contract_body
):
    api = api_client_for(legal_entities=[legal_entity], connection=connection)

    response = api.post(LIST, contract_body, format="json")

    assert response.json()["connection"] == "Reference CLM"
    assert Contract.objects.get().connection == connection


def test_executed_purchase_contract_creates_its_agreement_through_the_flow(clm_api, contract_body, purchase_type):
    body = {**contract_body, "contract_type": "Purchase", "status": "Executed"}

    assert clm_api.post(LIST, body, format="json").status_code == 201

    agreement = Contract.objects.get().agreements.get()
    assert agreement.ownership == "CLM"
    assert agreement.status == "Effective"
    assert agreement.default_expiration_date == datetime.date(2027, 12, 31)
