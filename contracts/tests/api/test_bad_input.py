"""Bad bodies on every write endpoint of /api/v1/ (issue 9): a 4xx with the error body that
names the problem, never a 5xx, and never a row written.

The endpoints are walked from ``contracts/api/urls.py`` itself, so a new write endpoint is
covered (or this test says it has no address here). test_errors.py sends malformed JSON;
this file sends what parses but should not be taken: too big, too deep, not UTF-8, the
wrong media type, values beyond any column (dates, decimals, integers), unknown choices.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.urls import URLPattern, reverse

from connectors import webhooks
from contracts.api import urls as api_urls
from contracts.choices import AccountType, ApiClientRole, CommitmentType, ContractStatus
from contracts.tests import factories
from contracts.tests.strategies import row_counts

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch")
# Where each write endpoint is reached, at records of the world below.
ADDRESSES = {
    "contract-list": {},
    "contract-bulk-upsert": {},
    "contract-detail": {"legal_entity": "USMF", "contract_id": "CON-1"},
    "contract-type-list": {},
    "contract-type-detail": {"name": "NDA"},
    "agreement-list": {},
    "agreement-detail": {"legal_entity": "USMF", "agreement_id": "PA-SCM-1"},
    "line-list": {"legal_entity": "USMF", "agreement_id": "PA-SCM-1"},
    "line-detail": {"legal_entity": "USMF", "agreement_id": "PA-SCM-1", "line_number": "1"},
    "line-create": {},
    "validate-agreement": {},
    "validate-line-insert": {},
    "validate-line-update": {},
    "validate-line-delete": {},
    "deep-link-create": {},
    "connection-status": {"name": "Reference CLM"},
    "navigation-link-list": {"name": "Reference CLM"},
    "navigation-link-detail": {"name": "Reference CLM", "navigation_type": "ViewContract"},
    "connection-webhook": {"name": "Reference CLM"},
    "import-list": {},
}
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"bad input webhook key").decode()
SIGNED_ONLY = {"connection-webhook"}  # answers 401 before it reads a body that is not signed


def write_endpoints() -> list[tuple[str, str]]:
    """(url name, method) of every write the API has, from its URL patterns."""
    found = []
    for pattern in api_urls.urlpatterns:
        view_class = getattr(pattern.callback, "view_class", None) if isinstance(pattern, URLPattern) else None
        if view_class is None:
            continue
        found.extend((pattern.name, method) for method in WRITE_METHODS if hasattr(view_class, method))
    return found


WRITES = write_endpoints()
BODY_WRITES = [(name, method) for name, method in WRITES if name not in SIGNED_ONLY]


def url_of(name: str) -> str:
    return reverse(f"api:{name}", kwargs=ADDRESSES[name])


@pytest.fixture
def world(legal_entity, vendor, usd, nda_type, scm_agreement, connection):
    factories.ContractFactory(legal_entity=legal_entity, contract_id="CON-1", contract_type=nda_type, connection=None)
    factories.LineFactory(agreement=scm_agreement, legal_entity=legal_entity, line_number=1)
    factories.NavigationLinkFactory(connection=connection, navigation_type="ViewContract")
    connection.webhook_secrets = WEBHOOK_SECRET
    connection.save()
    return connection


@pytest.fixture
def api(api_client_for, legal_entity, world):
    """The CLM's integration client, granted USMF and linked to the connection it manages."""
    return api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity], connection=world)


def send(api, name: str, method: str, body, content_type: str = "application/json", **extra):
    return api.generic(method.upper(), url_of(name), body, content_type=content_type, **extra)


def assert_refused(response, *statuses, unchanged: dict):
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    errors = response.json()["errors"]
    assert errors and all(set(error) == {"field", "message", "code"} for error in errors)
    assert row_counts() == unchanged, "a refused request wrote rows"
    return errors


def test_every_write_endpoint_of_the_api_has_an_address_here():
    assert {name for name, _ in WRITES} == set(ADDRESSES)


