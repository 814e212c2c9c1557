"""Pulling contracts from a CLM (SPEC §9 pull): paged runs, the watermark, retries, dead
letters, resuming after an interruption, and the operator's ways to start a pull."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connectors import pull
from connectors.base import ContractRecord, PermanentError, PullPage, TransientError
from connectors.deadletters import dead_letter_retry
from connectors.models import Connection, DeadLetter, SyncError, SyncRun
from connectors.pull import pull_run_advance, pull_runs_redrive, pull_schedule_set, pull_start
from connectors.runs import RunTally, contract_record_apply
from connectors.tests.fakes import FakeConnector
from contracts.choices import DeadLetterKind, SyncRunKind, SyncRunStatus
from contracts.models import Contract, ContractStatusChange
from contracts.services import Actor
from contracts.tests import factories

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")


@pytest.fixture
def nudges(monkeypatch) -> list[dict]:
    """The pull task messages sent (and not run): their kwargs and countdown."""
    sent: list[dict] = []

    def apply_async(args=(), kwargs=None, countdown=None, **options):
        sent.append({**(kwargs or {}), "countdown": countdown})

    monkeypatch.setattr(pull.pull_connection_task, "apply_async", apply_async)
    return sent


@pytest.fixture
def clm(legal_entity, fake_clm, nudges):
    factories.ContractTypeFactory(name="NDA", flow="lightweight")
    return factories.ConnectionFactory(name="Fake CLM", connector="fake")


@pytest.fixture
def fetched(monkeypatch) -> list[dict]:
    """What each pull asked the fake CLM for."""
    calls: list[dict] = []
    original = FakeConnector.pull

    def spy(self, *, since, token, full):
        calls.append({"since": since, "token": token, "full": full})
        return original(self, since=since, token=token, full=full)

    monkeypatch.setattr(FakeConnector, "pull", spy)
    return calls


def nda(number: int, **data) -> ContractRecord:
    values = {"name": f"NDA {number}", "contract_type": "NDA", "external_contract_id": f"ext-{number}", **data}
    return ContractRecord("USMF", f"CT-{number:05d}", values)


def put_ndas(fake_clm, count: int, *, start: int = 1) -> None:
    for number in range(start, start + count):
        fake_clm.put(nda(number))


def advance(run: SyncRun) -> None:
    """What a worker does with a nudge, not handing on to a fresh task however slow the machine."""
    pull_run_advance(run_id=run.pk, slice_seconds=None)


def pull_to_end(connection: Connection, *, full: bool = False) -> SyncRun:
    run = pull_start(connection_id=connection.pk, full=full, actor=OPERATOR)
    advance(run)
    return SyncRun.objects.get(pk=run.pk)


def make_due(run: SyncRun) -> None:
    """Time passes: the run's backoff is over."""
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())


def counts(run: SyncRun) -> dict[str, int]:
    fields = ("processed", "created", "updated", "unchanged", "stale", "failed", "pages")
    return {name: getattr(run, name) for name in fields}


# --- Paging and the watermark ---------------------------------------------------------------


def test_paged_pull_applies_every_page_of_contracts_and_counts_them(clm, fake_clm):
    put_ndas(fake_clm, 1250)

    run = pull_to_end(clm)

    assert run.status == SyncRunStatus.SUCCEEDED
    assert counts(run) == {
        "processed": 1250,
        "created": 1250,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "failed": 0,
        "pages": 13,
    }
    assert run.total == 1250
    assert run.started_at and run.finished_at and run.next_token == ""
    assert Contract.objects.filter(connection=clm).count() == 1250


def test_watermark_advances_only_after_the_last_page(clm, fake_clm, nudges):
    put_ndas(fake_clm, 250)
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)

    pull_run_advance(run_id=run.pk, slice_seconds=0)  # one page, then it hands on to a new task

    run.refresh_from_db()
    clm.refresh_from_db()
    assert (run.status, run.pages, run.next_token, run.watermark_to) == (SyncRunStatus.RUNNING, 1, "100", "250")
    assert clm.sync_watermark == "" and clm.last_sync_at is None
    assert nudges == [{"run_id": run.pk, "countdown": None}]

    advance(run)

    clm.refresh_from_db()
    assert clm.sync_watermark == "250" and clm.last_sync_at is not None


