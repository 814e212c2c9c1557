"""The DocuSign Navigator connector (SPEC §10.2) against a fake Navigator over real HTTP:
the vendor's own examples, paging, bad agreements, the maps, tokens, Connect and odd data."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors import webhooks
from connectors.base import PermanentError
from connectors.builtin import docusign
from connectors.builtin.docusign import AgreementInvalid
from connectors.deadletters import dead_letter_retry
from connectors.handshake import connection_check
from connectors.models import Connection, DeadLetter, InboundEvent, SyncError, SyncRun
from connectors.pull import pull_run_to_end, pull_start
from connectors.registry import connector_for
from connectors.runs import contract_record_apply
from connectors.tests.docusign_server import (  # noqa: F401 (navigator_fixture registers "navigator")
    ACCOUNT_ID,
    AGREEMENTS,
    CLIENT_ID,
    CLIENT_SECRET,
    STATIC_TOKEN,
    VENDOR_DIR,
    navigator_fixture,
    schema_problems,
    vendor_agreement_examples,
    vendor_list_example,
)
from connectors.webhooks import inbound_event_apply
from contracts.choices import ConnectionStatus, ContractStatus, SyncRunStatus, WorkStatus
from contracts.models import Contract
from contracts.services import Actor, ValidationFailed
from contracts.tests import factories

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")
OWN_SIDE = {"id": "aba3d8ca-6ab8-400a-af55-bdab40102a2f", "name_in_agreement": "ACME, INC"}
TALLY = {"id": "eb01cef7-7b63-49af-8eef-3c643357ce18", "name_in_agreement": "TALLY, LTD"}
ENVELOPE = "8ade6915-d04b-40d6-bb6f-9c6ba6aa1bb5"
HMAC_KEY = "Zm9yIHRoZSBEb2N1U2lnbiBDb25uZWN0IHRlc3Q="  # looks like base64; DocuSign keys with its text
OTHER_HMAC_KEY = "the-key-being-rotated-in"


def agreement_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def agreement(number: int, *, provisions: dict | None = None, **fields) -> dict:
    """An agreement as Navigator lists it (valid under the vendor's schema), ``fields`` replacing its own;
    a fresh copy, so that a test may change it in place."""
    return copy.deepcopy(
        {
            "id": agreement_id(number),
            "title": f"Mutual NDA {number}",
            "type": "Non-disclosure Agreement",
            "category": "BusinessServices",
            "status": "COMPLETE",
            "parties": [OWN_SIDE, TALLY],
            "provisions": {
                "effective_date": "2025-01-01T00:00:00+01:00",
                "expiration_date": "2027-12-31T00:00:00+01:00",
                "total_agreement_value": 1000 + number,
                "total_agreement_value_currency_code": "USD",
                **(provisions or {}),
            },
            "source_id": f"10000000-0000-4000-8000-{number:012d}",
            "metadata": {"created_at": "2025-01-01T09:00:00Z", "modified_at": "2025-02-01T09:00:00Z"},
            "_links": {"document": {"href": f"https://api.docusign.com/v1/accounts/{ACCOUNT_ID}/documents/{number}"}},
            **fields,
        }
    )


@pytest.fixture(autouse=True)
def no_cached_tokens():
    docusign._token_cache.clear()
    yield
    docusign._token_cache.clear()


@pytest.fixture
def tally(legal_entity):
    # Not the party's spelling ("TALLY, LTD"): names match once case and punctuation are set aside.
    return factories.VendorFactory(account_number="V-TALLY", name="Tally Ltd.")


@pytest.fixture
def connection(legal_entity, tally, navigator):
    factories.ContractTypeFactory(name="NDA", flow="lightweight")
    return factories.ConnectionFactory(
        name="DocuSign",
        connector="docusign_navigator",
        base_url=navigator.url,
        credentials=STATIC_TOKEN,
        settings={"account_id": ACCOUNT_ID, "legal_entity": "USMF", "own_parties": ["ACME, INC"], "page_size": 10},
    )


def configure(connection, **settings):
    connection.settings = {**connection.settings, **settings}
    connection.save()
    return connection


def pull_to_end(connection, *, full: bool = False) -> SyncRun:
    run = pull_start(connection_id=connection.pk, full=full, actor=OPERATOR, enqueue=False)
    return pull_run_to_end(run_id=run.pk)


def errors(run: SyncRun) -> dict[str, str]:
    return dict(SyncError.objects.filter(run=run).values_list("record_key", "message"))


def contract(number: int) -> Contract:
    return Contract.objects.get(external_contract_id=agreement_id(number))


# --- The vendor's own examples ----------------------------------------------------------------


def test_the_vendors_example_listing_pages_by_its_token_and_its_untitled_agreements_are_reported(connection, navigator):
    navigator.scripted_pages = {"": vendor_list_example(), "def456": {"data": []}}

    run = pull_to_end(connection)

    assert [query.get("ctoken") for query in navigator.listings()] == [None, "def456"]
    assert (run.status, run.pages, run.created, run.failed) == (SyncRunStatus.COMPLETED_WITH_ERRORS, 2, 0, 49)
    # The document's examples carry no title, and a contract needs a name: reported, not invented.
    assert set(errors(run).values()) == {"Agreement not applied: title is missing."}
    assert not Contract.objects.exists()


def test_the_vendors_example_agreements_become_contracts_once_they_have_a_title(connection, navigator, tally):
    connection.create_unknown_contract_types = True
    connection.save()
    example = vendor_list_example()
    for item in example["data"]:
        item["title"] = f"{item['type']} with Tally"
    navigator.scripted_pages = {"": example, "def456": {"data": []}}

    run = pull_to_end(connection)

    assert (run.status, run.created, run.failed) == (SyncRunStatus.SUCCEEDED, 49, 0)
    nda = Contract.objects.get(external_contract_id="fdad1f94-94d3-4fe1-88fe-3fff0e21e268")
    assert (nda.contract_id, nda.legal_entity.code) == ("fdad1f94-94d3-4fe1-88fe-3fff0e21e268", "USMF")
    assert (nda.name, nda.contract_type.name, nda.status) == ("Non-disclosure Agreement with Tally", "NDA", "Draft")
    assert (nda.effective_date, nda.expiration_date) == (date(2024, 9, 1), date(2029, 9, 1))
    assert (nda.value, nda.currency.code) == (Decimal("150000"), "USD")
    assert (nda.renewal_type, nda.notice_period_days, nda.notice_date) == ("Automatic", 90, date(2024, 10, 17))
    assert (nda.vendor, nda.party_name, nda.party_number) == (tally, "TALLY, LTD", tally.party_number)
    assert nda.source_modified_at == datetime(2024, 2, 1, tzinfo=UTC)
    assert nda.document_url.startswith("https://api.docusign.com/v1/accounts/3b324aff-")
    addendum = Contract.objects.get(external_contract_id="48e593bd-73e8-455f-92e7-7299fef08dea")
    assert (addendum.contract_type.name, addendum.contract_type.needs_review) == ("Addendum agreement", True)

    again = pull_to_end(connection)

    assert (again.unchanged, again.created, again.updated) == (49, 0, 0)


def test_fetch_maps_the_vendors_example_of_one_agreement(connection, navigator):
    example = vendor_agreement_examples()["NdaDocumentTemplate"]
    navigator.add({**example, "title": "Mutual NDA with Tally", "status": "COMPLETE"})

    record = connector_for(connection).fetch(example["id"])

    assert record.key == f"USMF/{example['id']}"
    assert record.data == {
        "external_contract_id": example["id"],
        "name": "Mutual NDA with Tally",
        "contract_type": "NDA",
        "status": ContractStatus.EXECUTED,
        "effective_date": "2024-09-01",
        "expiration_date": "2029-09-01",
        "value": "150000",
        "currency": "USD",
        "renewal_type": "Automatic",
        "notice_period_days": 90,
        "notice_date": "2024-10-17",
        "account_type": "Vend",
        "account_relation_id": "V-TALLY",
        "party_name": "TALLY, LTD",
        "document_url": example["_links"]["document"]["href"],
        "source_modified_at": "2024-02-01T00:00:00Z",
    }
    with pytest.raises(PermanentError, match="HTTP 404"):
        connector_for(connection).fetch(agreement_id(404))


# --- Paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token_in_links", [False, True], ids=["response_metadata", "next-link"])
def test_pull_reads_every_page_by_its_continuation_token(connection, navigator, token_in_links):
    navigator.token_in_links = token_in_links
    navigator.add(*(agreement(number) for number in range(1, 26)))

    run = pull_to_end(connection)

    assert navigator.listings() == [
        {"limit": "10"},
        {"limit": "10", "ctoken": "ct-10"},
        {"limit": "10", "ctoken": "ct-20"},
    ]
    assert (run.status, run.pages, run.created) == (SyncRunStatus.SUCCEEDED, 3, 25)


def test_every_pull_is_a_full_listing_kept_idempotent_by_the_source_stamp(connection, navigator):
    navigator.add(*(agreement(number) for number in range(1, 6)))
    pull_to_end(connection)
    navigator.add(agreement(3, title="Renamed", metadata={"modified_at": "2025-03-01T00:00:00Z"}))

    second = pull_to_end(connection)

    assert navigator.listings()[-1] == {"limit": "10"}
    assert (second.updated, second.unchanged) == (1, 4)
    assert contract(3).name == "Renamed"
    connection.refresh_from_db()
    assert connection.sync_watermark == ""


def test_with_a_changed_since_filter_the_next_pull_asks_only_for_changes(connection, navigator):
    configure(connection, changed_since_filter="metadata/modified_at ge '{since}'")
    navigator.add(*(agreement(number) for number in range(1, 6)))
    started = timezone.now()
    pull_to_end(connection)
    connection.refresh_from_db()
    since = datetime.fromisoformat(connection.sync_watermark)
    # Where the first pull began, less the overlap for clock skew and Navigator's indexing.
    assert started - timedelta(minutes=60, seconds=5) <= since <= started - timedelta(minutes=59, seconds=55)
    changed_at = (timezone.now() + timedelta(seconds=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    navigator.add(agreement(3, title="Renamed", metadata={"modified_at": changed_at}))

    second = pull_to_end(connection)

    assert navigator.listings()[-1] == {
        "limit": "10",
        "$filter": f"metadata/modified_at ge '{connection.sync_watermark}'",
    }
    assert (second.processed, second.updated) == (1, 1)
    assert pull_to_end(connection, full=True).processed == 5
    assert "$filter" not in navigator.listings()[-1]


def test_a_repeated_continuation_token_stops_the_run(connection, navigator):
    navigator.add(*(agreement(number) for number in range(1, 26)))
    navigator.delay(0)  # the first page is served as usual
    navigator.repeat_token()

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert run.message == 'The CLM repeated continuation token "ct-10"; stopped so as not to loop.'
    assert run.created == 10


def test_a_listing_longer_than_max_pages_stops_with_a_clear_error(connection, navigator):
    configure(connection, max_pages=2)
    navigator.add(*(agreement(number) for number in range(1, 26)))

    run = pull_to_end(connection)

    assert (run.status, run.pages, run.created) == (SyncRunStatus.FAILED, 2, 20)
    assert run.message == (
        "DocuSign still had more agreements after 2 pages of 10, the most this connection reads (max_pages 2); "
        "stopped. Raise max_pages if the account is that large."
    )
    connection.refresh_from_db()
    assert connection.last_sync_at is None

    configure(connection, max_pages=5)
    dead_letter_retry(dead_letter=DeadLetter.objects.get(connection=connection), actor=OPERATOR)
    resumed = pull_run_to_end(run_id=run.pk)

    assert (resumed.status, resumed.pages, resumed.created) == (SyncRunStatus.SUCCEEDED, 3, 25)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ([], "The page of agreements is not a JSON object but a list."),
        ({"data": 5}, 'The page of agreements has "data" as a number, which is not what the protocol says.'),
        (
            {"data": [], "_links": {"next": {"href": "https://api.docusign.com/v1/accounts/a/agreements?limit=10"}}},
            "The page of agreements has a next link without a ctoken: https://api.docusign.com/v1/accounts/a/",
        ),
    ],
    ids=["list", "data", "next-link"],
)
def test_a_page_of_the_wrong_shape_fails_the_run_with_what_was_wrong(connection, navigator, answer, says):
    navigator.scripted_pages = {"": answer}

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    assert run.message.startswith(says)


# --- Agreements that cannot be applied ------------------------------------------------------


def test_bad_agreements_are_reported_one_by_one_and_the_others_are_applied(connection, navigator):
    without_id = {key: value for key, value in agreement(4).items() if key != "id"}
    navigator.add(
        agreement(1),
        agreement(2, provisions={"effective_date": "2025-02-30T00:00:00Z"}),
        agreement(3, provisions={"total_agreement_value_currency_code": "XTS"}),  # ISO, but no currency of clmsite
        without_id,
        agreement(5, title=None),
        agreement(6, provisions={"total_agreement_value": "150000"}, parties={"id": TALLY["id"]}),
        agreement(7, parties=[OWN_SIDE, {"id": "p-7", "name_in_agreement": "Globex Corporation"}]),
        agreement(8, provisions={"effective_date": "2026-01-01T00:00:00Z", "expiration_date": "2025-01-01T00:00:00Z"}),
        agreement(9),
    )

    run = pull_to_end(connection)

    assert (run.status, run.created, run.failed) == (SyncRunStatus.COMPLETED_WITH_ERRORS, 2, 7)
    assert errors(run) == {
        f"USMF/{agreement_id(2)}": 'Agreement not applied: provisions.effective_date "2025-02-30T00:00:00Z" is not '
        "a real date.",
        f"USMF/{agreement_id(3)}": 'currency: no currency "XTS" exists.',
        "#3": "Agreement not applied: id is missing.",
        f"USMF/{agreement_id(5)}": "Agreement not applied: title is missing.",
        f"USMF/{agreement_id(6)}": "Agreement not applied: provisions.total_agreement_value is text, not a number; "
        "parties is an object, not a list.",
        f"USMF/{agreement_id(7)}": 'Agreement not applied: party "Globex Corporation" matches no vendor in USMF; add '
        "it to vendor_map, or to own_parties if it is USMF itself.",
        f"USMF/{agreement_id(8)}": "expiration_date: 2025-01-01 is before the effective date 2026-01-01.",
    }
    assert SyncError.objects.get(run=run, record_key="#3").record["title"] == "Mutual NDA 4"
    assert sorted(Contract.objects.values_list("external_contract_id", flat=True)) == [agreement_id(1), agreement_id(9)]


ODD_VALUES = [None, True, 0, -1, 10**400, 1.5e308, math.nan, math.inf, "", " ", "x", "2025-13-01", "P", "\x00", [], {}]
ODD_PLACES = [
    (),
    ("id",),
    ("title",),
    ("type",),
    ("category",),
    ("status",),
    ("parties",),
    ("parties", 1),
    ("parties", 1, "id"),
    ("parties", 1, "name_in_agreement"),
    ("provisions",),
    *(
        ("provisions", name)
        for name in (
            "effective_date",
            "expiration_date",
            "total_agreement_value",
            "total_agreement_value_currency_code",
            "renewal_type",
            "renewal_notice_period",
            "renewal_notice_date",
            "nda_type",
        )
    ),
    ("metadata",),
    ("metadata", "modified_at"),
    ("_links",),
    ("_links", "document"),
    ("_links", "document", "href"),
]


def test_no_value_of_any_kind_in_any_place_makes_the_mapping_or_the_write_crash(connection):
    mapper = connector_for(connection).mapper
    actor = Actor.for_connector(connection.name)
    outcomes = set()
    for place in ODD_PLACES:
        for value in ODD_VALUES:
            item = agreement(1)
            if place:
                *parents, last = place
                target = item
                for step in parents:
                    target = target[step]
                target[last] = value
            else:
                item = value
            try:
                record = mapper.record(item)
            except AgreementInvalid:
                outcomes.add("refused")
                continue
            try:
                contract_record_apply(connection=connection, record=record, actor=actor)
                outcomes.add("applied")
            except ValidationFailed:
                outcomes.add("failed")

    assert outcomes == {"refused", "applied", "failed"}


# --- Types, statuses and parties ------------------------------------------------------------


def test_docusign_statuses_become_contract_statuses_by_default(connection, navigator):
    statuses = {1: "PENDING", 2: "COMPLETE", 3: "INACTIVE", 4: None, 5: "complete"}
    navigator.add(*(agreement(number, status=status) for number, status in statuses.items()))

    pull_to_end(connection)

    assert [contract(number).status for number in statuses] == [
        ContractStatus.WAITING_FOR_SIGNATURES,
        ContractStatus.EXECUTED,
        ContractStatus.EXPIRED,
        ContractStatus.DRAFT,
        ContractStatus.EXECUTED,
    ]


def test_status_map_and_type_map_override_the_defaults(connection, navigator):
    factories.ContractTypeFactory(name="Services", flow="lightweight")
    configure(
        connection,
        status_map={"complete": "Approved", "ARCHIVED": "Cancelled"},
        type_map={"Master Service Agreement": "Services", "humanresources": "NDA"},
    )
    navigator.add(
        agreement(1, type="Master Service Agreement"),
        agreement(2, status="ARCHIVED"),
        agreement(3, type="Offer Letter", category="HumanResources"),
        agreement(4, status="ON_ICE"),
    )

    run = pull_to_end(connection)

    assert (contract(1).contract_type.name, contract(1).status) == ("Services", ContractStatus.APPROVED)
    assert contract(2).status == ContractStatus.CANCELLED
    assert contract(3).contract_type.name == "NDA"
    assert errors(run) == {
        f"USMF/{agreement_id(4)}": 'Agreement not applied: status "ON_ICE" is not mapped to a contract status; add '
        "it to status_map."
    }


def test_ndas_are_recognised_by_their_type_or_their_nda_provision(connection):
    mapper = connector_for(connection).mapper
    types = {
        "Non-disclosure Agreement": "NDA",
        "Mutual NDA": "NDA",
        "NDA_DOCUMENT_DATA": "NDA",
        "Confidentiality Agreement": "NDA",
        "Agenda": "Agenda",
        "Master Service Agreement": "Master Service Agreement",
    }

    assert {kind: mapper.record(agreement(1, type=kind)).data["contract_type"] for kind in types} == types
    one_way = agreement(1, type="Letter", provisions={"nda_type": "ONE_WAY"})
    assert mapper.record(one_way).data["contract_type"] == "NDA"
    assert mapper.record(agreement(1, type=None, category="Miscellaneous")).data["contract_type"] == "Miscellaneous"
    with pytest.raises(AgreementInvalid, match="type and category are both missing"):
        mapper.record(agreement(1, type=None, category=None))


def test_a_type_clmsite_does_not_know_is_refused_unless_the_connection_creates_it(connection, navigator):
    navigator.add(agreement(1, type="Master Service Agreement"))

    run = pull_to_end(connection)

    assert errors(run) == {
        f"USMF/{agreement_id(1)}": 'contract_type: no contract type "Master Service Agreement" exists; create it first.'
    }


def test_parties_are_matched_by_name_or_vendor_map_and_never_guessed(connection, tally):
    factories.VendorFactory(account_number="V-GLOBEX", name="Globex Corporation")
    factories.VendorFactory(account_number="V-INITECH-1", name="Initech")
    factories.VendorFactory(account_number="V-INITECH-2", name="INITECH")
    configure(connection, vendor_map={"Umbrella Corp": "V-GLOBEX", "party-of-tally": "V-TALLY"})
    mapper = connector_for(connection).mapper

    def vendor_of(*parties):
        data = mapper.record(agreement(1, parties=list(parties))).data
        return data["account_relation_id"], data["party_name"]

    assert vendor_of(OWN_SIDE, {"id": "p", "name_in_agreement": "tally ltd"}) == ("V-TALLY", "tally ltd")
    legal_entity_itself = {"id": "p", "name_in_agreement": "Contoso Entertainment System USA"}
    globex = {"id": "q", "name_in_agreement": "GLOBEX CORP.", "preferred_name": "Globex Corporation"}
    assert vendor_of(legal_entity_itself, globex) == ("V-GLOBEX", "GLOBEX CORP.")
    assert vendor_of(OWN_SIDE, {"id": "p", "name_in_agreement": "Umbrella Corp"}) == ("V-GLOBEX", "Umbrella Corp")
    assert vendor_of(OWN_SIDE, {"id": "party-of-tally", "name_in_agreement": "T."}) == ("V-TALLY", "T.")
    assert vendor_of() == ("", "")
    assert mapper.record(agreement(1, parties=None)).data["account_relation_id"] == ""
    no_match = "matches no vendor in USMF; add it to vendor_map, or to own_parties if it is USMF itself"
    refusals = [
        (
            [OWN_SIDE, {"id": "p", "name_in_agreement": "Initech"}],
            'party "Initech" matches several vendors in USMF (V-INITECH-1, V-INITECH-2); name the right one in '
            "vendor_map",
        ),
        (
            [TALLY, {"id": "q", "name_in_agreement": "Globex Corporation"}],
            'the parties are several vendors (V-GLOBEX ("Globex Corporation"), V-TALLY ("TALLY, LTD")); a contract '
            "has one",
        ),
        ([OWN_SIDE, {"id": "p", "name_in_agreement": "Tally Ltd Holdings"}], f'party "Tally Ltd Holdings" {no_match}'),
        ([OWN_SIDE, {"id": "p"}], f'party "p" {no_match}'),
    ]
    for parties, problem in refusals:
        with pytest.raises(AgreementInvalid) as refused:
            mapper.record(agreement(1, parties=parties))
        assert refused.value.problems == [problem]


def test_unusable_settings_stop_the_pull_with_every_reason(connection, navigator):
    connection.settings = {
        "legal_entity": "USMF",
        "page_size": "many",
        "status_map": {"COMPLETE": "Done"},
        "vendor_mapping": {},
        "token_url": "ftp://login.example.com/token",
    }
    connection.save()

    run = pull_to_end(connection)

    assert run.status == SyncRunStatus.FAILED
    for reason in (
        '"vendor_mapping" is not a setting of this connector.',
        "account_id is required.",
        "page_size must be a whole number, not 'many'.",
        'status_map gives "COMPLETE" the status "Done"',
        'token_url must be an http(s) URL, not "ftp://login.example.com/token".',
        "client_id is required with token_url.",
    ):
        assert reason in run.message
    assert navigator.requests == []


def test_the_admin_refuses_to_save_unusable_settings_with_their_reasons(admin_client, legal_entity, navigator):
    form = {
        "name": "Navigator",
        "connector": "docusign_navigator",
        "base_url": navigator.url,
        "navigation_base_url": "",
        "enabled": "on",
        "settings": '{"legal_entity": "USMF", "page_size": "many", "connect_enabled": true}',
        "new_credentials": STATIC_TOKEN,
        "new_webhook_secrets": "",
    }

    response = admin_client.post(reverse("admin:connectors_connection_add"), form)

    assert response.status_code == 200
    problems = " ".join(response.context["adminform"].form.errors["settings"])
    assert "account_id is required." in problems and "page_size must be a whole number" in problems
    assert not Connection.objects.filter(name="Navigator").exists()


# --- Tokens ---------------------------------------------------------------------------------


@pytest.fixture
def oauth_connection(connection, navigator):
    connection.credentials = json.dumps({"client_secret": CLIENT_SECRET})
    return configure(connection, token_url=f"{navigator.url}/oauth/token", client_id=CLIENT_ID)


def token_requests(navigator) -> int:
    return len(navigator.requests_to("/oauth/token"))


def test_a_fetched_token_is_kept_until_shortly_before_it_expires(oauth_connection, navigator, monkeypatch):
    navigator.add(agreement(1))
    clock = [1000.0]
    monkeypatch.setattr(docusign, "_clock", lambda: clock[0])

    connector_for(oauth_connection).fetch(agreement_id(1))
    connector_for(oauth_connection).fetch(agreement_id(1))  # another connector of this process
    clock[0] += 3600 - 61
    connector_for(oauth_connection).fetch(agreement_id(1))
    assert token_requests(navigator) == 1

    clock[0] += 2  # within the last minute of its hour
    connector_for(oauth_connection).fetch(agreement_id(1))
    assert token_requests(navigator) == 2


def test_a_refused_token_is_replaced_once_and_the_request_asked_again(oauth_connection, navigator):
    navigator.expires_in = None  # no lifetime given: the token is kept until it is refused
    navigator.add(agreement(1))
    connector = connector_for(oauth_connection)
    connector.fetch(agreement_id(1))
    navigator.revoke_tokens()

    assert connector.fetch(agreement_id(1)).data["name"] == "Mutual NDA 1"
    assert token_requests(navigator) == 2


def test_a_token_refused_even_when_new_fails_for_good(oauth_connection, navigator):
    navigator.refuse_issued_tokens = True

    with pytest.raises(PermanentError, match="with HTTP 401"):
        connector_for(oauth_connection).fetch(agreement_id(1))
    assert token_requests(navigator) == 2


def test_the_client_secret_never_appears_in_errors_or_logs(oauth_connection, navigator, caplog):
    caplog.set_level(logging.DEBUG)
    navigator.error(400, body=f'{{"error": "invalid_client", "client_secret": "{CLIENT_SECRET}"}}')

    with pytest.raises(PermanentError) as raised:
        connector_for(oauth_connection).fetch(agreement_id(1))

    assert 'The token endpoint of connection "DocuSign" refused POST' in str(raised.value)
    assert '"client_secret": "***"' in str(raised.value)
    assert CLIENT_SECRET not in caplog.text


def test_a_refused_static_token_is_final_and_json_credentials_work_too(connection, navigator):
    navigator.add(agreement(1))
    connection.credentials = "not-the-token"
    connection.save()
    with pytest.raises(PermanentError, match="refused GET .* with HTTP 401"):
        connector_for(connection).fetch(agreement_id(1))

    connection.credentials = json.dumps({"access_token": STATIC_TOKEN})
    connection.save()
    assert connector_for(connection).fetch(agreement_id(1)).key == f"USMF/{agreement_id(1)}"
    assert token_requests(navigator) == 0


# --- DocuSign Connect -----------------------------------------------------------------------


def connect_message(envelope_id: str, *, retry_count: int = 0) -> bytes:
    """The vendor's Connect event sample, about ``envelope_id``."""
    message = json.loads((VENDOR_DIR / "connect-event-schema.json").read_text())
    message.update(event="envelope-completed", generatedDateTime="2025-03-01T10:00:00.000Z", retryCount=retry_count)
    message["data"]["envelopeId"] = envelope_id
    return json.dumps(message).encode()


def connect_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def connect(connection):
    connection.webhook_secrets = f"{HMAC_KEY}\n{OTHER_HMAC_KEY}"
    return configure(connection, connect_enabled=True)


@pytest.fixture
def deliver(client, monkeypatch, django_capture_on_commit_callbacks):
    """POSTs a Connect message to the connection's webhook URL; the worker's nudge is only noted."""
    monkeypatch.setattr(webhooks, "apply_inbound_event_task", SimpleNamespace(delay=lambda event_id: None))

    def deliver(body: bytes, headers: dict):
        with django_capture_on_commit_callbacks(execute=True):
            url = reverse("api:connection-webhook", args=["DocuSign"])
            return client.post(url, data=body, content_type="application/json", headers=headers)

    return deliver


def test_a_connect_message_signed_with_any_key_in_any_header_re_reads_its_agreement(connect, navigator, deliver):
    navigator.add(agreement(1, source_id=ENVELOPE), agreement(2))
    body = connect_message(ENVELOPE)
    headers = {
        "X-DocuSign-Signature-1": connect_signature(body, "a key DocuSign no longer uses"),
        "X-DocuSign-Signature-2": connect_signature(body, OTHER_HMAC_KEY),
    }

    response = deliver(body, headers)

    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.event_type == "envelope-completed" and event.event_id.startswith("connect-")
    assert not Contract.objects.exists()

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.outcome) == (WorkStatus.DONE, f"USMF/{agreement_id(1)}: created")
    assert navigator.listings() == [{"source_id": ENVELOPE, "limit": "10"}]
    assert navigator.requests_to(f"{AGREEMENTS}/{agreement_id(1)}")  # re-read on its own
    assert contract(1).status == ContractStatus.EXECUTED


