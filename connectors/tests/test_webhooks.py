"""Inbound webhooks (SPEC §9): signed with Standard Webhooks, stored under their id before
the 2xx, applied by a worker; a repeat changes nothing and a bad event never blocks others."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from connectors import webhooks
from connectors.base import ContractRecord, PermanentError, TransientError, WebhookRejected
from connectors.models import DeadLetter, InboundEvent
from connectors.tasks import apply_inbound_event_task
from connectors.tests.fakes import FakeConnector
from connectors.webhooks import inbound_event_apply, inbound_events_redrive, standard_webhook_verify
from contracts.choices import ContractFlowName, ContractStatus, DeadLetterKind, WorkStatus
from contracts.models import Contract, ContractStatusChange
from contracts.tests import factories

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"the current webhook key").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"the previous webhook key").decode()


def signed_headers(body: bytes, *, secret: str = SECRET, event_id: str = "evt-1", sent_at: float | None = None):
    timestamp = str(int(time.time() if sent_at is None else sent_at))
    key = webhooks.webhook_secret_key(secret)
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return {"webhook-id": event_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}"}


def contract_event(contract_id: str = "NDA-1", **data) -> bytes:
    contract = {"legal_entity": "USMF", "contract_id": contract_id, "contract_type": "NDA", "name": "Mutual NDA"}
    payload = {"type": "contract.updated", "data": {"contract": {**contract, **data}}}
    return json.dumps(payload).encode()


class Nudges(list):
    """Stands in for the apply task's messages: records them instead of sending."""

    def delay(self, event_id):
        self.append((event_id, 0))

    def apply_async(self, args, countdown=0):
        self.append((args[0], countdown))

    def run(self):
        """What a worker does with them: runs the real task for each."""
        while self:
            apply_inbound_event_task.apply(args=(self.pop(0)[0],))


@pytest.fixture
def nudges(monkeypatch):
    sent = Nudges()
    monkeypatch.setattr(webhooks, "apply_inbound_event_task", sent)
    return sent


@pytest.fixture
def connection(db, legal_entity, fake_clm):
    factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)
    return factories.ConnectionFactory(name="Fake CLM", connector="fake", webhook_secrets=SECRET)


@pytest.fixture
def deliver(client, connection, nudges, django_capture_on_commit_callbacks):
    """POSTs raw bytes to the connection's webhook URL, committing as a real request does."""

    def deliver(body: bytes, headers: dict | None = None, *, name: str = "Fake CLM"):
        url = reverse("api:connection-webhook", args=[name])
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type="application/json", headers=headers or {})

    return deliver


@pytest.fixture
def fast_retries(settings):
    settings.CONNECTOR_MAX_ATTEMPTS = 3
    settings.CONNECTOR_BACKOFF_BASE = 1.0
    settings.CONNECTOR_BACKOFF_CAP = 10.0


def make_due(event: InboundEvent) -> None:
    InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())


def error_of(response) -> dict:
    [error] = response.json()["errors"]
    return error


# --- Receiving ------------------------------------------------------------------------------


def test_signed_event_is_accepted_then_its_contract_appears_once_the_worker_runs(deliver, nudges):
    body = contract_event(status=ContractStatus.DRAFT)

    response = deliver(body, signed_headers(body))

    event = InboundEvent.objects.get()
    assert response.status_code == 202
    assert response.json() == {"id": event.pk, "status": "accepted"}
    assert (event.event_id, event.event_type, event.status) == ("evt-1", "contract.updated", WorkStatus.PENDING)
    assert not Contract.objects.exists()

    nudges.run()

    event.refresh_from_db()
    contract = Contract.objects.get(contract_id="NDA-1")
    assert (event.status, event.outcome) == (WorkStatus.DONE, "USMF/NDA-1: created")
    assert contract.connection.name == "Fake CLM"
    assert contract.changed_by == "connector:fake"


def test_a_signature_with_the_previous_secret_passes_while_both_are_configured(deliver, connection):
    connection.webhook_secrets = f"{SECRET}\n{OLD_SECRET}"
    connection.save()
    body = contract_event()

    response = deliver(body, signed_headers(body, secret=OLD_SECRET))

    assert response.status_code == 202


def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(deliver):
    body = contract_event()
    headers = signed_headers(body, secret="whsec_" + base64.b64encode(b"someone else's key").decode())

    response = deliver(body, headers)

    assert response.status_code == 401
    assert error_of(response) == {
        "field": None,
        "message": "the webhook-signature matches none of the connection's secrets.",
        "code": "authentication_failed",
    }
    assert not InboundEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(deliver):
    headers = signed_headers(contract_event(name="Signed name"))

    response = deliver(contract_event(name="Changed name"), headers)

    assert response.status_code == 401