def test_second_incremental_pull_starts_at_the_watermark(clm, fake_clm, fetched):
    put_ndas(fake_clm, 30)
    pull_to_end(clm)
    fetched.clear()

    second = pull_to_end(clm)

    assert second.kind == SyncRunKind.PULL and second.watermark_from == "30"
    assert fetched[0] == {"since": "30", "token": "", "full": False}
    assert second.unchanged == 30


def test_full_resync_pulls_everything_regardless_of_the_watermark(clm, fake_clm, fetched):
    put_ndas(fake_clm, 30)
    pull_to_end(clm)
    fake_clm.put(nda(7, name="NDA 7, renamed"))
    fetched.clear()

    resync = pull_to_end(clm, full=True)

    assert resync.kind == SyncRunKind.FULL_RESYNC and resync.watermark_from == ""
    assert fetched[0] == {"since": "", "token": "", "full": True}
    assert (resync.updated, resync.unchanged) == (1, 29)
    assert Contract.objects.get(contract_id="CT-00007").name == "NDA 7, renamed"


# --- Records ----------------------------------------------------------------------------------


def test_contract_from_a_webhook_and_again_from_a_pull_is_applied_once(clm, fake_clm):
    record = nda(1, status="Executed", source_sequence=5)
    contract_record_apply(connection=clm, record=record, actor=Actor.for_connector(clm.name))
    fake_clm.put(record)

    run = pull_to_end(clm)

    assert (run.created, run.unchanged) == (0, 1)
    assert ContractStatusChange.objects.filter(contract__contract_id="CT-00001").count() == 1


def test_bad_record_is_counted_failed_with_its_error_and_the_rest_are_applied(clm, fake_clm):
    put_ndas(fake_clm, 5)
    fake_clm.put(ContractRecord("USMF", "CT-BAD", {"name": "Unknown type", "contract_type": "Lease"}))
    put_ndas(fake_clm, 5, start=6)

    run = pull_to_end(clm)

    assert run.status == SyncRunStatus.COMPLETED_WITH_ERRORS
    assert (run.created, run.failed) == (10, 1)
    error = SyncError.objects.get(run=run)
    assert error.record_key == "USMF/CT-BAD"
    assert 'no contract type "Lease" exists' in error.message
    assert error.record["contract_type"] == "Lease"


# --- Stopping safely --------------------------------------------------------------------------


def test_repeated_continuation_token_stops_the_run_without_moving_the_watermark(clm, monkeypatch):
    pages = {
        "": PullPage([nda(1)], next_token="A", watermark="w2"),
        "A": PullPage([nda(2)], next_token="B", watermark="w2"),
        "B": PullPage([nda(3)], next_token="A", watermark="w2"),
    }
    monkeypatch.setattr(FakeConnector, "pull", lambda self, *, since, token, full: pages[token])

    run = pull_to_end(clm)

    clm.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert run.message == 'The CLM repeated continuation token "A"; stopped so as not to loop.'
    assert (run.pages, run.created) == (2, 2)
    assert clm.sync_watermark == ""
    assert DeadLetter.objects.filter(kind=DeadLetterKind.SYNC_RUN, object_id=run.pk).exists()


def test_transient_error_is_retried_after_a_backoff(
    clm, fake_clm, nudges, settings, django_capture_on_commit_callbacks
):
    settings.CONNECTOR_BACKOFF_BASE = 30
    put_ndas(fake_clm, 150)
    fake_clm.faults.append(TransientError("The CLM timed out."))
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)

    with django_capture_on_commit_callbacks(execute=True):
        advance(run)

    run.refresh_from_db()
    assert (run.status, run.attempts, run.pages) == (SyncRunStatus.RUNNING, 1, 0)
    assert "Attempt 1 at page 1 failed: The CLM timed out." in run.message
    assert run.next_attempt_at > timezone.now() + timedelta(seconds=14)
    assert nudges[-1]["run_id"] == run.pk and 15 <= nudges[-1]["countdown"] <= 30

    advance(run)  # an early nudge: the run is not due yet
    assert SyncRun.objects.get(pk=run.pk).attempts == 1 and fake_clm.calls == ["pull"]

    make_due(run)
    advance(run)

    run.refresh_from_db()
    assert (run.status, run.created, run.attempts, run.message) == (SyncRunStatus.SUCCEEDED, 150, 0, "")


