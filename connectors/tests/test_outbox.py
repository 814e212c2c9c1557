"""The outbox of master-data changes (SPEC §9 outbound): written with the change, delivered
in order per record, retried with backoff, and dead-lettered when it keeps failing."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from connectors import outbox
from connectors.base import PermanentError, TransientError
from connectors.models import DeadLetter, OutboxMessage
from connectors.outbox import outbox_deliver, outbox_redrive
from connectors.tasks import apply_import_task, apply_inbound_event_task, deliver_outbox_task, pull_connection_task
from connectors.tests.fakes import FakeConnector
from contracts.choices import ChangeOperation, DeadLetterKind, WorkStatus
from contracts.models import ChangeLog
from contracts.tests import factories

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class SentTask:
    name: str
    args: tuple
    kwargs: dict
    countdown: float | None


def record_sent_tasks(monkeypatch) -> list[SentTask]:
    """Task messages sent from now on (and not run), in order."""
    sent: list[SentTask] = []
    for task in (deliver_outbox_task, apply_inbound_event_task, pull_connection_task, apply_import_task):

        def apply_async(args=(), kwargs=None, countdown=None, _name=task.name, **options):
            sent.append(SentTask(_name, tuple(args or ()), kwargs or {}, countdown))

        monkeypatch.setattr(task, "apply_async", apply_async)
    return sent


@pytest.fixture
def sent_tasks(monkeypatch) -> list[SentTask]:
    return record_sent_tasks(monkeypatch)


@pytest.fixture
def usd(legal_entity):
    return factories.CurrencyFactory(code="USD")


@pytest.fixture
def clm(usd, fake_clm):
    """A CLM that takes master data, set up after the company so only the test's changes queue."""
    return factories.ConnectionFactory(name="Fake CLM", connector="fake", push_master_data=True)


def vendor(legal_entity, account_number: str, **fields):
    return factories.VendorFactory(legal_entity=legal_entity, account_number=account_number, **fields)


def pushed_keys(fake_clm) -> list[tuple[str, str]]:
    return [(key, operation) for _entity, _le, key, operation in fake_clm.pushed]


def make_due(**filters) -> None:
    """Time passes: the messages' backoff is over."""
    OutboxMessage.objects.filter(**filters).update(next_attempt_at=timezone.now())


# --- Writing --------------------------------------------------------------------------------


def test_vendor_change_writes_an_outbox_message_with_the_record_as_the_api_shows_it(legal_entity, usd, clm):
    with transaction.atomic():
        created = vendor(legal_entity, "V-1001", name="Fabrikam Supplies", currency=usd)

    message = OutboxMessage.objects.get()
    assert (message.connection, message.entity, message.legal_entity_code, message.natural_key) == (
        clm,
        "vendors",
        "USMF",
        "V-1001",
    )
    assert message.operation == ChangeOperation.UPSERT
    assert message.change == ChangeLog.objects.get(entity="vendors", object_pk=created.pk)
    assert message.status == WorkStatus.PENDING
    assert message.payload["legal_entity"] == "USMF"
    assert message.payload["account_number"] == "V-1001"
    assert message.payload["name"] == "Fabrikam Supplies"
    assert message.payload["currency"] == "USD"
    assert message.payload["deleted"] is False


def test_rolled_back_change_leaves_no_outbox_message(legal_entity, clm):
    with pytest.raises(RuntimeError), transaction.atomic():
        vendor(legal_entity, "V-1001")
        raise RuntimeError("the change fails after the vendor was saved")

    assert not OutboxMessage.objects.exists()


def test_deletion_is_queued_with_only_the_key(legal_entity, clm):
    gone = vendor(legal_entity, "V-1001")
    OutboxMessage.objects.all().delete()

    gone.delete()

    message = OutboxMessage.objects.get()
    assert message.operation == ChangeOperation.DELETE
    assert message.payload == {"deleted": True, "legal_entity": "USMF", "account_number": "V-1001"}


def test_renamed_key_is_queued_as_deletion_of_the_old_key_and_upsert_of_the_new(legal_entity, clm):
    renamed = vendor(legal_entity, "V-1001")
    renamed.account_number = "V-2002"
    renamed.save()

    assert list(OutboxMessage.objects.values_list("natural_key", "operation")) == [
        ("V-1001", ChangeOperation.UPSERT),
        ("V-1001", ChangeOperation.DELETE),
        ("V-2002", ChangeOperation.UPSERT),
    ]