def test_a_connect_message_with_a_wrong_signature_is_refused_and_nothing_is_stored(connect, navigator, deliver):
    body = connect_message(ENVELOPE)
    tampered = body.replace(b"envelope-completed", b"envelope-voided")

    response = deliver(tampered, {"X-DocuSign-Signature-1": connect_signature(body, HMAC_KEY)})
    unsigned = deliver(body, {})

    assert (response.status_code, unsigned.status_code) == (401, 401)
    assert response.json()["errors"][0]["message"] == (
        "no X-DocuSign-Signature header matches the connection's HMAC keys."
    )
    assert not InboundEvent.objects.exists()
    assert navigator.requests == []


def test_a_redelivered_connect_message_changes_nothing(connect, deliver):
    first = connect_message(ENVELOPE)
    again = connect_message(ENVELOPE, retry_count=1)

    deliver(first, {"X-DocuSign-Signature-1": connect_signature(first, HMAC_KEY)})
    response = deliver(again, {"X-DocuSign-Signature-1": connect_signature(again, HMAC_KEY)})

    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert InboundEvent.objects.count() == 1


def test_connect_messages_are_refused_unless_enabled(connection, deliver):
    connection.webhook_secrets = HMAC_KEY
    connection.save()
    body = connect_message(ENVELOPE)

    response = deliver(body, {"X-DocuSign-Signature-1": connect_signature(body, HMAC_KEY)})

    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


