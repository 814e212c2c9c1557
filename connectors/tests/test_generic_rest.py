"""The generic REST connector (SPEC §10.3, docs/connector-generic-rest.md): configured in the
admin, it pulls any JSON API's agreements in each paging style, maps unusual but valid data,
reports bad records without stopping, refuses unusable settings when they are saved, and shows
what it would read on the Test connection page without saving anything."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from connectors.base import ContractReference, PermanentError, WebhookEvent
from connectors.builtin.generic_rest import RestSettings
from connectors.handshake import connection_check
from connectors.models import Connection, SyncError, SyncRun
from connectors.pull import pull_run_to_end, pull_start
from connectors.registry import connector_for
from connectors.tests.rest_server import API_KEY, LIST_PATH, FakeRestApi, rest_api_fixture  # noqa: F401
from contracts.choices import ConnectionStatus, ContractStatus, SyncRunStatus
from contracts.models import Contract
from contracts.services import Actor
from contracts.tests import factories

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")
FIELDS = {
    "contract_id": "ref",
    "external_contract_id": "id",
    "name": "attributes.title",
    "contract_type": "attributes.kind",
    "status": "attributes.state",
    "effective_date": "attributes.dates.start",
    "expiration_date": "attributes.dates.end",
    "value": "attributes.amount.value",
    "currency": "attributes.amount.currency",
    "party_name": 'parties[?role = "counterparty"].name',
    "source_modified_at": "updated_at",
}
BASE_SETTINGS = {
    "endpoint": LIST_PATH,
    "legal_entity": "USMF",
    "fields": FIELDS,
    "status_map": {"signed": "Executed", "out for signature": "WaitingForSignatures", "void": "Cancelled"},
    "type_map": {"nda": "NDA"},
    "page_size": 10,
}
# What the connection says about each style of the fake API (rest_server.py).
PAGING_SETTINGS = {
    "page": {
        "paging": "page",
        "size_param": "per_page",
        "items_path": "data.agreements",
        "total_path": "meta.total_count",
    },
    "offset": {"paging": "offset", "offset_param": "skip", "limit_param": "take"},
    "cursor": {
        "paging": "cursor",
        "cursor_param": "after",
        "next_cursor_path": "paging.next.after",
        "items_path": "results",
    },
    "link": {"paging": "link", "limit_param": "size", "items_path": "contracts"},
    "body_link": {"paging": "link", "limit_param": "size", "items_path": "items", "next_link_path": "links.next"},
    "none": {"paging": "none"},
}


def agreement(number: int, *, attributes: dict | None = None, **top) -> dict:
    """An agreement as the made-up API lists it, ``attributes`` and ``top`` replacing its own."""
    item = {
        "id": 7000 + number,  # a number, where clmsite keeps text
        "ref": f"AG-{number:04d}",
        "attributes": {
            "title": f"Geheimhaltungsvereinbarung {number} — Tallý & Søn",
            "kind": "nda",
            "state": "signed",
            "dates": {"start": "2024-03-01T00:00:00+02:00", "end": None},
            "amount": {"value": "1250.50", "currency": "USD"},
            "internal_notes": {"reviewed_by": ["someone"]},  # not mapped: ignored
        },
        "parties": [{"role": "own", "name": "Contoso"}, {"role": "counterparty", "name": "Tallý & Søn"}],
        "updated_at": f"2024-05-01T10:{number % 60:02d}:00Z",
    }
    item["attributes"].update(attributes or {})
    item.update(top)
    return copy.deepcopy(item)


@pytest.fixture
def master_data(legal_entity):
    factories.ContractTypeFactory(name="NDA", flow="lightweight")
    factories.CurrencyFactory(code="USD")


def make_connection(api: FakeRestApi, style: str, **settings) -> Connection:
    return factories.ConnectionFactory(
        name="Acme agreements API",
        connector="generic_rest",
        base_url=api.url,
        credentials=API_KEY,
        settings={**BASE_SETTINGS, **PAGING_SETTINGS[style], **settings},
    )


@pytest.fixture
def connection(master_data, rest_api):
    return make_connection(rest_api, "page")


def serve(api: FakeRestApi, style: str, count: int) -> None:
    api.paging = style
    api.add(*(agreement(number) for number in range(1, count + 1)))


def pull_to_end(connection: Connection, *, full: bool = False) -> SyncRun:
    run = pull_start(connection_id=connection.pk, full=full, actor=OPERATOR, enqueue=False)
    return pull_run_to_end(run_id=run.pk)


def errors(run: SyncRun) -> dict[str, str]:
    return dict(SyncError.objects.filter(run=run).values_list("record_key", "message"))


def pages_asked(api: FakeRestApi, *names: str) -> list[tuple]:
    return [tuple(query.get(name) for name in names) for query in api.listings()]


# --- Paging styles, end to end ------------------------------------------------------------------


def test_page_paging_reads_every_page_and_takes_the_total_given_as_text(connection, rest_api):
    serve(rest_api, "page", 25)

    run = pull_to_end(connection)

    assert (run.status, run.created, run.pages, run.total) == (SyncRunStatus.SUCCEEDED, 25, 3, 25)
    assert pages_asked(rest_api, "page", "per_page") == [("1", "10"), ("2", "10"), ("3", "10")]
    assert Contract.objects.filter(connection=connection).count() == 25


def test_page_paging_ends_at_the_total_without_asking_for_an_empty_page(master_data, rest_api):
    serve(rest_api, "page", 20)
    connection = make_connection(rest_api, "page")

    run = pull_to_end(connection)

    assert (run.created, run.pages) == (20, 2)


def test_offset_paging_stops_at_a_short_last_page(master_data, rest_api):
    serve(rest_api, "offset", 23)
    connection = make_connection(rest_api, "offset")

    run = pull_to_end(connection)

    assert (run.status, run.created, run.total) == (SyncRunStatus.SUCCEEDED, 23, None)
    assert pages_asked(rest_api, "skip", "take") == [("0", "10"), ("10", "10"), ("20", "10")]


def test_offset_paging_without_a_page_size_reads_until_an_empty_page(master_data, rest_api):
    serve(rest_api, "offset", 20)
    connection = make_connection(rest_api, "offset", limit_param="")

    run = pull_to_end(connection)

    assert (run.created, run.pages) == (20, 3)
    assert pages_asked(rest_api, "skip", "take") == [("0", None), ("10", None), ("20", None)]


def test_cursor_paging_follows_the_cursors_through_an_empty_page(master_data, rest_api):
    serve(rest_api, "cursor", 25)
    rest_api.empty_page_after = 10
    connection = make_connection(rest_api, "cursor")

    run = pull_to_end(connection)

    assert (run.status, run.created, run.pages) == (SyncRunStatus.SUCCEEDED, 25, 4)
    cursors = pages_asked(rest_api, "after")
    assert cursors[0] == (None,) and len(set(cursors)) == 4


@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_link_header_paging_follows_rel_next(master_data, rest_api, absolute):
    serve(rest_api, "link", 25)
    rest_api.absolute_links = absolute
    connection = make_connection(rest_api, "link")

    run = pull_to_end(connection)

    assert (run.status, run.created, run.pages) == (SyncRunStatus.SUCCEEDED, 25, 3)
    assert pages_asked(rest_api, "page", "size") == [(None, "10"), ("2", "10"), ("3", "10")]
    assert run.seen_tokens[-1] == f"{rest_api.url}{LIST_PATH}?size=10&page=3"


def test_a_next_link_in_the_answers_body_is_followed(master_data, rest_api):
    serve(rest_api, "body_link", 15)
    connection = make_connection(rest_api, "body_link")

    run = pull_to_end(connection)

    assert (run.created, run.pages) == (15, 2)


def test_an_api_that_does_not_page_is_read_at_once(master_data, rest_api):
    serve(rest_api, "none", 42)
    connection = make_connection(rest_api, "none")

    run = pull_to_end(connection)

    assert (run.created, run.pages) == (42, 1)
    assert rest_api.listings() == [{}]


def test_the_credentials_go_in_the_header_the_api_wants(master_data):
    api = FakeRestApi(paging="none", auth_header="X-Api-Key", auth_scheme="").start()
    try:
        api.add(agreement(1))
        connection = make_connection(api, "none", auth_header="X-Api-Key", auth_scheme="")

        assert pull_to_end(connection).created == 1
    finally:
        api.stop()


def test_refused_credentials_fail_the_run_without_naming_them(connection, rest_api):
    serve(rest_api, "page", 3)
    connection.credentials = "a-wrong-key"
    connection.save()

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert 'The API of connection "Acme agreements API" refused GET' in run.message
    assert "HTTP 401" in run.message and "a-wrong-key" not in run.message


# --- Stopping safely ----------------------------------------------------------------------------


def test_a_repeated_cursor_fails_the_run_with_the_reason_and_keeps_the_first_page(master_data, rest_api):
    serve(rest_api, "cursor", 30)
    connection = make_connection(rest_api, "cursor", modified_since_param="updated_since")
    rest_api.delay(0)  # the first page as it is
    rest_api.repeat_token()  # the second page names its own cursor as the next

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert re.fullmatch(r'The CLM repeated continuation token "[^"]+"; stopped so as not to loop\.', run.message)
    assert run.created == 10  # the page that repeats a cursor is not applied
    connection.refresh_from_db()
    assert connection.sync_watermark == ""


def test_a_listing_longer_than_max_pages_stops_with_a_clear_error(master_data, rest_api):
    serve(rest_api, "link", 50)
    connection = make_connection(rest_api, "link", max_pages=2)

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert run.message == (
        "The API still had more agreements after 2 pages of 10, the most this connection reads (max_pages 2); "
        "stopped. "
        "Raise max_pages if the listing is that large."
    )
    assert (run.created, len(rest_api.listings())) == (20, 2)


def test_a_next_link_to_another_site_is_not_followed(master_data, rest_api):
    serve(rest_api, "link", 15)
    rest_api.link_host = "https://collector.example.net"
    connection = make_connection(rest_api, "link")

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert "The API's next link leads to another site (https://collector.example.net/api/v2/agreements" in run.message
    assert run.created == 0  # the page that named it is not applied either


@pytest.mark.parametrize(
    ("style", "answer", "reason"),
    [
        ("none", {"agreements": []}, "The answer is an object, not a list (its keys: agreements); set items_path"),
        ("page", {"data": {}}, 'The answer has nothing at items_path "data.agreements" (its keys: data).'),
        ("page", {"data": {"agreements": {"a": 1}}}, 'The answer has an object at items_path "data.agreements", not'),
        (
            "cursor",
            {"results": [], "paging": {"next": {"after": {"x": 1}}}},
            'The next cursor at "paging.next.after" is',
        ),
        ("page", {"data": {"agreements": []}, "meta": {"total_count": "many"}}, 'The total at total_path "meta.tota'),
    ],
    ids=["not-a-list", "no-items", "items-not-a-list", "cursor-an-object", "total-not-a-number"],
)
def test_an_answer_of_the_wrong_shape_fails_the_run_naming_what_is_wrong(master_data, rest_api, style, answer, reason):
    rest_api.fixed_answer = answer

    run = pull_to_end(make_connection(rest_api, style))

    assert run.status == SyncRunStatus.FAILED
    assert reason in run.message


# --- Mapping ------------------------------------------------------------------------------------


def test_unusual_but_valid_data_is_mapped_to_the_right_fields(master_data, rest_api):
    rest_api.paging = "none"
    rest_api.add(
        agreement(1),
        agreement(
            2,
            attributes={
                "title": "  Mutual NDA 😀 ",
                "state": "OUT FOR SIGNATURE",
                "dates": {"start": "2024-02-29", "end": "2026-02-28T23:59:59.999-11:00"},
                "amount": {"value": 99.9, "currency": "USD"},
            },
            updated_at=None,
            surprise=[1, {"nested": None}],
        ),
        agreement(3, attributes={"amount": None, "dates": {}, "kind": "NDA"}, parties=[]),
    )
    connection = make_connection(rest_api, "none")

    run = pull_to_end(connection)

    assert (run.status, run.created) == (SyncRunStatus.SUCCEEDED, 3)
    first, second, third = Contract.objects.order_by("contract_id")
    assert (first.contract_id, first.external_contract_id, first.legal_entity.code) == ("AG-0001", "7001", "USMF")
    assert first.name == "Geheimhaltungsvereinbarung 1 — Tallý & Søn"
    assert (first.contract_type.name, first.status) == ("NDA", ContractStatus.EXECUTED)
    assert (first.effective_date, first.expiration_date) == (date(2024, 3, 1), None)  # the date as written
    assert (first.value, first.currency.code, first.party_name) == (Decimal("1250.50"), "USD", "Tallý & Søn")
    assert first.source_modified_at.isoformat() == "2024-05-01T10:01:00+00:00"
    assert (second.name, second.status) == ("Mutual NDA 😀", ContractStatus.WAITING_FOR_SIGNATURES)
    assert (second.effective_date, second.expiration_date) == (date(2024, 2, 29), date(2026, 2, 28))
    assert (second.value, second.source_modified_at) == (Decimal("99.90"), None)
    assert (third.value, third.currency, third.effective_date, third.party_name) == (None, None, None, "")


def test_bad_records_are_reported_one_by_one_and_the_others_applied(master_data, rest_api):
    rest_api.paging = "none"
    rest_api.add(
        agreement(1),
        agreement(2, ref=None),
        agreement(3, attributes={"state": "archived"}),
        agreement(4, attributes={"dates": {"start": "2024-02-30"}}),
        agreement(5, attributes={"title": {"en": "NDA"}, "amount": {"value": "1,250.50"}}),
        "not an agreement",
        agreement(7, parties=[{"role": "counterparty", "name": "A"}, {"role": "counterparty", "name": "B"}]),
        agreement(8, attributes={"kind": "Lease"}),
        agreement(9),
    )
    connection = make_connection(rest_api, "none")

    run = pull_to_end(connection)

    assert (run.status, run.created, run.failed) == (SyncRunStatus.COMPLETED_WITH_ERRORS, 2, 7)
    reported = errors(run)
    assert reported == {
        "7002": 'Record not applied: contract_id ("ref"): missing.',
        "USMF/AG-0003": 'Record not applied: status ("attributes.state"): "archived" is not mapped to a contract '
        "status; add it to status_map.",
        "USMF/AG-0004": 'Record not applied: effective_date ("attributes.dates.start"): "2024-02-30" is not a real '
        "date.",
        "USMF/AG-0005": 'Record not applied: name ("attributes.title"): is an object, not text or a number; '
        'value ("attributes.amount.value"): “1,250.50” value must be a decimal number.',
        "#5": "Record not applied: the item is text, not an object.",
        "USMF/AG-0007": 'Record not applied: party_name ("parties[?role = "counterparty"].name"): the path finds 2 '
        "values, not one.",
        "USMF/AG-0008": reported["USMF/AG-0008"],
    }
    assert 'no contract type "Lease" exists' in reported["USMF/AG-0008"]
    assert SyncError.objects.get(run=run, record_key="#5").record == "not an agreement"
    assert set(Contract.objects.values_list("contract_id", flat=True)) == {"AG-0001", "AG-0009"}


def test_status_and_type_maps_ignore_case_and_take_numbers_and_clmsite_names(master_data, rest_api):
    rest_api.paging = "none"
    rest_api.add(
        agreement(1, attributes={"state": 3, "kind": "Nda"}),
        agreement(2, attributes={"state": "terminated"}),
        agreement(3, attributes={"state": "VOID"}),
    )
    connection = make_connection(rest_api, "none", status_map={"3": "executed", "void": "Cancelled"})

    pull_to_end(connection)

    statuses = dict(Contract.objects.values_list("contract_id", "status"))
    assert statuses == {
        "AG-0001": ContractStatus.EXECUTED,
        "AG-0002": ContractStatus.TERMINATED,  # already a clmsite status: no entry needed
        "AG-0003": ContractStatus.CANCELLED,
    }


def test_the_legal_entity_and_defaults_can_come_from_the_items_or_the_settings(master_data, other_legal_entity):
    api = FakeRestApi(paging="none").start()
    try:
        api.add(agreement(1, company="demf"), agreement(2, company=None))
        fields = {**FIELDS, "legal_entity": "company"}
        del fields["contract_type"]
        connection = make_connection(
            api, "none", fields=fields, defaults={"contract_type": "NDA", "account_type": "Party"}
        )

        run = pull_to_end(connection)
    finally:
        api.stop()

    assert run.created == 2
    placed = {
        (c.legal_entity.code, c.contract_id, c.contract_type.name, c.account_type) for c in Contract.objects.all()
    }
    assert placed == {("DEMF", "AG-0001", "NDA", "Party"), ("USMF", "AG-0002", "NDA", "Party")}


# --- Incremental pulls and idempotency ----------------------------------------------------------


def test_incremental_pulls_ask_for_changes_since_the_last_pulls_start(master_data, rest_api):
    serve(rest_api, "page", 5)
    connection = make_connection(
        rest_api, "page", modified_since_param="updated_since", modified_since_overlap_minutes=10
    )
    started = timezone.now()

    first = pull_to_end(connection)
    second = pull_to_end(connection)
    resync = pull_to_end(connection, full=True)

    connection.refresh_from_db()
    since = [query.get("updated_since") for query in rest_api.listings()]
    assert since[0] is None and since[2] is None
    assert since[1] == first.watermark_to == second.watermark_from
    expected = started - timedelta(minutes=10)
    assert abs((datetime.fromisoformat(since[1]) - expected).total_seconds()) < 5
    assert (first.created, resync.unchanged) == (5, 5)


def test_pulling_a_full_listing_again_changes_nothing(connection, rest_api):
    serve(rest_api, "page", 12)
    pull_to_end(connection)
    rest_api.agreements[3]["attributes"]["title"] = "Renamed"
    rest_api.agreements[3]["updated_at"] = "2024-06-01T00:00:00Z"

    again = pull_to_end(connection)

    assert (again.created, again.updated, again.unchanged) == (0, 1, 11)
    assert Contract.objects.get(contract_id="AG-0004").name == "Renamed"


# --- Webhooks by reference, and the handshake -------------------------------------------------


def test_a_webhook_naming_an_agreement_has_it_fetched(connection, rest_api):
    rest_api.add(agreement(1), agreement(2))
    connection.settings = {
        **connection.settings,
        "fetch_endpoint": f"{LIST_PATH}/{{external_id}}",
        "fetch_item_path": "agreement",
        "webhook_id_path": "data.agreement_id",
    }
    connection.save()
    connector = connector_for(connection)

    changes = connector.webhook_changes(WebhookEvent("evt-1", "agreement.updated", {"data": {"agreement_id": 7002}}))
    record = connector.fetch(changes[0].external_id)

    assert changes == [ContractReference("7002")]
    assert (record.legal_entity, record.contract_id, record.data["name"]) == (
        "USMF",
        "AG-0002",
        "Geheimhaltungsvereinbarung 2 — Tallý & Søn",
    )
    with pytest.raises(PermanentError, match="refused GET .* with HTTP 404"):
        connector.fetch("7099")


def test_check_connection_reads_the_first_page(connection, rest_api):
    serve(rest_api, "page", 3)

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.READY
    assert checked.status_message == "The first page lists 3 agreements: 3 mapped, 0 not."


def test_check_connection_fails_the_configuration_when_nothing_maps(connection, rest_api):
    rest_api.add(agreement(1, ref=None))

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.CONFIGURATION_FAILED
    assert 'contract_id ("ref"): missing' in checked.status_message


# --- Settings -----------------------------------------------------------------------------------


def test_usable_settings_have_no_problems(connection):
    assert RestSettings.read(connection.settings)[1] == []


def test_every_problem_with_the_settings_is_named(legal_entity):
    settings = {
        "endpoint": "ftp://files.example.com/list",
        "paging": "pages",
        "fields": {"contract_id": "items[", "name": "title", "owner": "owner.id"},
        "status_map": {"signed": "Signed"},
        "legal_entity": "XXXX",
        "page_size": 0,
        "auth_header": "X Api Key",
        "fetch_endpoint": "/agreements/",
        "defaults": {"effective_date": "soon", "contract_id": "A-1"},
        "colour": "blue",
    }

    problems = RestSettings.read(settings)[1]

    assert problems == [
        '"colour" is not a setting of this connector.',
        'paging must be one of page, offset, cursor, link, none, not "pages".',
        'endpoint must be a path or an http(s) URL, not "ftp://files.example.com/list".',
        'auth_header "X Api Key" is not a header name.',
        "page_size must be at least 1.",
        "fields.status is required: the path to each item's status.",
        'fields.contract_id: "items[" is not a JSONPath: Parse error near the end of string!',
        problems[7],
        'defaults.effective_date: "soon" is not an ISO 8601 date-time.',
        'defaults: "contract_id" cannot have a default; use a contract field but the key.',
        'status_map gives "signed" the status "Signed"; use one of ' + ", ".join(ContractStatus.values) + ".",
        'fetch_endpoint must contain "{external_id}".',
        'legal_entity names "XXXX", which does not exist.',
    ]
    assert problems[7].startswith('fields: "owner" is not a contract field; use legal_entity, contract_id, ')


def test_settings_that_are_not_an_object_are_named():
    assert RestSettings.read(["endpoint"])[1] == ["The settings must be a JSON object, not a list."]


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"paging": "cursor"}, "next_cursor_path is required."),
        ({"legal_entity": ""}, "legal_entity is required, unless fields.legal_entity reads it from each item."),
        ({"fields": ["ref"]}, 'fields must be an object of text to text, e.g. {"name": "value"}.'),
        (
            {"webhook_id_path": "data.id"},
            "webhook_id_path needs fetch_endpoint, to read the agreement a webhook names.",
        ),
        ({"auth_scheme": "Bearer token"}, 'auth_scheme must be one word, like Bearer or Token, not "Bearer token".'),
    ],
    ids=["cursor-without-path", "no-legal-entity", "fields-not-an-object", "webhook", "scheme"],
)
def test_a_wrong_setting_is_named(legal_entity, settings, problem):
    assert problem in RestSettings.read({**BASE_SETTINGS, **PAGING_SETTINGS["page"], **settings})[1]


# --- The admin: settings checked on save, Test connection ---------------------------------------


def admin_url(view: str, *args) -> str:
    return reverse(f"admin:connectors_connection_{view}", args=args)


def connection_form(api: FakeRestApi, settings: str, **changes) -> dict:
    return {
        "name": "Acme agreements API",
        "connector": "generic_rest",
        "base_url": api.url,
        "navigation_base_url": "",
        "enabled": "on",
        "settings": settings,
        "new_credentials": API_KEY,
        "new_webhook_secrets": "",
        **changes,
    }


def test_the_admin_refuses_unusable_settings_listing_every_problem_and_saves_nothing(
    admin_client, master_data, rest_api
):
    settings = (
        '{"endpoint": "/api/v2/agreements", "paging": "sideways", "legal_entity": "USMF", "fields": {"name": "t["}}'
    )

    response = admin_client.post(admin_url("add"), connection_form(rest_api, settings))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["settings"] == [
        'paging must be one of page, offset, cursor, link, none, not "sideways".',
        "fields.contract_id is required: the path to each item's contract_id.",
        "fields.status is required: the path to each item's status.",
        'fields.name: "t[" is not a JSONPath: Parse error near the end of string!',
    ]
    assert "fields.status is required" in response.content.decode()
    assert not Connection.objects.exists()


def test_the_admin_keeps_the_stored_settings_when_the_new_ones_are_unusable(admin_client, connection, rest_api):
    stored = connection.settings

    response = admin_client.post(admin_url("change", connection.pk), connection_form(rest_api, '{"paging": "page"}'))

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.settings == stored


def test_the_admin_saves_usable_settings(admin_client, master_data, rest_api):
    settings = json.dumps({**BASE_SETTINGS, **PAGING_SETTINGS["cursor"]})

    response = admin_client.post(admin_url("add"), connection_form(rest_api, settings))

    assert response.status_code == 302
    assert Connection.objects.get().settings["paging"] == "cursor"


def test_other_connectors_settings_are_not_judged_by_this_one(admin_client, rest_api):
    data = connection_form(rest_api, '{"anything": ["goes"]}', connector="reference")

    assert admin_client.post(admin_url("add"), data).status_code == 302


def record_counts() -> tuple[int, int, int]:
    return Contract.objects.count(), SyncRun.objects.count(), SyncError.objects.count()


def test_test_connection_shows_the_mapped_first_page_and_its_problems_and_saves_nothing(
    admin_client, connection, rest_api
):
    serve(rest_api, "page", 12)
    rest_api.agreements[1]["attributes"]["state"] = "archived"
    before = record_counts()

    page = admin_client.get(admin_url("test", connection.pk))

    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["columns"][:4] == ["legal_entity", "contract_id", "external_contract_id", "status"]
    assert len(page.context["rows"]) == 9 and len(page.context["problems"]) == 1
    assert "Geheimhaltungsvereinbarung 1 — Tallý &amp; Søn" in html
    assert "9 records mapped, 1 not." in html and "The whole listing has 12." in html
    assert "More pages follow" in html
    assert "&quot;archived&quot; is not mapped to a contract status" in html
    assert "tests the <strong>saved</strong> connection" in html
    assert record_counts() == before
    assert len(rest_api.listings()) == 1
    connection.refresh_from_db()
    assert (connection.sync_watermark, connection.last_sync_at) == ("", None)


def test_test_connection_says_in_plain_words_why_the_api_cannot_be_read(admin_client, connection, rest_api):
    connection.credentials = "a-wrong-key"
    connection.save()

    html = admin_client.get(admin_url("test", connection.pk)).content.decode()

    assert "The connection could not be read." in html
    assert "refused GET" in html and "HTTP 401" in html
    assert "a-wrong-key" not in html


def test_test_connection_works_for_the_reference_connector_too(admin_client, legal_entity, clm_server):
    clm_server.put({"legal_entity": "USMF", "contract_id": "CT-1", "name": "Frame agreement", "status": "Draft"})
    connection = factories.ConnectionFactory(
        connector="reference", base_url=clm_server.url, credentials=clm_server.token
    )

    page = admin_client.get(admin_url("test", connection.pk))

    assert page.context["rows"] == [["USMF", "CT-1", "Draft", "Frame agreement"]]


def test_the_connection_page_has_a_test_connection_button(admin_client, connection):
    html = admin_client.get(admin_url("change", connection.pk)).content.decode()

    assert f'<a href="{admin_url("test", connection.pk)}">Test connection</a>' in html


def test_the_list_action_opens_the_test_page_for_one_connection(admin_client, connection):
    other = factories.ConnectionFactory(name="Other")
    action = {"action": "test_connection", ACTION_CHECKBOX_NAME: [connection.pk]}

    one = admin_client.post(admin_url("changelist"), action)
    two = admin_client.post(
        admin_url("changelist"), {**action, ACTION_CHECKBOX_NAME: [connection.pk, other.pk]}, follow=True
    )

    assert one.status_code == 302 and one.url == admin_url("test", connection.pk)
    assert "Choose one connection to test." in two.content.decode()


def test_test_connection_is_for_those_who_may_change_the_connection(client, django_user_model, connection):
    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))

    assert client.get(admin_url("test", connection.pk)).status_code == 403