@pytest.mark.parametrize(("name", "method"), BODY_WRITES)
def test_a_body_over_the_request_limit_is_413_and_nothing_is_written(api, settings, name, method):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = settings.IMPORT_MAX_BODY_BYTES = 4096
    before = row_counts()
    body = json.dumps({"legal_entity": "USMF", "name": "x" * 5000})

    errors = assert_refused(send(api, name, method, body), 413, unchanged=before)

    assert errors[0]["code"] == "too_large" and "bytes" in errors[0]["message"]


def test_the_default_limit_holds_too(api):
    before = row_counts()
    body = json.dumps({"records": [{"legal_entity": "USMF", "contract_id": "C", "name": "x" * 3_000_000}]})

    assert_refused(send(api, "contract-bulk-upsert", "post", body), 413, unchanged=before)


@pytest.mark.parametrize(("name", "method"), BODY_WRITES)
def test_json_nested_ten_thousand_levels_deep_is_400(api, name, method):
    before = row_counts()
    body = "[" * 10_000 + "]" * 10_000

    errors = assert_refused(send(api, name, method, body), 400, unchanged=before)

    assert "nested" in errors[0]["message"] or "not valid JSON" in errors[0]["message"]


@pytest.mark.parametrize("depth", [65, 500])
def test_json_nested_deeper_than_any_body_of_the_api_is_400_naming_the_place(api, depth):
    before = row_counts()
    body = '{"legal_entity": "USMF", "contract_id": "C-DEEP", "name": ' + "[" * depth + "]" * depth + "}"

    errors = assert_refused(send(api, "contract-list", "post", body), 400, unchanged=before)

    assert errors[0]["message"].startswith("name.0.0") and "nested deeper than 64 levels" in errors[0]["message"]


@pytest.mark.parametrize(("name", "method"), BODY_WRITES)
def test_bytes_that_are_not_utf8_are_400(api, name, method):
    before = row_counts()
    body = b'{"legal_entity": "US\xff\xfeMF", "name": "\xc3\x28"}'

    errors = assert_refused(send(api, name, method, body), 400, unchanged=before)

    assert "not valid" in errors[0]["message"]


@pytest.mark.parametrize(("name", "method"), BODY_WRITES)
def test_another_media_type_is_415(api, name, method):
    before = row_counts()

    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"):
        assert_refused(send(api, name, method, '{"legal_entity": "USMF"}', content_type), 415, unchanged=before)


@pytest.mark.parametrize(("name", "method"), BODY_WRITES)
def test_an_empty_body_or_a_top_level_of_the_wrong_type_is_refused(api, name, method):
    before = row_counts()

    for body in ("", "[]", '"text"', "12", "null", "true", "1e999", "NaN", "{} {}"):
        response = send(api, name, method, body)
        if body == "" and method in ("put", "patch") and response.status_code == 200:
            assert row_counts() == before  # nothing sent, nothing changed
        elif name.startswith("validate-") and response.status_code == 422:
            assert response.json()["valid"] is False
        else:
            assert_refused(response, 400, 404, 422, unchanged=before)


def test_a_float_is_read_exactly_so_absurd_precision_is_refused_not_rounded(api):
    before = row_counts()
    body = '{"contract_type": "NDA", "name": "Exact", "value": 12.5000000000000001}'  # a float: 12.5

    errors = assert_refused(send(api, "contract-detail", "put", body), 422, unchanged=before)

    assert errors[0]["field"] == "value" and "decimal places" in errors[0]["message"]


# --- Values beyond any column ----------------------------------------------------------------