def test_an_agreement_that_does_not_fit_makes_its_connect_message_a_dead_letter(connect, navigator, deliver):
    navigator.add(agreement(1, source_id=ENVELOPE, provisions={"expiration_date": "2027-02-29T00:00:00Z"}))
    body = connect_message(ENVELOPE)
    deliver(body, {"X-DocuSign-Signature-1": connect_signature(body, HMAC_KEY)})
    event = InboundEvent.objects.get()

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == WorkStatus.DEAD
    assert DeadLetter.objects.get(connection=connect).error == (
        f'Agreement {agreement_id(1)} was not applied: provisions.expiration_date "2027-02-29T00:00:00Z" is not a '
        "real date."
    )


def test_a_connect_message_about_an_envelope_navigator_does_not_have_changes_nothing(connect, navigator, deliver):
    body = connect_message("99999999-0000-4000-8000-000000000000")
    deliver(body, {"X-DocuSign-Signature-1": connect_signature(body, HMAC_KEY)})
    event = InboundEvent.objects.get()

    inbound_event_apply(event_id=event.pk)

    event.refresh_from_db()
    assert (event.status, event.outcome) == (WorkStatus.DONE, "nothing to apply")


# --- Unusual but valid data -----------------------------------------------------------------


def unusual_agreements() -> list[dict]:
    tally_by_preferred_name = {"id": "p-9", "name_in_agreement": None, "preferred_name": "TALLY LTD"}
    return [
        agreement(1, title="Accord de confidentialité — Tally ✍️ 機密保持契約 اتفاقية عدم إفشاء"),
        {key: value for key, value in agreement(2, status=None, parties=None, _links=None).items() if key != "metadata"}
        | {"provisions": {}},
        {"id": agreement_id(3), "title": "Nothing but an id, a title and a type", "type": "Nda"},
        agreement(4, extra_field={"nested": [1, {"deeper": None}]}, custom_provisions={"early_termination_fee": 5})
        | {"additional_user_defined_data": {"cost_center": "4711"}, "linked_data": [], "languages": None},
        agreement(5, id="{" + agreement_id(5) + "}"),
        agreement(
            6,
            provisions={
                "expiration_date": None,
                "total_agreement_value": None,
                "total_agreement_value_currency_code": None,
                "renewal_type": None,
                "renewal_notice_period": None,
            },
        ),
        agreement(
            7,
            provisions={
                "effective_date": "2025-01-01T00:00:00",
                "expiration_date": "2030-06-30T23:59:59.999999999-08:00",
                "renewal_type": "EVERGREEN",
                "renewal_notice_period": "P1Y2M10DT2H30M",
                "total_agreement_value": 0.1,
            },
        ),
        agreement(8, parties=[OWN_SIDE, tally_by_preferred_name, OWN_SIDE]),
        agreement(9, title="A" * 300),
    ]


