"""The reference connector against a fake reference CLM over real HTTP (docs/connectors.md):
paging, the CLM's failures mapped to retry or give up, pushes, the handshake and webhooks."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from connectors.base import ContractRecord, ContractReference, PermanentError, TransientError, WebhookEvent
from connectors.handshake import connection_check
from connectors.http import retry_after_seconds
from connectors.models import SyncError, SyncRun
from connectors.pull import pull_run_advance, pull_start
from connectors.registry import connector_for
from contracts.choices import ConnectionStatus, SyncRunStatus
from contracts.models import Contract
from contracts.services import Actor
from contracts.tests import factories

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")


@pytest.fixture
def connection(legal_entity, clm_server):
    factories.ContractTypeFactory(name="NDA", flow="lightweight")
    return factories.ConnectionFactory(
        name="Reference CLM",
        connector="reference",
        base_url=clm_server.url,
        credentials=clm_server.token,
        settings={"page_size": 100},
    )


@pytest.fixture
def connector(connection):
    return connector_for(connection)


def contract_json(number: int, **fields) -> dict:
    return {
        "legal_entity": "USMF",
        "contract_id": f"CT-{number:05d}",
        "external_contract_id": f"ext-{number}",
        "name": f"NDA {number}",
        "contract_type": "NDA",
        "status": "Draft",
        "clm_url": f"https://clm.example.com/c/{number}",  # the CLM's own key: not a contract field
        **fields,
    }


def put_contracts(clm_server, count: int) -> None:
    for number in range(1, count + 1):
        clm_server.put(contract_json(number))


def advance(run: SyncRun) -> None:
    """What a worker does with a nudge, not handing on to a fresh task however slow the machine."""
    pull_run_advance(run_id=run.pk, slice_seconds=None)


def pull_to_end(connection, *, full: bool = False) -> SyncRun:
    run = pull_start(connection_id=connection.pk, full=full, actor=OPERATOR, enqueue=False)
    advance(run)
    return SyncRun.objects.get(pk=run.pk)


# --- Pulling ----------------------------------------------------------------------------------


def test_pull_pages_through_the_clm_with_its_continuation_tokens(connection, clm_server):
    put_contracts(clm_server, 250)

    run = pull_to_end(connection)

    assert (run.status, run.created, run.pages, run.total) == (SyncRunStatus.SUCCEEDED, 250, 3, 250)
    asked = [request["query"] for request in clm_server.requests_to("/api/contracts/")]
    assert asked == [{"limit": "100"}, {"limit": "100", "ctoken": "page-100"}, {"limit": "100", "ctoken": "page-200"}]
    connection.refresh_from_db()
    assert connection.sync_watermark == "250"
    assert Contract.objects.count() == 250


def test_incremental_pull_asks_only_for_changes_since_the_watermark(connection, clm_server):
    put_contracts(clm_server, 20)
    pull_to_end(connection)
    clm_server.put(contract_json(7, status="Executed"))

    run = pull_to_end(connection)

    assert clm_server.requests_to("/api/contracts/")[-1]["query"] == {"limit": "100", "modified_since": "20"}
    assert (run.processed, run.updated) == (1, 1)
    assert Contract.objects.get(contract_id="CT-00007").status == "Executed"


def test_full_resync_asks_for_everything(connection, clm_server):
    put_contracts(clm_server, 20)
    pull_to_end(connection)

    run = pull_to_end(connection, full=True)

    assert clm_server.requests_to("/api/contracts/")[-1]["query"] == {"limit": "100"}
    assert run.unchanged == 20


def test_contract_without_its_keys_is_a_record_error_and_the_rest_are_applied(connection, clm_server):
    put_contracts(clm_server, 3)
    clm_server.put({**contract_json(4), "contract_id": ""})

    run = pull_to_end(connection)

    assert (run.status, run.created, run.failed) == (SyncRunStatus.COMPLETED_WITH_ERRORS, 3, 1)
    error = SyncError.objects.get(run=run)
    assert (error.record_key, error.message) == ("USMF", "The contract has no contract_id.")
    assert error.record["external_contract_id"] == "ext-4"


def test_repeated_continuation_token_stops_the_run(connection, clm_server):
    put_contracts(clm_server, 250)
    clm_server.delay(0)  # the first page is served as usual
    clm_server.repeat_token()

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert run.message == 'The CLM repeated continuation token "page-100"; stopped so as not to loop.'
    connection.refresh_from_db()
    assert connection.sync_watermark == ""


# --- The CLM's failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "error_class", "says"),
    [
        (lambda server: server.error(500), TransientError, "with HTTP 500"),
        (lambda server: server.error(503, retry_after="7"), TransientError, "with HTTP 503"),
        (lambda server: server.error(429, retry_after="30"), TransientError, "with HTTP 429"),
        (lambda server: server.timeout(1.0), TransientError, "did not answer GET"),
        (lambda server: server.garbage(), TransientError, "something that is not JSON: <html>"),
        (lambda server: server.garbage("[1, 2]"), PermanentError, "is not a JSON object but a list"),
        (lambda server: server.garbage('{"items": 5}'), PermanentError, 'has "items" as a number'),
        (lambda server: server.garbage('{"items": [], "watermark": "1"}'), PermanentError, 'has no "next_ctoken"'),
        (lambda server: server.error(404), PermanentError, "refused GET"),
    ],
    ids=["500", "503", "429", "timeout", "html", "list", "items", "no-token", "404"],
)
def test_failures_are_mapped_to_retry_or_give_up(connector, clm_server, settings, script, error_class, says):
    settings.CONNECTOR_HTTP_TIMEOUT = 0.2
    script(clm_server)

    with pytest.raises(error_class) as raised:
        connector.pull(since="", token="", full=False)

    assert type(raised.value) is error_class
    assert says in str(raised.value)


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    in_a_minute = timezone.now() + timedelta(seconds=60)

    assert retry_after_seconds("120") == 120
    assert 55 <= retry_after_seconds(format_datetime(in_a_minute, usegmt=True)) <= 60
    assert retry_after_seconds("yesterday-ish") is None
    assert retry_after_seconds(None) is None


def test_429_retry_after_decides_when_the_run_tries_again(connection, clm_server):
    put_contracts(clm_server, 5)
    clm_server.error(429, retry_after="120")

    run = pull_to_end(connection)

    assert (run.status, run.attempts) == (SyncRunStatus.RUNNING, 1)
    assert run.next_attempt_at >= timezone.now() + timedelta(seconds=119)
    assert "HTTP 429" in run.message


def test_timed_out_page_is_retried_and_the_run_completes(connection, clm_server, settings):
    settings.CONNECTOR_HTTP_TIMEOUT = 0.2
    put_contracts(clm_server, 5)
    clm_server.timeout(1.0)

    run = pull_to_end(connection)
    assert (run.attempts, run.pages) == (1, 0) and "did not answer" in run.message
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    advance(run)

    run.refresh_from_db()
    assert (run.status, run.created) == (SyncRunStatus.SUCCEEDED, 5)


def test_credentials_never_appear_in_errors_or_logs(connection, clm_server, caplog):
    caplog.set_level(logging.DEBUG)
    clm_server.error(400, body=f"Bad request from Bearer {clm_server.token}")

    with pytest.raises(PermanentError) as raised:
        connector_for(connection).pull(since="", token="", full=False)

    assert "Bearer ***" in str(raised.value)
    assert clm_server.token not in str(raised.value)
    assert clm_server.token not in caplog.text


def test_wrong_credentials_are_refused_for_good(connection, clm_server):
    connection.credentials = "not-the-token"
    connection.save()

    with pytest.raises(PermanentError, match="refused GET .* with HTTP 401"):
        connector_for(connection).pull(since="", token="", full=False)


# --- One contract, pushes, handshake, webhooks ------------------------------------------------


def test_fetch_reads_one_contract(connector, clm_server):
    put_contracts(clm_server, 3)

    record = connector.fetch("ext-2")

    assert (record.key, record.data["name"]) == ("USMF/CT-00002", "NDA 2")
    assert "clm_url" not in record.data
    with pytest.raises(PermanentError, match="HTTP 404"):
        connector.fetch("ext-404")


def test_push_posts_the_master_data_change_once_per_message(connector, clm_server):
    message = SimpleNamespace(
        pk=41,
        entity="vendor",
        legal_entity_code="USMF",
        natural_key="V-1001",
        operation="update",
        payload={"account_number": "V-1001", "name": "Fabrikam"},
    )

    connector.push(message)

    assert clm_server.pushes == [
        {
            "body": {
                "entity": "vendor",
                "legal_entity": "USMF",
                "key": "V-1001",
                "operation": "update",
                "record": {"account_number": "V-1001", "name": "Fabrikam"},
            },
            "idempotency_key": "clmsite-outbox-41",
        }
    ]


def test_push_that_the_clm_cannot_take_now_is_retried(connector, clm_server):
    clm_server.error(502)

    with pytest.raises(TransientError):
        connector.push(
            SimpleNamespace(
                pk=1, entity="vendor", legal_entity_code="", natural_key="V", operation="delete", payload={}
            )
        )


def test_handshake_with_a_configured_clm_is_ready(connection, clm_server):
    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.READY
    assert checked.status_message == "Configured for clmsite."


def test_handshake_with_an_unconfigured_clm_shows_configuration_failed(connection, clm_server):
    clm_server.configured, clm_server.status_message = False, "No legal entity mapped."

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert (checked.status, checked.status_message) == (
        ConnectionStatus.CONFIGURATION_FAILED,
        "No legal entity mapped.",
    )


def test_handshake_with_a_clm_that_is_down_shows_establishment_failed(connection, clm_server):
    clm_server.stop()

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.ESTABLISHMENT_FAILED
    assert checked.status_message.startswith('CLM "Reference CLM" could not be reached')


def test_webhook_with_the_contract_gives_its_record(connector):
    event = WebhookEvent(
        "evt-1", "contract.updated", {"type": "contract.updated", "data": {"contract": contract_json(5)}}
    )

    [record] = connector.webhook_changes(event)

    assert isinstance(record, ContractRecord) and record.key == "USMF/CT-00005"


def test_webhook_naming_a_contract_gives_a_reference_to_fetch(connector):
    event = WebhookEvent("evt-2", "contract.updated", {"data": {"external_contract_id": "ext-5"}})

    assert connector.webhook_changes(event) == [ContractReference("ext-5")]


def test_webhook_about_something_else_changes_nothing_and_garbage_is_refused(connector):
    assert connector.webhook_changes(WebhookEvent("evt-3", "ping", {"data": {}})) == []
    with pytest.raises(PermanentError, match="has no legal_entity"):
        connector.webhook_changes(WebhookEvent("evt-4", "contract.updated", {"data": {"contract": {"name": "x"}}}))
    with pytest.raises(PermanentError, match='The "data" of webhook evt-5 is not a JSON object'):
        connector.webhook_changes(WebhookEvent("evt-5", "contract.updated", {"data": "nope"}))


# --- The fake CLM itself ----------------------------------------------------------------------


def test_fake_clm_is_reachable_from_another_process(clm_server):
    put_contracts(clm_server, 2)
    script = (
        "import json, sys, urllib.request\n"
        "request = urllib.request.Request(sys.argv[1] + '/api/contracts/', headers={'Authorization': sys.argv[2]})\n"
        "print(len(json.load(urllib.request.urlopen(request, timeout=5))['items']))\n"
    )

    child = subprocess.run(
        [sys.executable, "-c", script, clm_server.url, f"Bearer {clm_server.token}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert json.loads(child.stdout) == 2
