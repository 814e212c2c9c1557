"""Text no database can store (NUL characters, lone surrogates) is a 400 that names where it
is, never a 500 from PostgreSQL — found by schemathesis on PostgreSQL."""

import json

import pytest

from contracts.models import Contract


def first_error(response) -> dict:
    return response.json()["errors"][0]


def test_a_nul_in_a_query_parameter_is_refused_naming_the_parameter(clm_api):
    response = clm_api.get("/api/v1/contracts/", {"legal_entity": "US\x00MF"})

    assert response.status_code == 400
    assert first_error(response)["field"] == "legal_entity"
    assert "NUL character" in first_error(response)["message"]


def test_a_nul_in_a_key_of_the_body_is_refused_and_nothing_is_stored(clm_api):
    body = json.dumps({"legal_entity": "USMF", "contract_id": "C-1", "na\u0000me": "x"})

    response = clm_api.post(
        "/api/v1/contracts/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="nul-key-1"
    )

    assert response.status_code == 400
    assert "a key of the body contains a NUL character" in first_error(response)["message"]
    assert not Contract.objects.exists()


@pytest.mark.parametrize("text", ["\\u0000", "\\ud800"], ids=["nul", "lone-surrogate"])
def test_unstorable_text_in_a_value_is_refused_naming_its_place(clm_api, text):
    body = '{"records": [{"legal_entity": "USMF", "contract_id": "C-1", "name": "A' + text + '"}]}'

    response = clm_api.post("/api/v1/contracts/bulk-upsert/", body, content_type="application/json")

    assert response.status_code == 400
    assert first_error(response)["message"].startswith("records.0.name contains")


def test_the_browser_pages_refuse_a_nul_in_a_filter_too(admin_client):
    response = admin_client.get("/contracts/", {"q": "x\x00y"})

    assert response.status_code == 400
    assert b"NUL character" in response.content