@pytest.mark.parametrize("skew", [-301, 301], ids=["stale", "future"])
def test_a_timestamp_outside_the_tolerance_is_refused_as_a_possible_replay(deliver, skew):
    body = contract_event()

    response = deliver(body, signed_headers(body, sent_at=time.time() + skew))

    assert response.status_code == 401
    assert "possible replay" in error_of(response)["message"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_signature_header_is_refused(deliver, header):
    body = contract_event()
    headers = signed_headers(body)
    del headers[header]

    response = deliver(body, headers)

    assert response.status_code == 401
    assert error_of(response)["message"] == f"the header(s) {header} are missing."


def test_a_connection_without_secrets_refuses_every_webhook_saying_none_is_configured(deliver, connection):
    connection.webhook_secrets = ""
    connection.save()
    body = contract_event()

    response = deliver(body, signed_headers(body))

    assert response.status_code == 401
    assert "no webhook secret is configured" in error_of(response)["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"type": "contract.updated", ', "the body is not valid JSON"),
        (b'["a list"]', "the body must be a JSON object."),
        (b'{"name": "\xff"}', "the body is not valid UTF-8."),
        (b'{"value": NaN}', "the body is not valid JSON: NaN is not a JSON number"),
        (b'{"value": 1e999}', "the body is not valid JSON: 1e999 is too large a number"),
        (b'{"name": "a\\u0000b"}', "the body contains a NUL character"),
        (b'{"type": 7}', 'the event\'s "type" must be a string.'),
    ],
    ids=["malformed", "not-an-object", "not-utf8", "nan", "infinite", "nul", "type-not-text"],
)
def test_a_signed_body_that_is_not_a_storable_json_object_is_refused_with_400(deliver, body, message):
    response = deliver(body, signed_headers(body))

    assert response.status_code == 400
    assert error_of(response)["message"].startswith(message)
    assert not InboundEvent.objects.exists()


def test_an_oversized_body_is_refused_with_413_before_anything_is_checked(deliver, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    body = contract_event(name="x" * 100)

    response = deliver(body, signed_headers(body))

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert not InboundEvent.objects.exists()


def test_a_body_within_the_webhook_limit_is_accepted_above_djangos_upload_limit(deliver, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = contract_event(name="x" * 200)

    response = deliver(body, signed_headers(body))

    assert response.status_code == 202


def test_a_repeated_event_id_is_answered_duplicate_and_applied_once(deliver, nudges):
    body = contract_event(status=ContractStatus.DRAFT)

    first = deliver(body, signed_headers(body))
    nudges.run()
    repeat = deliver(body, signed_headers(body))
    nudges.run()

    event = InboundEvent.objects.get()
    assert (first.status_code, repeat.status_code) == (202, 200)
    assert repeat.json() == {"id": event.pk, "status": "duplicate"}
    assert ContractStatusChange.objects.filter(contract__contract_id="NDA-1").count() == 1


def test_a_repeated_event_id_with_another_body_changes_nothing(deliver, nudges):
    first = contract_event(name="First")
    deliver(first, signed_headers(first))
    other = contract_event(name="Other")

    response = deliver(other, signed_headers(other))

    assert response.status_code == 200
    assert nudges == [(InboundEvent.objects.get().pk, 0)]
    assert InboundEvent.objects.get().payload == json.loads(first)


@pytest.mark.parametrize("enabled, name", [(False, "Fake CLM"), (True, "No such CLM")], ids=["disabled", "unknown"])
def test_a_disabled_or_unknown_connection_is_not_found(deliver, connection, enabled, name):
    connection.enabled = enabled
    connection.save()
    body = contract_event()

    response = deliver(body, signed_headers(body), name=name)

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


def test_the_webhook_endpoint_is_in_the_api_schema_without_api_key_auth():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    operation = schema["paths"]["/api/v1/connections/{name}/webhook/"]["post"]
    headers = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert {"200", "202", "400", "401", "404", "413"} <= set(operation["responses"])
    assert "security" not in operation


# --- Secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret, key",
    [
        (SECRET, b"the current webhook key"),
        (base64.b64encode(b"a key without prefix").decode(), b"a key without prefix"),
        ("typed-by-hand: not base64!", b"typed-by-hand: not base64!"),
    ],
    ids=["whsec", "base64", "raw-text"],
)
def test_a_secret_is_read_as_whsec_base64_or_else_as_its_text(secret, key):
    body = b'{"type": "ping"}'
    headers = signed_headers(body, secret=secret)

    event = standard_webhook_verify(secrets=[secret], headers=headers, body=body)

    assert webhooks.webhook_secret_key(secret) == key
    assert (event.event_id, event.event_type) == ("evt-1", "ping")


def test_any_of_several_signatures_may_match():
    body = b'{"type": "ping"}'
    headers = signed_headers(body)
    headers["webhook-signature"] = f"v1,bm90IGl0 v2,whatever {headers['webhook-signature']}"

    assert standard_webhook_verify(secrets=[SECRET], headers=headers, body=body).event_type == "ping"


def test_an_unversioned_signature_does_not_count():
    body = b'{"type": "ping"}'
    headers = signed_headers(body)
    headers["webhook-signature"] = headers["webhook-signature"].removeprefix("v1,")

    with pytest.raises(WebhookRejected) as rejected:
        standard_webhook_verify(secrets=[SECRET], headers=headers, body=body)
    assert rejected.value.status == 401


# --- Applying -------------------------------------------------------------------------------


def test_an_event_naming_only_a_contract_is_fetched_through_the_connector(deliver, nudges, fake_clm):
    fake_clm.put(
        ContractRecord("USMF", "NDA-7", {"external_contract_id": "clm-7", "contract_type": "NDA", "name": "X"})
    )
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "clm-7"}}).encode()

    deliver(body, signed_headers(body))
    nudges.run()

    assert fake_clm.calls == ["fetch"]
    assert Contract.objects.get(contract_id="NDA-7").external_contract_id == "clm-7"
    assert InboundEvent.objects.get().outcome == "USMF/NDA-7: created"