DATES = ["0000-01-01", "10000-01-01", "2026-02-30", "-2026-01-01", "99999-01-01"]
STAMPS = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "10000-01-01T00:00:00Z", "2026-01-01T25:00:00Z"]
DECIMALS = ["1e-1000", "1E+100000", "NaN", "Infinity", "-Infinity", "9" * 60, "0." + "0" * 59 + "1", "sNaN"]
RAW_DECIMALS = ["1e-1000", "1E+100000", "9" * 60, "1" + "0" * 400]
INTEGERS = [2**63, -(2**63) - 1, 2**64, 10**40]
CONTRACT = {"contract_type": "NDA", "name": "Out of range"}
LINE = {"commitment_type": CommitmentType.PRODUCT_VOLUME, "committed_amount": "10", "product": "I-1"}
WRITES_WITH_FIELDS = [
    # (url name, method, base body, date field, decimal field, whole-number field)
    ("contract-detail", "put", CONTRACT, "effective_date", "value", "notice_period_days"),
    ("contract-list", "post", {**CONTRACT, "legal_entity": "USMF", "contract_id": "CON-NEW"}, "notice_date", "value",
     "source_sequence"),
    ("agreement-list", "post", {"legal_entity": "USMF", "vendor": "V-1001"}, "default_effective_date", None, None),
    ("agreement-detail", "patch", {}, "default_expiration_date", None, None),
    ("line-list", "post", LINE, "effective_date", "committed_amount", None),
    ("line-detail", "patch", {}, "expiration_date", "price", None),
    ("line-create", "post", {**LINE, "legal_entity": "USMF", "agreement_id": "PA-SCM-1"}, "expiration_date",
     "maximum_release_amount", None),
]  # fmt: skip


def out_of_range_cases():
    for name, method, base, date_field, decimal_field, integer_field in WRITES_WITH_FIELDS:
        yield pytest.param(name, method, [{**base, date_field: value} for value in DATES], date_field,
                           id=f"{name}-{method}-dates")  # fmt: skip
        if decimal_field:
            bodies = [{**base, decimal_field: value} for value in DECIMALS]
            bodies += [json.dumps(base)[:-1] + (", " if base else "") + f'"{decimal_field}": {value}}}'
                       for value in RAW_DECIMALS]  # fmt: skip
            yield pytest.param(name, method, bodies, decimal_field, id=f"{name}-{method}-decimals")
        if integer_field:
            bodies = [{**base, integer_field: value} for value in INTEGERS]
            yield pytest.param(name, method, bodies, integer_field, id=f"{name}-{method}-integers")
    bodies = [{**CONTRACT, "source_modified_at": value} for value in STAMPS]
    yield pytest.param("contract-detail", "put", bodies, "source_modified_at", id="contract-detail-put-stamps")


@pytest.mark.parametrize(("name", "method", "bodies", "field"), list(out_of_range_cases()))
def test_a_value_beyond_any_column_is_refused_naming_its_field(api, name, method, bodies, field):
    factories.ProductFactory(item_number="I-1")
    before = row_counts()

    for body in bodies:
        payload = body if isinstance(body, str) else json.dumps(body)
        errors = assert_refused(send(api, name, method, payload), 400, 422, unchanged=before)
        assert field in {error["field"] for error in errors}, (payload[:200], errors)


# --- Unknown choices -----------------------------------------------------------------------------

CHOICES = [
    ("contract-detail", "put", {**CONTRACT, "status": "Bogus"}, "status", ContractStatus),
    ("contract-detail", "put", {**CONTRACT, "account_type": "Bogus"}, "account_type", AccountType),
    ("line-list", "post", {**LINE, "commitment_type": "Bogus"}, "commitment_type", CommitmentType),
    ("agreement-list", "post", {"legal_entity": "USMF", "vendor": "V-1001", "default_commitment_type": "Bogus"},
     "default_commitment_type", CommitmentType),
]  # fmt: skip


@pytest.mark.parametrize(("name", "method", "body", "field", "choices"), CHOICES, ids=[case[3] for case in CHOICES])
def test_an_unknown_choice_is_refused_naming_the_field_and_the_allowed_values(api, name, method, body, field, choices):
    factories.ProductFactory(item_number="I-1")
    before = row_counts()

    errors = assert_refused(send(api, name, method, json.dumps(body)), 400, 422, unchanged=before)

    [error] = [error for error in errors if error["field"] == field]
    assert "Bogus" in error["message"]
    assert all(value in error["message"] for value in choices.values)


