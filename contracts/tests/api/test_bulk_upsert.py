"""Bulk upsert of contracts (SPEC §8.2): up to 1,000 per request, answered per record."""

import pytest

from contracts.models import Contract

pytestmark = pytest.mark.django_db

URL = "/api/v1/contracts/bulk-upsert/"


def record(number: int, **changes) -> dict:
    return {
        "legal_entity": "USMF",
        "contract_id": f"BULK-{number:04d}",
        "external_contract_id": f"ext-bulk-{number}",
        "contract_type": "NDA",
        "status": "Executed",
        "name": f"NDA {number}",
        "account_type": "Vend",
        "account_relation_id": "V-1001",
        "currency": "USD",
        "effective_date": "2026-01-01",
        "source_modified_at": "2026-03-01T00:00:00Z",
        **changes,
    }


@pytest.fixture
def batch(vendor, nda_type, usd):
    return [record(number) for number in range(1000)]


def test_a_thousand_records_are_created_then_unchanged_then_one_bad_is_reported_alone(clm_api, batch):
    created = clm_api.post(URL, {"records": batch}, format="json")
    assert created.status_code == 200
    assert created.json()["totals"] == {"created": 1000, "updated": 0, "unchanged": 0, "stale": 0, "failed": 0}
    assert Contract.objects.count() == 1000
    assert [result["index"] for result in created.json()["results"]] == list(range(1000))

    again = clm_api.post(URL, {"records": batch}, format="json").json()
    assert again["totals"]["unchanged"] == 1000

    batch[417] = record(417, currency="XYZ", name="Changed")
    batch[418] = record(418, name="Renamed", source_modified_at="2026-04-01T00:00:00Z")
    mixed = clm_api.post(URL, {"records": batch}, format="json").json()
    failed = [result for result in mixed["results"] if "errors" in result]
    assert failed == [
        {
            "index": 417,
            "legal_entity": "USMF",
            "contract_id": "BULK-0417",
            "errors": [{"field": "currency", "message": 'no currency "XYZ" exists.', "code": "not_found"}],
        }
    ]
    assert mixed["totals"] == {"created": 0, "updated": 1, "unchanged": 998, "stale": 0, "failed": 1}
    assert Contract.objects.get(contract_id="BULK-0417").name == "NDA 417"
    assert Contract.objects.get(contract_id="BULK-0418").name == "Renamed"


def test_more_than_a_thousand_records_are_refused_naming_the_limit(clm_api, batch):
    response = clm_api.post(URL, {"records": [*batch, record(1000)]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "records",
            "message": "at most 1,000 records per request; this one has 1,001. Split it.",
            "code": "too_many",
        }
    ]
    assert not Contract.objects.exists()


def test_records_that_do_not_parse_or_are_not_granted_fail_alone(clm_api, other_legal_entity, vendor, nda_type):
    records = [
        "not an object",
        record(1, effective_date="someday"),
        record(2, legal_entity="DEMF"),
        record(3, legal_entity=None),
        record(4),
    ]

    results = clm_api.post(URL, {"records": records}, format="json").json()["results"]

    assert [result.get("outcome") for result in results] == [None, None, None, None, "created"]
    assert [result["errors"][0]["field"] for result in results[:4]] == [
        None,
        "effective_date",
        "legal_entity",
        "legal_entity",
    ]
    assert results[2]["errors"][0]["code"] == "not_granted"


@pytest.mark.parametrize("body", [[], {"records": "many"}, {"items": []}])
def test_a_body_without_a_records_list_is_a_400(clm_api, body):
    response = clm_api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "records"


def test_read_only_clients_cannot_bulk_upsert(reader_api, batch):
    assert reader_api.post(URL, {"records": batch[:1]}, format="json").status_code == 403