def test_a_transient_failure_is_retried_with_backoff_then_dead_lettered(
    deliver, nudges, fake_clm, fast_retries, django_capture_on_commit_callbacks
):
    fake_clm.faults.extend(TransientError(f"timeout {n}") for n in (1, 2, 3))
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "clm-1"}}).encode()
    deliver(body, signed_headers(body))
    event = InboundEvent.objects.get()
    nudges.clear()

    with django_capture_on_commit_callbacks(execute=True):
        inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (WorkStatus.PENDING, 1, "timeout 1")
    assert timezone.now() + timedelta(seconds=0.4) < event.next_attempt_at < timezone.now() + timedelta(seconds=1.1)
    assert nudges == [(event.pk, pytest.approx((event.next_attempt_at - timezone.now()).total_seconds(), abs=0.5))]

    inbound_event_apply(event_id=event.pk)  # a nudge before it is due does nothing
    assert fake_clm.calls == ["fetch"]

    for _second_and_third in range(2):
        make_due(event)
        inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    letter = DeadLetter.objects.get()
    assert (event.status, event.attempts) == (WorkStatus.DEAD, 3)
    assert (letter.kind, letter.object_id, letter.connection, letter.attempts) == (
        DeadLetterKind.INBOUND_EVENT,
        event.pk,
        event.connection,
        3,
    )
    assert letter.error == "gave up after 3 attempts: timeout 3"


def test_the_clms_retry_after_is_honoured(deliver, fake_clm, fast_retries):
    fake_clm.faults.append(TransientError("429 Too Many Requests", retry_after=120))
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "clm-1"}}).encode()
    deliver(body, signed_headers(body))

    inbound_event_apply(event_id=InboundEvent.objects.get().pk)

    assert InboundEvent.objects.get().next_attempt_at > timezone.now() + timedelta(seconds=119)


def test_a_permanent_error_goes_to_the_dead_letters_at_once(deliver, nudges, fake_clm):
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "clm-gone"}}).encode()

    deliver(body, signed_headers(body))
    nudges.run()

    event = InboundEvent.objects.get()
    assert (event.status, event.attempts) == (WorkStatus.DEAD, 1)
    assert DeadLetter.objects.get().error == "The fake CLM has no contract clm-gone."


