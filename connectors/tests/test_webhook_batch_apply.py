"""Applying webhooks in batches (issue 8): one nudge applies every due event of its connection,
in id order, a batch per transaction, each event with its own outcome, retries and dead letter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors import webhooks
from connectors.base import ContractRecord, TransientError
from connectors.models import DeadLetter, InboundEvent
from connectors.runs import contract_record_apply as apply_one
from connectors.tests.fakes import FakeConnector
from connectors.tests.test_webhooks import connection, fast_retries, make_due, nudges  # noqa: F401 (fixtures)
from connectors.webhooks import inbound_events_apply
from contracts.choices import WorkStatus
from contracts.models import Contract
from contracts.services import contracts_upsert as upsert
from contracts.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def records_by_event(monkeypatch):
    """Each stored event carries the records listed under its event id: an exception first in
    the list is raised (once), a callable is called (as the worker reads the event)."""
    records: dict = {}

    def webhook_changes(self, event):
        changes = records[event.event_id]
        if callable(changes):
            return changes()
        if changes and isinstance(changes[0], Exception):
            raise changes.pop(0)
        return changes

    monkeypatch.setattr(FakeConnector, "webhook_changes", webhook_changes)
    return records


def nda(contract_id: str, name: str = "Mutual NDA", **data) -> ContractRecord:
    return ContractRecord("USMF", contract_id, {"contract_type": "NDA", "name": name, **data})


def store(connection, event_id: str) -> InboundEvent:  # noqa: F811
    return InboundEvent.objects.create(connection=connection, event_id=event_id, payload={})


def test_one_nudge_applies_the_connections_due_events_in_id_order_and_no_others(
    connection,  # noqa: F811
    nudges,  # noqa: F811
    records_by_event,
    monkeypatch,
):
    monkeypatch.setattr(webhooks, "APPLY_BATCH", 2)
    other = factories.ConnectionFactory(name="Other CLM", connector="fake")
    events = [store(connection, f"evt-{n}") for n in range(5)]
    for n, event in enumerate(events):
        records_by_event[event.event_id] = [nda("NDA-1", name=f"Version {n}")]
    elsewhere = store(other, "evt-elsewhere")

    assert inbound_events_apply(event_id=events[2].pk) == 5

    assert Contract.objects.get(contract_id="NDA-1").name == "Version 4"
    outcomes = list(InboundEvent.objects.filter(connection=connection).order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["USMF/NDA-1: created"] + ["USMF/NDA-1: updated"] * 4
    assert InboundEvent.objects.get(pk=elsewhere.pk).status == WorkStatus.PENDING
    assert nudges == []


def test_a_batch_whose_records_all_apply_goes_through_one_batch_upsert(
    connection,  # noqa: F811
    nudges,  # noqa: F811
    records_by_event,
    monkeypatch,
):
    batches, one_by_one = [], []
    monkeypatch.setattr(webhooks, "contracts_upsert", lambda **kw: batches.append(kw["records"]) or upsert(**kw))
    monkeypatch.setattr(webhooks, "contract_record_apply", lambda **kw: one_by_one.append(kw) or apply_one(**kw))
    first = store(connection, "first")
    store(connection, "second")
    records_by_event.update(first=[nda("NDA-1"), nda("NDA-2")], second=[nda("NDA-1", name="Renamed")])

    assert inbound_events_apply(event_id=first.pk) == 2

    assert [[record.key for record in batch] for batch in batches] == [["USMF/NDA-1", "USMF/NDA-2", "USMF/NDA-1"]]
    assert one_by_one == []
    outcomes = dict(InboundEvent.objects.values_list("event_id", "outcome"))
    assert outcomes == {"first": "USMF/NDA-1: created; USMF/NDA-2: created", "second": "USMF/NDA-1: updated"}
    assert Contract.objects.get(contract_id="NDA-1").name == "Renamed"


def test_a_failing_event_is_retried_or_dead_lettered_alone_and_the_rest_of_its_batch_applies(
    connection,  # noqa: F811
    nudges,  # noqa: F811
    records_by_event,
    fast_retries,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    first, flaky, bad, last = (store(connection, event_id) for event_id in ("first", "flaky", "bad", "last"))
    records_by_event.update(
        first=[nda("NDA-1")],
        flaky=[TransientError("timeout 1"), TransientError("timeout 2"), TransientError("timeout 3")],
        bad=[nda("NDA-3"), nda("NDA-4", contract_type="No such type")],
        last=[nda("NDA-5")],
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_events_apply(event_id=first.pk) == 4

    statuses = dict(InboundEvent.objects.values_list("event_id", "status"))
    assert statuses == {
        "first": WorkStatus.DONE,
        "flaky": WorkStatus.PENDING,
        "bad": WorkStatus.DEAD,
        "last": WorkStatus.DONE,
    }
    assert sorted(Contract.objects.values_list("contract_id", flat=True)) == ["NDA-1", "NDA-5"]  # none of bad's
    flaky.refresh_from_db()
    assert (flaky.attempts, flaky.last_error) == (1, "timeout 1")
    assert flaky.next_attempt_at > timezone.now()
    assert nudges == [(flaky.pk, pytest.approx((flaky.next_attempt_at - timezone.now()).total_seconds(), abs=0.5))]

    for _second_and_third in range(2):
        make_due(flaky)
        inbound_events_apply(event_id=flaky.pk)

    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts) == (WorkStatus.DEAD, 3)
    letters = dict(DeadLetter.objects.values_list("object_id", "error"))
    assert letters[flaky.pk] == "gave up after 3 attempts: timeout 3"
    assert letters[bad.pk].startswith("USMF/NDA-4 was not applied: ")


def test_a_nudge_finding_nothing_due_applies_nothing(connection, nudges, records_by_event):  # noqa: F811
    later = InboundEvent.objects.create(
        connection=connection, event_id="later", payload={}, next_attempt_at=timezone.now() + timedelta(days=1)
    )

    assert inbound_events_apply(event_id=later.pk) == 0
    assert inbound_events_apply(event_id=later.pk + 1000) == 0


def test_a_task_stops_at_its_bound_and_nudges_itself_for_the_rest(
    connection,  # noqa: F811
    nudges,  # noqa: F811
    records_by_event,
    monkeypatch,
):
    monkeypatch.setattr(webhooks, "APPLY_BATCH", 2)
    monkeypatch.setattr(webhooks, "APPLY_MAX_EVENTS", 2)
    events = [store(connection, f"evt-{n}") for n in range(3)]
    for event in events:
        records_by_event[event.event_id] = []

    assert inbound_events_apply(event_id=events[0].pk) == 2

    assert nudges == [(events[2].pk, 0)]
    nudges.run()
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {WorkStatus.DONE}


def test_an_event_changed_by_another_worker_since_it_was_read_is_left_to_it(
    connection,  # noqa: F811
    nudges,  # noqa: F811
    records_by_event,
):
    mine, theirs = store(connection, "mine"), store(connection, "theirs")
    records_by_event["mine"] = [nda("NDA-1")]
    records_by_event["theirs"] = lambda: InboundEvent.objects.filter(pk=theirs.pk).update(attempts=1) and []

    assert inbound_events_apply(event_id=mine.pk) == 1

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status, theirs.attempts, theirs.outcome) == (WorkStatus.DONE, WorkStatus.PENDING, 1, "")
