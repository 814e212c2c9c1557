"""The webhook intake takes any bytes, headers and JSON shapes (issue 9): each verifier gives an
event or ``WebhookRejected``, each connector's parser gives its records or its declared error,
and a correctly signed body of any shape is answered with a 2xx or 4xx and applied or dead-lettered
by the worker, never a crash.

Property tests with hypothesis; the budget is small in the suite and ``FUZZ_MAX_EXAMPLES``
(``make fuzz``) raises it. Bodies and records come from ``contracts.tests.strategies``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import event, given
from hypothesis import strategies as st

from connectors import webhooks
from connectors.base import ContractRecord, ContractReference, PermanentError, WebhookEvent, WebhookRejected
from connectors.builtin.docusign import AgreementInvalid
from connectors.builtin.generic_rest import ItemInvalid
from connectors.builtin.reference import ContractItemInvalid, ReferenceConnector, contract_record_from_item
from connectors.models import InboundEvent
from connectors.registry import connector_for
from contracts.choices import ContractFlowName, WorkStatus
from contracts.services.contracts import CONTRACT_INPUT_FIELDS
from contracts.tests import factories
from contracts.tests.strategies import json_values, odd_fields, property_settings, row_counts

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

FUZZED = int(os.environ.get("FUZZ_MAX_EXAMPLES", "0"))
EXAMPLES = max(FUZZED, 60)
SECRET = "whsec_" + base64.b64encode(b"property webhook key").decode()
CONNECT_KEY = "docusign connect hmac key"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
HANDLED_STATUSES = {200, 202, 400, 401, 413, 415, 422}

# A WSGI server hands headers over as latin-1 text, so that is all a verifier ever sees.
header_values = st.text(st.characters(max_codepoint=0xFF), max_size=40) | st.sampled_from(
    ("", " ", "\x00", "v1,", "v1,AAAA", "v1,=== v2,x", "1e9", "-1", "9" * 20)
)
headers = st.dictionaries(st.sampled_from((*SIGNATURE_HEADERS, "X-DocuSign-Signature-1", "x-other")), header_values)
json_objects = st.dictionaries(st.sampled_from(("type", "data", "event")) | st.text(max_size=8), json_values)
bodies = st.binary(max_size=200) | (json_values | json_objects).map(lambda value: json.dumps(value).encode())
# What a contract event may carry: the reference protocol's shape, with any fields and values.
VALID_ITEM = {"legal_entity": "USMF", "contract_id": "CT-P", "contract_type": "NDA", "name": "Webhook NDA"}
contract_items = json_values | odd_fields(("legal_entity", "contract_id", *CONTRACT_INPUT_FIELDS)).map(
    lambda fields: {**VALID_ITEM, **fields}
)
contract_events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(("contract.updated", "contract.created")) | json_values,
        "data": st.fixed_dictionaries({"contract": contract_items}),
    }
)
# Twice the contract events, so that half the bodies reach the worker's rules, not only the parser.
payloads = contract_events | contract_events | st.dictionaries(st.sampled_from(("type", "data", "event")), json_values)


def sign(body: bytes, event_id: str) -> dict[str, str]:
    return webhooks.standard_webhook_sign(SECRET, event_id, body, timestamp=int(time.time()))


@pytest.fixture
def world(legal_entity):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies")
    factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)
    factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)
    return legal_entity


@pytest.fixture
def reference_connection(world):
    return factories.ConnectionFactory(name="Reference CLM", connector="reference", webhook_secrets=SECRET)


@pytest.fixture
def docusign(world):
    connection = factories.ConnectionFactory(
        name="DocuSign",
        connector="docusign_navigator",
        base_url="https://navigator.example.com",
        credentials="token",
        webhook_secrets=CONNECT_KEY,
        settings={"account_id": "acc-1", "legal_entity": "USMF", "connect_enabled": True},
    )
    return connector_for(connection)


@pytest.fixture
def generic_rest(world):
    connection = factories.ConnectionFactory(
        name="REST",
        connector="generic_rest",
        base_url="https://rest.example.com",
        settings={
            "endpoint": "/agreements",
            "paging": "none",
            "legal_entity": "USMF",
            "fields": {"contract_id": "ref", "name": "title", "value": "amount", "effective_date": "dates.start",
                       "contract_type": "kind", "status": "state", "source_modified_at": "updated_at"},
            "fetch_endpoint": "/agreements/{external_id}",
            "webhook_id_path": "data.ids[*]",
        },
    )  # fmt: skip
    return connector_for(connection)


# --- Verifying ---------------------------------------------------------------------------------


@property_settings(EXAMPLES)
@given(headers=headers, body=bodies, secrets=st.lists(st.text(max_size=20) | st.just(SECRET), max_size=2))
def test_standard_webhooks_verification_gives_an_event_or_a_rejection(headers, body, secrets):
    try:
        verified = webhooks.standard_webhook_verify(secrets=secrets, headers=headers, body=body)
    except WebhookRejected as rejected:
        event(f"rejected {rejected.status}")
        assert rejected.status in (400, 401) and str(rejected)
    else:
        assert isinstance(verified, WebhookEvent)


@property_settings(EXAMPLES)
@given(body=bodies, event_id=st.text(min_size=1, max_size=30).filter(str.strip))
def test_a_correctly_signed_body_of_any_shape_is_an_event_or_a_400(body, event_id):
    signed = sign(body, event_id.strip())

    try:
        verified = webhooks.standard_webhook_verify(secrets=[SECRET], headers=signed, body=body)
    except WebhookRejected as rejected:
        event("rejected")
        assert rejected.status == 400, str(rejected)
    else:
        event("verified")
        assert isinstance(verified.payload, dict)


@property_settings(EXAMPLES)
@given(headers=headers, body=bodies, signed=st.booleans())
def test_docusign_connect_verification_gives_an_event_or_a_rejection(docusign, headers, body, signed):
    if signed:
        digest = hmac.digest(CONNECT_KEY.encode(), body, hashlib.sha256)
        headers = {**headers, "X-DocuSign-Signature-1": base64.b64encode(digest).decode()}
    try:
        verified = docusign.verify_webhook(headers=headers, body=body)
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401) and str(rejected)
    else:
        assert isinstance(verified, WebhookEvent) and verified.event_id.startswith("connect-")


# --- Parsing -------------------------------------------------------------------------------------


@property_settings(EXAMPLES)
@given(item=contract_items)
def test_the_reference_protocol_maps_any_item_to_a_record_or_says_why_not(item):
    try:
        record = contract_record_from_item(item)
    except ContractItemInvalid as invalid:
        assert str(invalid)
    else:
        assert isinstance(record, ContractRecord) and record.contract_id


@property_settings(EXAMPLES)
@given(payload=payloads)
def test_the_reference_connector_reads_any_payload_as_changes_or_a_permanent_error(reference_connection, payload):
    assert_changes_or_permanent_error(connector_for(reference_connection), payload)


@property_settings(EXAMPLES)
@given(item=json_values | odd_fields(("id", "title", "type", "status", "provisions", "parties", "metadata")))
def test_docusign_maps_any_agreement_to_a_record_or_lists_its_problems(docusign, item):
    assert_record_or_problems(docusign.mapper, item, AgreementInvalid)


@property_settings(EXAMPLES)
@given(payload=payloads, answer=json_values)
def test_docusign_reads_any_connect_message_as_changes_or_a_permanent_error(docusign, payload, answer, monkeypatch):
    monkeypatch.setattr(type(docusign), "_get", lambda self, path, params=None: answer)  # Navigator's answer
    assert_changes_or_permanent_error(docusign, payload)


@property_settings(EXAMPLES)
@given(item=json_values | odd_fields(("ref", "title", "amount", "dates", "kind", "state", "updated_at")))
def test_generic_rest_maps_any_item_to_a_record_or_lists_its_problems(generic_rest, item):
    assert_record_or_problems(generic_rest.mapper, item, ItemInvalid)


@property_settings(EXAMPLES)
@given(payload=payloads | st.fixed_dictionaries({"data": st.fixed_dictionaries({"ids": json_values})}))
def test_generic_rest_reads_any_webhook_as_changes_or_a_permanent_error(generic_rest, payload):
    assert_changes_or_permanent_error(generic_rest, payload)


def assert_record_or_problems(mapper, item, invalid_error: type[ValueError]):
    try:
        record = mapper.record(item)
    except invalid_error as invalid:
        assert invalid.problems
    else:
        assert isinstance(record, ContractRecord)


def assert_changes_or_permanent_error(connector, payload):
    try:
        changes = connector.webhook_changes(WebhookEvent("evt-p", "contract.updated", payload))
    except PermanentError as error:
        assert str(error)
    else:
        assert all(isinstance(change, (ContractRecord, ContractReference)) for change in changes)


# --- Over HTTP, then in the worker -----------------------------------------------------------------


@property_settings(max(FUZZED // 2, 40))
@given(payload=payloads)
def test_a_signed_webhook_of_any_shape_is_answered_and_then_applied_or_dead_lettered(
    client, reference_connection, payload, monkeypatch
):
    monkeypatch.setattr(webhooks, "apply_inbound_event_task", _NoWorker())
    monkeypatch.setattr(ReferenceConnector, "fetch", _not_found)
    body = json.dumps(payload).encode()
    url = reverse("api:connection-webhook", args=[reference_connection.name])

    with transaction.atomic():
        before = row_counts()
        response = client.post(url, body, content_type="application/json", headers=sign(body, "evt-any"))
        event(f"HTTP {response.status_code}")
        assert response.status_code in HANDLED_STATUSES, response.content
        if response.status_code >= 400:
            assert response.json()["errors"][0]["message"]
            assert row_counts() == before
        else:
            stored = InboundEvent.objects.get(event_id="evt-any")
            webhooks.inbound_event_apply(event_id=stored.pk)
            stored.refresh_from_db()
            event(f"applied: {stored.status}")
            # Nothing here is transient, so an event left to retry means applying it crashed.
            assert stored.status in (WorkStatus.DONE, WorkStatus.DEAD), stored.last_error
        transaction.set_rollback(True)


def _not_found(self, external_id):
    raise PermanentError(f"the CLM has no contract {external_id}.")


class _NoWorker:
    """The apply task's messages are dropped: the test applies the event itself, in its transaction."""

    def delay(self, *args):
        pass

    def apply_async(self, *args, **kwargs):
        pass