def test_transient_errors_dead_letter_the_run_after_the_last_attempt(clm, fake_clm, settings):
    settings.CONNECTOR_MAX_ATTEMPTS = 3
    put_ndas(fake_clm, 10)
    fake_clm.faults.extend(TransientError(f"HTTP 503 number {n}") for n in range(1, 4))
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)

    for _attempt in range(3):
        make_due(run)
        advance(run)

    run.refresh_from_db()
    assert (run.status, run.attempts) == (SyncRunStatus.FAILED, 3)
    assert run.message == "Gave up after 3 attempts: HTTP 503 number 3"
    letter = DeadLetter.objects.get(kind=DeadLetterKind.SYNC_RUN, object_id=run.pk)
    assert (letter.connection, letter.attempts, letter.error) == (clm, 3, run.message)


def test_permanent_error_fails_the_run_at_once(clm, fake_clm):
    put_ndas(fake_clm, 10)
    fake_clm.faults.append(PermanentError("The CLM refused the credentials (HTTP 401)."))

    run = pull_to_end(clm)

    assert (run.status, run.attempts) == (SyncRunStatus.FAILED, 1)
    assert run.message == "The CLM refused the credentials (HTTP 401)."
    assert DeadLetter.objects.filter(kind=DeadLetterKind.SYNC_RUN, object_id=run.pk).exists()


def test_dead_lettered_run_retried_by_an_admin_resumes_at_its_stored_token(clm, fake_clm, fetched):
    put_ndas(fake_clm, 250)
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)
    pull_run_advance(run_id=run.pk, slice_seconds=0)
    fake_clm.faults.append(PermanentError("The CLM is being migrated."))
    advance(run)
    assert SyncRun.objects.get(pk=run.pk).status == SyncRunStatus.FAILED

    letter = DeadLetter.objects.get(kind=DeadLetterKind.SYNC_RUN, object_id=run.pk)
    dead_letter_retry(dead_letter=letter, actor=OPERATOR)
    advance(run)

    run.refresh_from_db()
    assert [call["token"] for call in fetched] == ["", "100", "100", "200"]
    assert (run.status, run.created, run.pages) == (SyncRunStatus.SUCCEEDED, 250, 3)
    assert Contract.objects.count() == 250


# --- Interruptions and duplicates -------------------------------------------------------------


def test_worker_killed_while_applying_a_page_loses_only_that_page(clm, fake_clm, monkeypatch):
    put_ndas(fake_clm, 300)
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)
    original_add_to = RunTally.add_to
    pages_done = []

    def killed_on_the_second_page(self, run, **extra):
        if pages_done:
            raise SystemExit("worker killed")
        pages_done.append(run.pk)
        original_add_to(self, run, **extra)

    monkeypatch.setattr(RunTally, "add_to", killed_on_the_second_page)
    with pytest.raises(SystemExit):
        advance(run)
    assert SyncRun.objects.get(pk=run.pk).next_token == "100"
    assert Contract.objects.count() == 100

    monkeypatch.setattr(RunTally, "add_to", original_add_to)
    advance(run)  # the redelivered task, in a fresh worker

    run.refresh_from_db()
    assert (run.status, run.created, run.processed, run.pages) == (SyncRunStatus.SUCCEEDED, 300, 300, 3)
    assert Contract.objects.count() == 300


