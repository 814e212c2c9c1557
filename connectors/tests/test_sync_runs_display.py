"""Sync runs on screen (SPEC §7, §9): the admin lists them with progress, counts and errors,
and the dashboard's panel shows the latest runs per connection, kept current by app.js from
a JSON endpoint that gives figures, never records."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connectors import admin as connectors_admin
from connectors.models import SyncError, SyncRun
from contracts.choices import ApiClientRole, SyncRunKind, SyncRunStatus
from contracts.tests import factories
from contracts.tests.api.factories import ApiClientFactory
from contracts.tests.test_selectors import make_user

pytestmark = pytest.mark.django_db

HOME = reverse("home")
PROGRESS_URL = reverse("contracts:sync_runs")
RECORD = {"legal_entity": "USMF", "contract_id": "CT-9", "name": "Secret terms"}


def run_of(connection, **fields) -> SyncRun:
    return SyncRun.objects.create(connection=connection, kind=fields.pop("kind", SyncRunKind.PULL), **fields)


@pytest.fixture
def clm(db):
    return factories.ConnectionFactory(name="Reference CLM")


@pytest.fixture
def running(clm):
    """A pull a quarter done, after an older finished one; one of its records failed."""
    run_of(clm, status=SyncRunStatus.SUCCEEDED, total=10, processed=10, created=10)
    run = run_of(
        clm,
        status=SyncRunStatus.RUNNING,
        started_at=timezone.now(),
        total=500,
        processed=120,
        created=100,
        unchanged=19,
        failed=1,
    )
    SyncError.objects.create(run=run, record_key="USMF/CT-9", message="currency: no currency XYZ.", record=RECORD)
    return run


@pytest.fixture
def buyer(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity]))
    return client


def test_the_dashboard_shows_the_latest_run_of_each_connection_with_its_progress(buyer, running):
    response = buyer.get(HOME)

    [row] = response.context["sync_runs"]
    assert (row["id"], row["connection"], row["status"], row["progress"]) == (
        running.pk,
        "Reference CLM",
        "running",
        24,
    )
    assert row["progress_text"] == "120 / 500 (24%)"
    assert row["counts_text"] == "100 created, 0 updated, 19 unchanged, 0 stale, 1 failed"
    html = response.content.decode()
    assert f'data-sync-runs-url="{PROGRESS_URL}"' in html
    assert f'<tr data-run-id="{running.pk}" data-active="true">' in html
    assert '<progress max="100" value="24"' in html


def test_the_progress_endpoint_gives_a_running_runs_figures_but_never_its_records(buyer, running):
    body = buyer.get(PROGRESS_URL).json()

    assert body["active"] is True
    [run] = body["runs"]
    assert run["counts"] == {"created": 100, "updated": 0, "unchanged": 19, "stale": 0, "failed": 1}
    assert (run["status_label"], run["colour"], run["progress"]) == ("Running", "blue", 24)
    assert "CT-9" not in str(body) and "Secret terms" not in str(body)


def test_the_progress_endpoint_follows_a_run_to_its_end(buyer, running):
    SyncRun.objects.filter(pk=running.pk).update(status=SyncRunStatus.SUCCEEDED, processed=500)

    body = buyer.get(PROGRESS_URL).json()

    assert body["active"] is False
    assert (body["runs"][0]["progress"], body["runs"][0]["progress_text"]) == (100, "500 / 500 (100%)")


def test_the_progress_endpoint_is_for_signed_in_people_who_see_contracts(client, django_user_model, running):
    assert client.get(PROGRESS_URL).status_code == 403
    client.force_login(make_user(django_user_model, "no-contracts", permissions=()))
    assert client.get(PROGRESS_URL).status_code == 403


def test_an_import_shows_only_to_people_who_see_every_legal_entity_its_client_writes(
    buyer, django_user_model, legal_entity, other_legal_entity
):
    both = ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity, other_legal_entity])
    usmf_only = ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity])
    wide = run_of(None, kind=SyncRunKind.IMPORT, total=5, requested_by=f"api_client:{both.name}")
    narrow = run_of(factories.ConnectionFactory(), kind=SyncRunKind.IMPORT, requested_by=f"api_client:{usmf_only.name}")
    group = Client()
    group.force_login(make_user(django_user_model, "group", permissions=("view_contract", "cross_company")))

    assert [run["id"] for run in buyer.get(PROGRESS_URL).json()["runs"]] == [narrow.pk]
    assert {run["id"] for run in group.get(PROGRESS_URL).json()["runs"]} == {wide.pk, narrow.pk}


def test_the_dashboard_says_so_when_there_is_no_run_yet(buyer):
    response = buyer.get(HOME)

    assert response.context["sync_runs"] == []
    assert "No sync run yet" in response.content.decode()


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:connectors_{model._meta.model_name}_{view}", args=args)


def test_the_admin_lists_runs_with_status_progress_and_counts_and_reloads_while_one_is_active(admin_client, running):
    html = admin_client.get(admin_url(SyncRun, "changelist")).content.decode()

    assert "status-blue" in html and "Running" in html
    assert "120 / 500 (24%)" in html
    assert "100 created, 0 updated, 19 unchanged, 0 stale, 1 failed" in html
    assert '<span class="sync-run-progress" data-active="true">' in html
    assert "connectors/sync_runs.js" in html


def test_a_run_page_shows_its_errors_with_the_offending_record(admin_client, running):
    response = admin_client.get(admin_url(SyncRun, "change", running.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "USMF/CT-9" in html and "currency: no currency XYZ." in html and "Secret terms" in html
    assert f"{admin_url(SyncError, 'changelist')}?run={running.pk}" in html
    errors = admin_client.get(admin_url(SyncError, "changelist"), {"run": running.pk})
    assert errors.status_code == 200 and "USMF/CT-9" in errors.content.decode()


def test_a_run_page_shows_only_the_first_errors_of_many(admin_client, running, monkeypatch):
    monkeypatch.setattr(connectors_admin, "SYNC_RUN_ERRORS_SHOWN", 2)
    for number in (2, 3):
        SyncError.objects.create(run=running, record_key=f"USMF/CT-{number}", message="invalid.")

    html = admin_client.get(admin_url(SyncRun, "change", running.pk)).content.decode()

    assert "USMF/CT-9" in html and "USMF/CT-2" in html and "USMF/CT-3" not in html
    assert "All 3 errors" in html


def test_finished_runs_show_their_duration_and_the_page_no_longer_reloads(admin_client, clm):
    started = timezone.now() - datetime.timedelta(minutes=5)
    run_of(clm, status=SyncRunStatus.FAILED, started_at=started, finished_at=started + datetime.timedelta(seconds=75))

    html = admin_client.get(admin_url(SyncRun, "changelist")).content.decode()

    assert "0:01:15" in html
    assert 'data-active="true"' not in html


def test_runs_are_read_only_in_the_admin(admin_client, running):
    assert admin_client.get(admin_url(SyncRun, "add")).status_code == 403
    assert admin_client.post(admin_url(SyncRun, "delete", running.pk), {"post": "yes"}).status_code == 403
