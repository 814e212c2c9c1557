"""Schemathesis against every operation of /api/v1/, in-process (SPEC §8.1: never a 500 for bad input).

The schema is the one the app serves: drf-spectacular's generator, as the schema view
runs it (a test below checks that /api/v1/schema/ serves exactly this document; it is
built at import so that each operation is a test of its own, with its own transaction).
Every generated request goes through Django's WSGI application in this process (no
server), inside pytest-django's test database, as a ``clm_integration`` client granted
USMF; a request that names DEMF goes as a cross-company client instead, so it reaches
DEMF's records rather than only "not granted". Each request runs in a savepoint that is
rolled back afterwards, so every example sees the same seeded records (a DELETE does not
take them away from the next one), and path parameters, scopes and bodies are steered
towards real records some of the time.

Checks: no 5xx, responses conform to the schema (body and headers), and statuses are
documented ones. The budget is bounded and derandomized, so CI is reproducible:
``FUZZ_MAX_EXAMPLES`` (default 15 per operation); ``make fuzz`` raises it.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from contracts.choices import AgreementOwnership, ApiClientRole
from contracts.tests import factories
from contracts.tests.strategies import property_settings

from .conftest import api_with_key
from .factories import ApiClientFactory

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]

# Real records the seed below creates, by the path parameters that address them.
CONTRACT = {"legal_entity": "USMF", "contract_id": "CON-FUZZ-1"}
CLM_AGREEMENT = {"legal_entity": "USMF", "agreement_id": "PA-CLM-1"}
SCM_AGREEMENT = {"legal_entity": "USMF", "agreement_id": "PA-SCM-1"}
REAL_PATH_PARAMETERS = [
    CONTRACT,
    CLM_AGREEMENT,
    SCM_AGREEMENT,
    {**CLM_AGREEMENT, "line_number": "1"},
    {**SCM_AGREEMENT, "line_number": "1"},
    {**SCM_AGREEMENT, "line_number": "2.5"},
    {"name": "Purchase"},
    {"name": "NDA"},
    {"legal_entity": "DEMF", "contract_id": "CON-FUZZ-DE", "agreement_id": "PA-DE-1", "line_number": "1"},
    {"name": "Reference CLM", "navigation_type": "ViewContract"},
]
SCOPES = [{}, {"legal_entity": "USMF"}, {"legal_entity": "USMF,DEMF"}, {"cross_company": "true"}]
# Values a body may name so that it reaches the services' rules, not only "not found".
REAL_BODY_VALUES = {
    "legal_entity": ["USMF", "DEMF", "usmf "],
    "contract_id": ["CON-FUZZ-1", "CON-FUZZ-NEW"],
    "agreement_id": ["PA-CLM-1", "PA-SCM-1"],
    "external_contract_id": ["ext-fuzz-1"],
    "line_number": [1, "2.5"],
    "contract_type": ["Purchase", "NDA"],
    "currency": ["USD"],
    "vendor": ["V-1001"],
    "account_relation_id": ["V-1001"],
    "name": ["Purchase", "Fuzzed type"],
}


@pytest.fixture
def fuzz_world(
    db,
    legal_entity,
    other_legal_entity,
    vendor,
    usd,
    purchase_type,
    nda_type,
    clm_agreement,
    scm_agreement,
    connection,
):
    """A small company with a record behind every path: contracts, both kinds of agreement, lines,
    another company's records (DEMF) and a CLM connection with a navigation link."""
    factories.NavigationLinkFactory(connection=connection, navigation_type="ViewContract")
    factories.ContractFactory(
        legal_entity=legal_entity,
        connection=connection,
        contract_id=CONTRACT["contract_id"],
        external_contract_id="ext-fuzz-1",
        vendor=vendor,
        contract_type=purchase_type,
        currency=usd,
        value="1250.00",
        notice_period_days=30,
        document_url="https://clm.example.com/contracts/1",
    )
    factories.ContractFactory(legal_entity=legal_entity, connection=None, contract_type=nda_type, vendor=None)
    factories.LineFactory(legal_entity=legal_entity, agreement=clm_agreement, line_number=1)
    factories.LineFactory(legal_entity=legal_entity, agreement=scm_agreement, line_number=1)
    factories.LineFactory(legal_entity=legal_entity, agreement=scm_agreement, line_number="2.5")
    other_agreement = factories.AgreementFactory(
        legal_entity=other_legal_entity, agreement_id="PA-DE-1", ownership=AgreementOwnership.SCM
    )
    factories.LineFactory(legal_entity=other_legal_entity, agreement=other_agreement, line_number=1)
    factories.ContractFactory(legal_entity=other_legal_entity, contract_id="CON-FUZZ-DE")
    return legal_entity


