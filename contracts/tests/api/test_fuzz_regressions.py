"""What schemathesis found (test_schema_fuzz.py), each pinned by the request that showed it.

The schema promised non-null references and non-blank choices, URLs and e-mails in every
answer, while records hold null references (a contract without currency or connection,
an agreement without payment terms, a line without category) and blank values (no renewal
type, no document URL, no requester e-mail, no line matching policy): clients that
validate answers against the schema rejected real records. Fixed in
``contracts.api.serializers.RecordSerializer``.
"""

import json

import pytest
from schemathesis.specs.openapi.checks import response_schema_conformance

from contracts.tests import factories

from .test_schema_fuzz import call_and_validate, clm_headers, schema

pytestmark = pytest.mark.django_db


def answer(method: str, path: str, headers: dict, **parts):
    """Calls the operation through the WSGI app and checks the answer against the served schema."""
    return call_and_validate(schema[path][method].Case(**parts), headers, checks=[response_schema_conformance])


@pytest.fixture
def headers(legal_entity):
    return clm_headers(legal_entity)


@pytest.fixture
def bare_contract(legal_entity):
    """A contract with nothing optional: no currency, connection or requester, blank renewal and URL."""
    return factories.ContractFactory(
        legal_entity=legal_entity, contract_id="CON-BARE", connection=None, vendor=None, currency=None
    )


def test_a_contract_without_optional_references_or_values_is_answered_as_the_schema_says(bare_contract, headers):
    one = answer(
        "GET",
        "/api/v1/contracts/{legal_entity}/{contract_id}/",
        headers,
        path_parameters={"legal_entity": "USMF", "contract_id": "CON-BARE"},
    )
    assert one.status_code == 200
    body = one.json()
    assert (body["currency"], body["connection"], body["requester_worker"]) == (None, None, None)
    assert (body["renewal_type"], body["document_url"], body["requester_worker_email"]) == ("", "", "")

    listed = answer("GET", "/api/v1/contracts/", headers, query={"legal_entity": "USMF"})
    assert "CON-BARE" in {contract["contract_id"] for contract in listed.json()["results"]}


def test_an_agreement_and_a_line_without_optional_references_are_answered_as_the_schema_says(legal_entity, headers):
    agreement = factories.AgreementFactory(legal_entity=legal_entity, agreement_id="PA-BARE")
    factories.LineFactory(legal_entity=legal_entity, agreement=agreement, line_number=1)
    address = {"legal_entity": "USMF", "agreement_id": "PA-BARE"}

    header = answer(
        "GET", "/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/", headers, path_parameters=address
    )
    assert header.status_code == 200
    assert header.json()["payment_terms"] is None
    assert header.json()["line_matching_policy"] == ""

    line = answer(
        "GET",
        "/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/lines/{line_number}/",
        headers,
        path_parameters={**address, "line_number": "1"},
    )
    assert line.status_code == 200
    assert line.json()["category"] is None

    answer("GET", "/api/v1/purchase-agreements/", headers, query={"legal_entity": "USMF"})
    answer("GET", "/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/lines/", headers, path_parameters=address)


def test_the_schema_says_which_shown_values_may_be_null_or_blank():
    components = schema.raw_schema["components"]["schemas"]

    assert components["Contract"]["properties"]["currency"]["nullable"] is True
    assert components["Agreement"]["properties"]["payment_terms"]["nullable"] is True
    assert components["Line"]["properties"]["category"]["nullable"] is True
    assert {"type": "string", "maxLength": 0} in components["Contract"]["properties"]["document_url"]["oneOf"]


def test_a_crash_under_the_api_answers_with_the_json_error_body(rf):
    from contracts.api.errors import server_error

    response = server_error(rf.get("/api/v1/contracts/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["errors"][0]["code"] == "server_error"


def test_a_crash_outside_the_api_keeps_the_html_error_page(rf):
    from contracts.api.errors import server_error

    response = server_error(rf.get("/contracts/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
