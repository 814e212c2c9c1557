"""The dead-letter list (SPEC §7, §9): admins retry or discard work that ran out of
attempts, whatever its kind, and the item itself goes back to work or is closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.base import PermanentError
from connectors.deadletters import dead_letter_add, dead_letter_discard, dead_letter_retry
from connectors.models import DeadLetter, InboundEvent, OutboxMessage, SyncRun
from connectors.outbox import outbox_deliver
from connectors.tasks import apply_import_task, apply_inbound_event_task, deliver_outbox_task, pull_connection_task
from connectors.tests.test_outbox import SentTask, record_sent_tasks
from contracts.choices import DeadLetterKind, SyncRunKind, SyncRunStatus, WorkStatus
from contracts.services import Actor, ValidationFailed
from contracts.tests import factories

pytestmark = pytest.mark.django_db

ADMIN = Actor.system("test-admin")


@pytest.fixture
def sent_tasks(monkeypatch) -> list[SentTask]:
    return record_sent_tasks(monkeypatch)


@pytest.fixture
def clm(fake_clm):
    return factories.ConnectionFactory(name="Fake CLM", connector="fake", push_master_data=True)


@pytest.fixture
def dead_event(clm):
    event = InboundEvent.objects.create(
        connection=clm, event_id="evt-1", payload={}, status=WorkStatus.DEAD, attempts=8, last_error="timeout"
    )
    dead_letter_add(
        kind=DeadLetterKind.INBOUND_EVENT, item=event, connection=clm, summary="evt-1", error="timeout", attempts=8
    )
    return event


def dead_run(clm, *, kind=SyncRunKind.PULL, **fields) -> SyncRun:
    fields = {"started_at": timezone.now(), "next_token": "page-7", **fields}
    run = SyncRun.objects.create(
        connection=clm,
        kind=kind,
        status=SyncRunStatus.FAILED,
        finished_at=timezone.now(),
        attempts=8,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        message="CLM unreachable",
        **fields,
    )
    dead_letter_add(
        kind=DeadLetterKind.SYNC_RUN, item=run, connection=clm, summary=str(run), error="unreachable", attempts=8
    )
    return run


@pytest.fixture
def blocked_record(legal_entity, clm, fake_clm):
    """A vendor whose first change the CLM rejected, and a second change waiting behind it."""
    factories.CurrencyFactory(code="USD")
    OutboxMessage.objects.all().delete()
    rejected = factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", name="One")
    fake_clm.faults.append(PermanentError("400 unknown field"))
    outbox_deliver(connection_id=clm.pk)
    rejected.name = "Two"
    rejected.save()
    outbox_deliver(connection_id=clm.pk)
    assert fake_clm.pushed == []
    return DeadLetter.objects.get(kind=DeadLetterKind.OUTBOX_MESSAGE)


def letter_of(item) -> DeadLetter:
    kind = DeadLetterKind.SYNC_RUN if isinstance(item, SyncRun) else DeadLetterKind.INBOUND_EVENT
    return DeadLetter.objects.get(kind=kind, object_id=item.pk)


def test_adding_the_same_item_twice_keeps_one_entry_with_the_latest_error(dead_event, clm):
    dead_letter_add(
        kind=DeadLetterKind.INBOUND_EVENT, item=dead_event, connection=clm, summary="evt-1", error="again", attempts=9
    )

    letter = DeadLetter.objects.get()
    assert (letter.error, letter.attempts) == ("again", 9)


def test_retried_event_is_due_again_with_attempts_reset_and_nudged(
    dead_event, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_retry(dead_letter=letter_of(dead_event), actor=ADMIN)

    dead_event.refresh_from_db()
    assert (dead_event.status, dead_event.attempts) == (WorkStatus.PENDING, 0)
    assert dead_event.next_attempt_at <= timezone.now()
    assert not DeadLetter.objects.exists()
    assert [(task.name, task.args) for task in sent_tasks] == [(apply_inbound_event_task.name, (dead_event.pk,))]


def test_discarded_event_is_closed_and_not_nudged(dead_event, sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_discard(dead_letter=letter_of(dead_event), actor=ADMIN)

    dead_event.refresh_from_db()
    assert dead_event.status == WorkStatus.DISCARDED
    assert not DeadLetter.objects.exists()
    assert sent_tasks == []


def test_retried_outbox_message_is_delivered_and_releases_the_changes_behind_it(
    blocked_record, clm, fake_clm, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_retry(dead_letter=blocked_record, actor=ADMIN)
    outbox_deliver(connection_id=clm.pk)

    assert [(task.name, task.args) for task in sent_tasks] == [(deliver_outbox_task.name, (clm.pk,))]
    assert [(key, operation) for _entity, _le, key, operation in fake_clm.pushed] == [("V-1001", "upsert")] * 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {WorkStatus.DONE}
    assert not DeadLetter.objects.exists()


def test_discarded_outbox_message_releases_the_changes_behind_it(
    blocked_record, clm, fake_clm, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_discard(dead_letter=blocked_record, actor=ADMIN)
    outbox_deliver(connection_id=clm.pk)

    assert [(task.name, task.args) for task in sent_tasks] == [(deliver_outbox_task.name, (clm.pk,))]
    assert list(OutboxMessage.objects.values_list("status", flat=True)) == [WorkStatus.DISCARDED, WorkStatus.DONE]
    assert len(fake_clm.pushed) == 1


def test_retried_pull_resumes_at_its_stored_token(clm, sent_tasks, django_capture_on_commit_callbacks):
    run = dead_run(clm)

    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_retry(dead_letter=letter_of(run), actor=ADMIN)

    run.refresh_from_db()
    assert (run.status, run.attempts, run.next_token) == (SyncRunStatus.RUNNING, 0, "page-7")
    assert run.finished_at is None and run.next_attempt_at is None
    assert "test-admin" in run.message
    assert [(task.name, task.kwargs) for task in sent_tasks] == [(pull_connection_task.name, {"run_id": run.pk})]


def test_retried_import_is_nudged_to_the_import_worker(clm, sent_tasks, django_capture_on_commit_callbacks):
    run = dead_run(None, kind=SyncRunKind.IMPORT, started_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_retry(dead_letter=letter_of(run), actor=ADMIN)

    run.refresh_from_db()
    assert run.status == SyncRunStatus.QUEUED
    assert [(task.name, task.args) for task in sent_tasks] == [(apply_import_task.name, (run.pk,))]


def test_pull_is_not_retried_while_another_pull_of_its_connection_is_active(clm, sent_tasks):
    run = dead_run(clm)
    active = SyncRun.objects.create(connection=clm, kind=SyncRunKind.FULL_RESYNC, status=SyncRunStatus.RUNNING)

    with pytest.raises(ValidationFailed) as failure:
        dead_letter_retry(dead_letter=letter_of(run), actor=ADMIN)

    assert failure.value.problems[0].code == "conflict"
    assert str(active) in failure.value.problems[0].message
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert letter_of(run)


def test_discarded_run_is_cancelled(clm):
    run = dead_run(clm)

    dead_letter_discard(dead_letter=letter_of(run), actor=ADMIN)

    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED
    assert not DeadLetter.objects.exists()


def test_item_that_is_no_longer_dead_is_not_retried_but_can_be_discarded(dead_event):
    InboundEvent.objects.filter(pk=dead_event.pk).update(status=WorkStatus.DONE)

    with pytest.raises(ValidationFailed, match="no longer dead"):
        dead_letter_retry(dead_letter=letter_of(dead_event), actor=ADMIN)
    dead_letter_discard(dead_letter=letter_of(dead_event), actor=ADMIN)

    dead_event.refresh_from_db()
    assert dead_event.status == WorkStatus.DONE
    assert not DeadLetter.objects.exists()


# --- Admin ----------------------------------------------------------------------------------


def changelist(model) -> str:
    return reverse(f"admin:connectors_{model._meta.model_name}_changelist")


def test_dead_letter_list_shows_the_entries_and_cannot_add(admin_client, dead_event):
    page = admin_client.get(changelist(DeadLetter), {"kind": DeadLetterKind.INBOUND_EVENT})

    assert page.status_code == 200
    assert b"evt-1" in page.content
    assert b"Inbound webhook event" in page.content
    assert admin_client.get(reverse("admin:connectors_deadletter_add")).status_code == 403
    detail = admin_client.get(reverse("admin:connectors_deadletter_change", args=[letter_of(dead_event).pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content


def test_admin_retry_action_retries_the_selected_entries(admin_client, dead_event, sent_tasks):
    answer = admin_client.post(
        changelist(DeadLetter), {"action": "retry", "_selected_action": [letter_of(dead_event).pk]}, follow=True
    )

    assert "Retried 1 dead letter(s)." in answer.content.decode()
    dead_event.refresh_from_db()
    assert dead_event.status == WorkStatus.PENDING


def test_admin_retry_action_reports_why_an_entry_could_not_be_retried(admin_client, clm, dead_event):
    run = dead_run(clm)
    SyncRun.objects.create(connection=clm, kind=SyncRunKind.PULL, status=SyncRunStatus.QUEUED)
    selected = [letter_of(run).pk, letter_of(dead_event).pk]

    answer = admin_client.post(changelist(DeadLetter), {"action": "retry", "_selected_action": selected}, follow=True)

    content = answer.content.decode()
    assert "already running for this connection" in content
    assert "Retried 1 dead letter(s)." in content
    assert list(DeadLetter.objects.values_list("kind", "object_id")) == [(DeadLetterKind.SYNC_RUN, run.pk)]


def test_admin_discard_action_discards_the_selected_entries(admin_client, dead_event):
    answer = admin_client.post(
        changelist(DeadLetter), {"action": "discard", "_selected_action": [letter_of(dead_event).pk]}, follow=True
    )

    assert "Discarded 1 dead letter(s)." in answer.content.decode()
    dead_event.refresh_from_db()
    assert dead_event.status == WorkStatus.DISCARDED


def test_outbox_list_filters_by_status_and_searches_by_key(admin_client, blocked_record):
    dead = admin_client.get(changelist(OutboxMessage), {"status": WorkStatus.DEAD})
    found = admin_client.get(changelist(OutboxMessage), {"q": "V-1001"})
    missed = admin_client.get(changelist(OutboxMessage), {"q": "V-9999"})

    assert dead.context["cl"].result_count == 1
    assert found.context["cl"].result_count == 2
    assert missed.context["cl"].result_count == 0


def test_connection_page_lets_an_admin_switch_master_data_push(admin_client, clm):
    page = admin_client.get(reverse("admin:connectors_connection_change", args=[clm.pk]))

    assert b'name="push_master_data"' in page.content