def _served_schema() -> dict:
    """The document /api/v1/schema/ serves (drf-spectacular's generator, as its view runs it)."""
    return SchemaGenerator().get_schema(request=None, public=True)


WSGI_APP = get_wsgi_application()
schema = schemathesis.openapi.from_dict(_served_schema())
schema.app = WSGI_APP  # requests go through Django's WSGI handler, in this process


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    names = set(path_parameters)
    real = [{key: value for key, value in known.items() if key in names} for known in REAL_PATH_PARAMETERS]
    real = [candidate for candidate in real if set(candidate) == names]
    return st.sampled_from([path_parameters, *real]).map(lambda chosen: {**path_parameters, **chosen})


@schema.hook
def flatmap_query(context, query):
    if context.operation is None or "legal_entity" not in {parameter.name for parameter in context.operation.query}:
        return st.just(query)
    return st.sampled_from(SCOPES).map(lambda scope: {**(query or {}), **scope})


@schema.hook
def flatmap_body(context, body):
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        records = body["records"]
        named = st.lists(st.sampled_from(REAL_BODY_VALUES["contract_id"]), min_size=len(records), max_size=len(records))
        return named.map(
            lambda ids: {
                **body,
                "records": [
                    {**record, "legal_entity": "USMF", "contract_id": ids[index]}
                    if isinstance(record, dict)
                    else record
                    for index, record in enumerate(records)
                ],
            }
        )
    if not isinstance(body, dict):
        return st.just(body)
    keys = [key for key in body if key in REAL_BODY_VALUES]
    if not keys:
        return st.just(body)
    choices = {key: st.sampled_from([body[key], *REAL_BODY_VALUES[key]]) for key in keys}
    return st.fixed_dictionaries(choices).map(lambda chosen: {**body, **chosen})


@contextmanager
def requests_on_the_test_connection():
    """Requests through the WSGI handler on the test's database connection.

    A real request closes "old" database connections when it starts and ends; inside the
    test's transaction that would close the connection the test runs on, so (like
    Django's test client) the requests run without that signal handler.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def clm_headers(*legal_entities, cross_company=False) -> dict:
    """The Authorization header of a new clm_integration client granted the legal entities."""
    client = ApiClientFactory(
        role=ApiClientRole.CLM_INTEGRATION, legal_entities=legal_entities, cross_company=cross_company
    )
    return {"Authorization": f"Bearer {client.plaintext_key}"}


def call_and_validate(case, headers: dict, checks=CHECKS):
    """Sends the case in a savepoint that is rolled back, so the next one sees the same records."""
    with requests_on_the_test_connection(), transaction.atomic():
        response = case.call(headers=headers)
        transaction.set_rollback(True)
    case.validate_response(response, checks=checks, headers=headers)
    return response


@pytest.fixture
def fuzz_headers(fuzz_world):
    """Headers for a case: a clm_integration client granted USMF, or a cross-company one for DEMF."""
    granted, cross_company = clm_headers(fuzz_world), clm_headers(cross_company=True)

    def headers_for(case) -> dict:
        named = repr((case.path_parameters, case.query, case.body)).upper()
        return cross_company if "DEMF" in named else granted

    return headers_for


@schema.parametrize()
@property_settings(MAX_EXAMPLES)
def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(case, fuzz_headers):
    call_and_validate(case, fuzz_headers(case))


def test_the_fuzzed_schema_is_the_one_the_api_serves_to_its_clients(db):
    """The fuzzer generates from the very document a client reads from /api/v1/schema/."""
    reader = api_with_key(ApiClientFactory(role=ApiClientRole.READ_ONLY, cross_company=True))
    served = reader.get("/api/v1/schema/", {"format": "json"}).json()

    assert served == json.loads(json.dumps(schema.raw_schema))
    assert {(path, method) for path, item in served["paths"].items() for method in item} == {
        (operation.path, operation.method.lower()) for operation in _operations(schema)
    }


def _operations(loaded):
    return [result.ok() for result in loaded.get_all_operations()]