def test_duplicate_nudge_while_a_page_is_fetched_applies_each_page_once(clm, fake_clm, monkeypatch):
    put_ndas(fake_clm, 250)
    run = pull_start(connection_id=clm.pk, full=False, actor=OPERATOR, enqueue=False)
    original = FakeConnector.pull
    duplicates = []

    def fetch_while_another_worker_runs(self, *, since, token, full):
        page = original(self, since=since, token=token, full=full)
        if not duplicates:
            duplicates.append(token)
            advance(run)  # the duplicate message, handled by another worker
        return page

    monkeypatch.setattr(FakeConnector, "pull", fetch_while_another_worker_runs)
    advance(run)

    run.refresh_from_db()
    assert (run.status, run.created, run.processed, run.pages) == (SyncRunStatus.SUCCEEDED, 250, 250, 3)


# --- Starting and redriving -------------------------------------------------------------------


def test_start_queues_a_run_and_nudges_a_worker_once_committed(clm, nudges, django_capture_on_commit_callbacks):
    Connection.objects.filter(pk=clm.pk).update(sync_watermark="w-17")

    with django_capture_on_commit_callbacks(execute=True):
        run = pull_start(connection_id=clm.pk, actor=Actor.system("scheduler"))

    assert (run.kind, run.status, run.watermark_from, run.requested_by) == (
        SyncRunKind.PULL,
        SyncRunStatus.QUEUED,
        "w-17",
        "system:scheduler",
    )
    assert nudges == [{"run_id": run.pk, "countdown": None}]


def test_start_while_a_pull_is_active_returns_that_run(clm):
    running = pull_start(connection_id=clm.pk, actor=OPERATOR)

    again = pull_start(connection_id=clm.pk, full=True, actor=OPERATOR)

    assert again == running
    assert SyncRun.objects.count() == 1


def test_disabled_or_unknown_connection_gets_no_pull(clm):
    clm.enabled = False
    clm.save()

    assert pull_start(connection_id=clm.pk, actor=OPERATOR) is None
    assert pull_start(connection_id=999_999, actor=OPERATOR) is None
    assert not SyncRun.objects.exists()


def test_sweep_nudges_stalled_and_due_runs_only(legal_entity, nudges, settings):
    settings.SYNC_RUN_STALL_SECONDS = 60
    now = timezone.now()
    long_ago, moment_ago = now - timedelta(minutes=5), now - timedelta(seconds=5)

    def run(status=SyncRunStatus.RUNNING, **fields):
        connection = factories.ConnectionFactory(connector="fake")
        return SyncRun.objects.create(connection=connection, kind=SyncRunKind.PULL, status=status, **fields)

    queued_and_lost = run(SyncRunStatus.QUEUED, created_at=long_ago)
    worker_died = run(heartbeat_at=long_ago)
    retry_due = run(heartbeat_at=moment_ago, next_attempt_at=now - timedelta(seconds=1))
    run(SyncRunStatus.QUEUED, created_at=moment_ago)
    run(heartbeat_at=moment_ago)
    run(heartbeat_at=long_ago, next_attempt_at=now + timedelta(minutes=1))
    run(SyncRunStatus.FAILED, heartbeat_at=long_ago)

    assert pull_runs_redrive() == 3
    assert sorted(nudge["run_id"] for nudge in nudges) == sorted([queued_and_lost.pk, worker_died.pk, retry_due.pk])


def test_disabling_a_connection_cancels_its_running_pull(clm, fake_clm):
    put_ndas(fake_clm, 10)
    run = pull_start(connection_id=clm.pk, actor=OPERATOR)
    Connection.objects.filter(pk=clm.pk).update(enabled=False)

    advance(run)

    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED and fake_clm.calls == []


# --- Schedules ------------------------------------------------------------------------------


def test_schedule_pulls_the_connection_on_its_interval(clm):
    schedule = pull_schedule_set(connection=clm, every_minutes=15, actor=OPERATOR)

    clm.refresh_from_db()
    assert clm.poll_schedule == schedule
    assert (schedule.task, schedule.kwargs, schedule.enabled) == (
        "connectors.tasks.pull_connection_task",
        f'{{"connection_id": {clm.pk}}}',
        True,
    )
    assert (schedule.interval.every, schedule.interval.period) == (15, "minutes")
    assert pull.pull_schedule_minutes(clm) == 15