def test_no_message_for_connections_that_do_not_take_master_data(legal_entity, usd, fake_clm):
    factories.ConnectionFactory(name="Push off", connector="fake", push_master_data=False)
    factories.ConnectionFactory(name="Disabled", connector="fake", push_master_data=True, enabled=False)

    vendor(legal_entity, "V-1001")

    assert not OutboxMessage.objects.exists()


def test_connection_switched_on_gets_the_very_next_change(legal_entity, usd, fake_clm):
    later = factories.ConnectionFactory(name="Later", connector="fake", push_master_data=False)
    with transaction.atomic():
        vendor(legal_entity, "V-1001")
        later.push_master_data = True
        later.save()
        vendor(legal_entity, "V-1002")

    assert list(OutboxMessage.objects.values_list("natural_key", flat=True)) == ["V-1002"]


def test_one_transaction_nudges_each_connection_once(legal_entity, clm, sent_tasks, django_capture_on_commit_callbacks):
    other = factories.ConnectionFactory(name="Other CLM", connector="fake", push_master_data=True)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        vendor(legal_entity, "V-1001")
        vendor(legal_entity, "V-1002")
        vendor(legal_entity, "V-1003")

    assert OutboxMessage.objects.count() == 6
    assert sorted(task.args for task in sent_tasks) == [(clm.pk,), (other.pk,)]


def test_change_after_a_rolled_back_savepoint_still_nudges(
    legal_entity, clm, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            vendor(legal_entity, "V-1001")
            raise RuntimeError("undo the first change")
        vendor(legal_entity, "V-1002")

    assert [task.args for task in sent_tasks] == [(clm.pk,)]


# --- Delivering -----------------------------------------------------------------------------


def test_messages_of_a_record_are_delivered_in_order_and_marked_done(legal_entity, clm, fake_clm):
    first = vendor(legal_entity, "V-1001", name="One")
    vendor(legal_entity, "V-1002")
    first.name = "Two"
    first.save()
    first.delete()

    outbox_deliver(connection_id=clm.pk)

    assert pushed_keys(fake_clm) == [
        ("V-1001", ChangeOperation.UPSERT),
        ("V-1002", ChangeOperation.UPSERT),
        ("V-1001", ChangeOperation.UPSERT),
        ("V-1001", ChangeOperation.DELETE),
    ]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {WorkStatus.DONE}
    assert not OutboxMessage.objects.filter(done_at=None).exists()


def test_failing_record_waits_and_does_not_block_other_records(legal_entity, clm, fake_clm, settings):
    settings.CONNECTOR_BACKOFF_BASE = 30
    failing = vendor(legal_entity, "V-1001", name="One")
    vendor(legal_entity, "V-1002")
    failing.name = "Two"
    failing.save()
    fake_clm.faults.append(TransientError("CLM timed out"))

    outbox_deliver(connection_id=clm.pk)

    assert pushed_keys(fake_clm) == [("V-1002", ChangeOperation.UPSERT)]
    head, behind = OutboxMessage.objects.filter(natural_key="V-1001")
    assert (head.status, head.attempts, head.last_error) == (WorkStatus.PENDING, 1, "TransientError: CLM timed out")
    assert head.next_attempt_at >= timezone.now() + timedelta(seconds=14)
    assert (behind.status, behind.attempts) == (WorkStatus.PENDING, 0)

    make_due(pk=head.pk)
    outbox_deliver(connection_id=clm.pk)

    assert pushed_keys(fake_clm)[1:] == [("V-1001", ChangeOperation.UPSERT)] * 2


def test_transient_failures_back_off_then_become_a_dead_letter(
    legal_entity, clm, fake_clm, settings, sent_tasks, django_capture_on_commit_callbacks
):
    settings.CONNECTOR_MAX_ATTEMPTS = 3
    vendor(legal_entity, "V-1001")
    message = OutboxMessage.objects.get()

    waits = []
    for _attempt in range(3):
        fake_clm.faults.append(TransientError("503 Service Unavailable"))
        make_due(pk=message.pk)
        with django_capture_on_commit_callbacks(execute=True):
            outbox_deliver(connection_id=clm.pk)
        waits.append(sent_tasks[-1].countdown if sent_tasks else None)
        sent_tasks.clear()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (WorkStatus.DEAD, 3)
    assert waits[0] == pytest.approx(1.5, abs=0.6) and waits[1] == pytest.approx(3, abs=1.1)
    assert waits[2] is None  # dead: nothing more to wait for
    letter = DeadLetter.objects.get()
    assert (letter.kind, letter.object_id, letter.connection, letter.attempts) == (
        DeadLetterKind.OUTBOX_MESSAGE,
        message.pk,
        clm,
        3,
    )
    assert "503 Service Unavailable" in letter.error
    assert "V-1001" in letter.summary


def test_retry_after_of_the_clm_is_honoured(
    legal_entity, clm, fake_clm, sent_tasks, django_capture_on_commit_callbacks
):
    vendor(legal_entity, "V-1001")
    fake_clm.faults.append(TransientError("429 Too Many Requests", retry_after=120))

    with django_capture_on_commit_callbacks(execute=True):
        outbox_deliver(connection_id=clm.pk)

    message = OutboxMessage.objects.get()
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=118)
    assert [(task.name, task.args) for task in sent_tasks] == [(deliver_outbox_task.name, (clm.pk,))]
    assert sent_tasks[0].countdown == pytest.approx(120, abs=2)