def test_a_record_breaking_the_rules_is_dead_lettered_with_every_problem_and_the_next_event_applies(deliver, nudges):
    bad = contract_event("NDA-BAD", contract_type="No such type", name="")
    good = contract_event("NDA-GOOD")

    deliver(bad, signed_headers(bad, event_id="evt-bad"))
    deliver(good, signed_headers(good, event_id="evt-good"))
    nudges.run()

    dead, done = InboundEvent.objects.get(event_id="evt-bad"), InboundEvent.objects.get(event_id="evt-good")
    letter = DeadLetter.objects.get()
    assert (dead.status, done.status) == (WorkStatus.DEAD, WorkStatus.DONE)
    assert letter.error.startswith("USMF/NDA-BAD was not applied: ")
    assert "contract_type: " in letter.error and "name: is required for a new contract." in letter.error
    assert letter.summary == "Webhook contract.updated evt-bad from Fake CLM"
    assert list(Contract.objects.values_list("contract_id", flat=True)) == ["NDA-GOOD"]


def test_an_event_carrying_a_bad_record_applies_none_of_its_records(connection, nudges, monkeypatch):
    good = ContractRecord("USMF", "NDA-1", {"contract_type": "NDA", "name": "Fine"})
    bad = ContractRecord("USMF", "NDA-2", {"contract_type": "NDA"})
    monkeypatch.setattr(FakeConnector, "webhook_changes", lambda self, event: [good, bad])
    event = InboundEvent.objects.create(connection=connection, event_id="evt-2", payload={})

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == WorkStatus.DEAD
    assert not Contract.objects.exists()


def test_an_unexpected_error_is_retried_rather_than_lost(connection, nudges, monkeypatch, fast_retries):
    def broken(self, event):
        raise KeyError("data")

    monkeypatch.setattr(FakeConnector, "webhook_changes", broken)
    event = InboundEvent.objects.create(connection=connection, event_id="evt-3", payload={})

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (WorkStatus.PENDING, 1, "'data'")


def test_a_nudge_racing_another_for_the_same_event_applies_nothing_twice(deliver, nudges, fake_clm, monkeypatch):
    fake_clm.put(
        ContractRecord("USMF", "NDA-7", {"external_contract_id": "clm-7", "contract_type": "NDA", "name": "X"})
    )
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "clm-7"}}).encode()
    deliver(body, signed_headers(body))
    event = InboundEvent.objects.get()
    fetch = FakeConnector.fetch

    def fetch_while_another_worker_applies_it(self, external_id):
        monkeypatch.setattr(FakeConnector, "fetch", fetch)
        inbound_event_apply(event_id=event.pk)  # the other worker, done before this one goes on
        return fetch(self, external_id)

    monkeypatch.setattr(FakeConnector, "fetch", fetch_while_another_worker_applies_it)

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.attempts, event.outcome) == (WorkStatus.DONE, 0, "USMF/NDA-7: created")
    assert ContractStatusChange.objects.count() == 1


def test_a_failure_after_another_worker_applied_the_event_leaves_it_done(connection, nudges, monkeypatch):
    event = InboundEvent.objects.create(connection=connection, event_id="evt-4", payload={})

    def applied_elsewhere_then_failing(self, stored_event):
        InboundEvent.objects.filter(pk=event.pk).update(status=WorkStatus.DONE)
        raise PermanentError("too late to matter")

    monkeypatch.setattr(FakeConnector, "webhook_changes", applied_elsewhere_then_failing)

    inbound_event_apply(event_id=event.pk)

    assert InboundEvent.objects.get().status == WorkStatus.DONE
    assert not DeadLetter.objects.exists()


# --- Sweeping -------------------------------------------------------------------------------


def test_the_sweeper_nudges_pending_events_that_are_due_and_no_others(connection, nudges):
    due = InboundEvent.objects.create(connection=connection, event_id="due", payload={})
    InboundEvent.objects.create(
        connection=connection, event_id="later", payload={}, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    InboundEvent.objects.create(connection=connection, event_id="done", payload={}, status=WorkStatus.DONE)
    InboundEvent.objects.create(connection=connection, event_id="dead", payload={}, status=WorkStatus.DEAD)

    assert inbound_events_redrive() == 1
    assert nudges == [(due.pk, 0)]


# --- Admin ----------------------------------------------------------------------------------


def test_the_admin_lists_events_searchable_by_event_id(admin_client, connection):
    InboundEvent.objects.create(
        connection=connection, event_id="evt-find-me", event_type="contract.updated", payload={}
    )
    InboundEvent.objects.create(connection=connection, event_id="evt-other", payload={})
    url = reverse("admin:connectors_inboundevent_changelist")

    listing = admin_client.get(url, {"q": "find-me", "status__exact": WorkStatus.PENDING})

    assert listing.status_code == 200
    assert b"evt-find-me" in listing.content and b"evt-other" not in listing.content
    assert admin_client.get(reverse("admin:connectors_inboundevent_add")).status_code == 403