def test_a_bulk_upsert_of_bad_records_writes_none_of_them(api):
    before = row_counts()
    bad = [("effective_date", "10000-01-01"), ("value", "1E+100000"), ("status", "Bogus"), ("source_sequence", 2**64)]
    records = [
        {"legal_entity": "USMF", "contract_id": f"C-{index}", **CONTRACT, field: value}
        for index, (field, value) in enumerate(bad)
    ]

    response = send(api, "contract-bulk-upsert", "post", json.dumps({"records": records}))

    assert response.status_code == 200
    assert response.json()["totals"]["failed"] == len(records)
    assert row_counts() == before


# --- The webhook and the import upload -----------------------------------------------------------


def signed(body: bytes, event_id: str = "evt-bad") -> dict:
    headers = webhooks.standard_webhook_sign(WEBHOOK_SECRET, event_id, body, timestamp=int(time.time()))
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


WEBHOOK_BODIES = [
    pytest.param(b"[" * 10_000 + b"]" * 10_000, 400, id="nested"),
    pytest.param(b'{"type": "x", "data": "\xff\xfe"}', 400, id="not-utf8"),
    pytest.param(b"", 400, id="empty"),
    pytest.param(b"[]", 400, id="a-list"),
    pytest.param(b'{"type": 12}', 400, id="type-not-text"),
    pytest.param(b'{"type": "x", "data": "\\u0000"}', 400, id="nul"),
    pytest.param(b'{"type": "x", "data": "\\ud800"}', 400, id="lone-surrogate"),
    pytest.param(b'{"type": "x", "data": 1e999}', 400, id="infinite-number"),
    pytest.param(b'{"type": "x", "data": NaN}', 400, id="nan"),
    pytest.param(b'{"type": "x", "data": {"contract": {"value": 1E+100000}}}', 400, id="number-beyond-float"),
]


@pytest.mark.parametrize(("body", "status"), WEBHOOK_BODIES)
def test_a_signed_webhook_with_a_bad_body_is_refused_before_it_is_stored(client, world, body, status):
    before = row_counts()
    url = url_of("connection-webhook")

    response = client.post(url, body, content_type="application/json", **signed(body))

    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["errors"][0]["message"]
        assert row_counts() == before


def test_a_webhook_header_no_database_stores_is_refused(client, world):
    before = row_counts()
    body = b'{"type": "x"}'
    headers = signed(body, event_id="evt-\x00")

    response = client.post(url_of("connection-webhook"), body, content_type="application/json", **headers)

    assert response.status_code == 400, response.content
    assert row_counts() == before


def test_an_oversized_webhook_is_413(client, world, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    body = json.dumps({"type": "x", "data": "y" * 2000}).encode()
    before = row_counts()

    response = client.post(url_of("connection-webhook"), body, content_type="application/json", **signed(body))

    assert response.status_code == 413
    assert row_counts() == before


IMPORT_BODIES = [
    b"[" * 10_000 + b"]" * 10_000,
    b'{"contracts": [{"legal_entity": "US\xff"}]}',
    b'{"contracts": [{"legal_entity": "USMF", "contract_id": "C\\u0000"}]}',
    b'{"contracts": [{"legal_entity": "USMF", "contract_id": "\\ud800"}]}',
    b'{"contracts": [{"legal_entity": "USMF", "contract_id": "C", "value": 1e999}]}',
    b'{"contracts": [{"legal_entity": "USMF", "contract_id": "C", "value": NaN}]}',
    b'{"contracts": "all of them"}',
]


@pytest.mark.parametrize("body", IMPORT_BODIES, ids=range(len(IMPORT_BODIES)))
def test_an_import_package_that_is_not_one_is_refused_before_a_job_is_made(api, body):
    before = row_counts()

    assert_refused(send(api, "import-list", "post", body), 400, unchanged=before)