def test_switching_the_schedule_off_keeps_it_disabled(clm):
    pull_schedule_set(connection=clm, every_minutes=15, actor=OPERATOR)

    pull_schedule_set(connection=clm, every_minutes=None, actor=OPERATOR)

    assert PeriodicTask.objects.get(pk=clm.poll_schedule_id).enabled is False
    assert pull.pull_schedule_minutes(clm) is None


# --- Operator commands ------------------------------------------------------------------------


def test_sync_now_wait_runs_the_pull_here_and_prints_the_counts(clm, fake_clm):
    put_ndas(fake_clm, 120)
    out = StringIO()

    call_command("sync_now", "Fake CLM", "--wait", stdout=out)

    run = SyncRun.objects.get()
    assert run.status == SyncRunStatus.SUCCEEDED
    assert f"Incremental pull #{run.pk} of Fake CLM: succeeded; 120 records in 2 pages" in out.getvalue()
    assert "(120 created, 0 updated, 0 unchanged, 0 stale, 0 failed)" in out.getvalue()


def test_sync_now_wait_waits_out_a_transient_error(clm, fake_clm, settings):
    settings.CONNECTOR_BACKOFF_BASE = 0.05
    put_ndas(fake_clm, 10)
    fake_clm.faults.append(TransientError("HTTP 502"))
    out = StringIO()

    call_command("sync_now", "Fake CLM", "--full", "--wait", stdout=out)

    assert "Full resync" in out.getvalue() and "succeeded; 10 records" in out.getvalue()


def test_sync_now_queues_the_pull_and_prints_its_run_id(clm, django_capture_on_commit_callbacks, nudges):
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("sync_now", "Fake CLM", stdout=out)

    run = SyncRun.objects.get()
    assert out.getvalue().strip() == f"Incremental pull #{run.pk} of Fake CLM is queued: run id {run.pk}."
    assert nudges == [{"run_id": run.pk, "countdown": None}]


def test_sync_now_names_the_problem_with_the_connection(clm):
    with pytest.raises(CommandError, match=r'no connection "Nope" \(connections: Fake CLM\)'):
        call_command("sync_now", "Nope")
    Connection.objects.filter(pk=clm.pk).update(enabled=False)
    with pytest.raises(CommandError, match="is disabled"):
        call_command("sync_now", "Fake CLM")


def test_sync_now_wait_fails_with_the_reason(clm, fake_clm):
    fake_clm.faults.append(PermanentError("Bad credentials."))

    with pytest.raises(CommandError, match="failed.*Bad credentials"):
        call_command("sync_now", "Fake CLM", "--wait")


# --- Admin ------------------------------------------------------------------------------------


def run_action(admin_client, action: str, *connections: Connection):
    url = reverse("admin:connectors_connection_changelist")
    data = {"action": action, ACTION_CHECKBOX_NAME: [c.pk for c in connections]}
    return admin_client.post(url, data, follow=True)


@pytest.mark.parametrize(("action", "kind"), [("sync_now", "Incremental pull"), ("full_resync", "Full resync")])
def test_admin_action_queues_a_pull_and_names_the_run(admin_client, clm, action, kind):
    response = run_action(admin_client, action, clm)

    run = SyncRun.objects.get()
    assert f"{kind} #{run.pk} of Fake CLM queued (run {run.pk})." in response.content.decode()
    assert run.requested_by == "user:admin"


def test_admin_sync_now_reports_the_pull_already_running(admin_client, clm):
    running = pull_start(connection_id=clm.pk, actor=OPERATOR)

    response = run_action(admin_client, "sync_now", clm)

    assert f"Fake CLM already has Incremental pull #{running.pk} queued" in response.content.decode()


def test_admin_sets_the_pull_interval_in_minutes(admin_client, clm):
    url = reverse("admin:connectors_connection_change", args=[clm.pk])
    form = {
        "name": clm.name,
        "connector": clm.connector,
        "base_url": clm.base_url,
        "enabled": "on",
        "settings": "{}",
        "poll_every_minutes": "20",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302
    clm.refresh_from_db()
    assert pull.pull_schedule_minutes(clm) == 20
    page = admin_client.get(url).content.decode()
    assert re.search(r'name="poll_every_minutes" value="20"', page)
    assert "Pull from Fake CLM" in page