def test_permanent_error_makes_a_dead_letter_at_once_and_holds_back_its_record(legal_entity, clm, fake_clm):
    rejected = vendor(legal_entity, "V-1001")
    fake_clm.faults.append(PermanentError("400 unknown field"))
    outbox_deliver(connection_id=clm.pk)
    rejected.name = "Changed"
    rejected.save()

    outbox_deliver(connection_id=clm.pk)

    assert fake_clm.pushed == []
    assert list(OutboxMessage.objects.values_list("status", "attempts")) == [
        (WorkStatus.DEAD, 1),
        (WorkStatus.PENDING, 0),
    ]
    assert DeadLetter.objects.get().error == "PermanentError: 400 unknown field"


def test_a_call_stops_at_its_bound_and_nudges_itself(
    legal_entity, clm, fake_clm, monkeypatch, sent_tasks, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "DELIVERY_MAX_MESSAGES", 2)
    for number in range(3):
        vendor(legal_entity, f"V-{number}")

    with django_capture_on_commit_callbacks(execute=True):
        attempted = outbox_deliver(connection_id=clm.pk)

    assert attempted == 2
    assert len(fake_clm.pushed) == 2
    assert [(task.args, task.countdown) for task in sent_tasks] == [((clm.pk,), None)]


def test_switched_off_connection_keeps_its_messages_waiting(legal_entity, clm, fake_clm):
    vendor(legal_entity, "V-1001")
    clm.push_master_data = False
    clm.save()

    assert outbox_deliver(connection_id=clm.pk) == 0

    assert fake_clm.pushed == []
    assert OutboxMessage.objects.get().status == WorkStatus.PENDING


def test_sweeper_nudges_each_connection_with_due_messages_once(legal_entity, clm, fake_clm, sent_tasks):
    waiting = factories.ConnectionFactory(name="Waiting CLM", connector="fake", push_master_data=True)
    vendor(legal_entity, "V-1001")
    vendor(legal_entity, "V-1002")
    OutboxMessage.objects.filter(connection=waiting).update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    outbox_redrive()

    assert [task.args for task in sent_tasks] == [(clm.pk,)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_push_each_message_exactly_once(legal_entity, clm, fake_clm, monkeypatch, sent_tasks):
    for number in range(12):
        vendor(legal_entity, f"V-{number:02d}")
    original_push = FakeConnector.push

    def slow_push(self, message):
        time.sleep(0.02)  # long enough for the other worker to try the same message
        original_push(self, message)

    monkeypatch.setattr(FakeConnector, "push", slow_push)
    start = threading.Barrier(2)
    failures = []

    def worker():
        try:
            start.wait()
            outbox_deliver(connection_id=clm.pk)
        except Exception as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(pushed_keys(fake_clm)) == [(f"V-{number:02d}", ChangeOperation.UPSERT) for number in range(12)]
    assert OutboxMessage.objects.filter(status=WorkStatus.DONE).count() == 12