def test_a_pull_of_unusual_but_schema_valid_agreements_in_one_huge_page(connection, navigator):
    navigator.ignore_limit = True
    unusual = unusual_agreements()
    ordinary = [agreement(number) for number in range(100, 1600)]
    navigator.add(*unusual, *ordinary)
    assert schema_problems({"data": [*unusual, ordinary[0]]}, "AgreementsResponse") == []

    run = pull_to_end(connection)

    assert navigator.listings() == [{"limit": "10"}]
    assert (run.status, run.pages, run.created, run.failed) == (SyncRunStatus.COMPLETED_WITH_ERRORS, 1, 1508, 1)
    assert errors(run) == {
        f"USMF/{agreement_id(9)}": "name: Ensure this value has at most 255 characters (it has 300)."
    }
    assert contract(1).name.endswith("اتفاقية عدم إفشاء") and contract(1).vendor.account_number == "V-TALLY"
    bare = contract(2)
    assert (bare.status, bare.effective_date, bare.value, bare.vendor, bare.source_modified_at) == (
        ContractStatus.DRAFT,
        None,
        None,
        None,
        None,
    )
    assert (contract(3).contract_type.name, contract(3).account_relation_id) == ("NDA", "")
    assert Contract.objects.get(external_contract_id="{" + agreement_id(5) + "}").contract_id.startswith("{")
    assert (contract(6).expiration_date, contract(6).value, contract(6).renewal_type) == (None, None, "")
    odd_dates = contract(7)
    assert (odd_dates.effective_date, odd_dates.expiration_date) == (date(2025, 1, 1), date(2030, 6, 30))
    # 14 months back from the expiration date is 426 days; then 10 days and 2½ hours.
    assert (odd_dates.renewal_type, odd_dates.notice_period_days, odd_dates.value) == (
        "Evergreen",
        436,
        Decimal("0.10"),
    )
    assert contract(8).vendor.account_number == "V-TALLY"


# --- Handshake ------------------------------------------------------------------------------


def test_the_handshake_reads_one_agreement_and_checks_the_settings(connection, navigator):
    checked = connection_check(connection=connection, actor=OPERATOR)

    assert navigator.listings() == [{"limit": "1"}]
    assert (checked.status, checked.status_message) == (
        ConnectionStatus.READY,
        f"Reading the agreements of DocuSign account {ACCOUNT_ID} into legal entity USMF.",
    )


def test_the_handshake_reports_settings_that_do_not_fit_clmsite(connection):
    configure(connection, vendor_map={"Umbrella Corp": "V-NOBODY"}, connect_enabled=True)

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.CONFIGURATION_FAILED
    assert checked.status_message == (
        "vendor_map names vendor account(s) V-NOBODY, which do not exist in USMF. connect_enabled is on, but no "
        "HMAC key is entered as a webhook secret."
    )


def test_the_handshake_without_an_account_fails_establishment(connection, navigator):
    configure(connection, account_id="")

    checked = connection_check(connection=connection, actor=OPERATOR)

    assert checked.status == ConnectionStatus.ESTABLISHMENT_FAILED
    assert "account_id is required." in checked.status_message
    assert navigator.requests == []
