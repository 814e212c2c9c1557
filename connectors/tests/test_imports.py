"""Batch import (SPEC §8.8): a package is accepted at once, applied by a worker in chunks,
reports totals and per-record errors, resumes where a dead worker stopped, and changes
nothing when uploaded again."""

import json
import time
from types import SimpleNamespace

import pytest
from django.db import DatabaseError
from django.db.models import Max

from clmsite.testing import wait_for
from connectors import imports
from connectors.imports import PackageBatch, import_run_apply, import_runs_redrive
from connectors.models import DeadLetter, ImportPackage, SyncRun
from connectors.tests.integration.conftest import sync_settings, worker  # noqa: F401 (fixtures)
from contracts.choices import ApiClientRole, ContractFlowName, SyncRunStatus
from contracts.models import Contract, ContractStatusChange, PurchaseAgreement, PurchaseAgreementLine
from contracts.tests import factories
from contracts.tests.api.conftest import api_with_key
from contracts.tests.api.factories import ApiClientFactory
from contracts.tests.api.test_bulk_upsert import record as contract

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"


def agreement(agreement_id: str, **changes) -> dict:
    return {
        "legal_entity": "USMF",
        "agreement_id": agreement_id,
        "vendor": "V-1001",
        "document_title": f"Chairs {agreement_id}",
        "default_effective_date": "2026-01-01",
        **changes,
    }


def line(agreement_id: str, number, **changes) -> dict:
    return {
        "legal_entity": "USMF",
        "agreement_id": agreement_id,
        "line_number": number,
        "commitment_type": "ProductQuantity",
        "product": "CHAIR-1",
        "committed_quantity": 10,
        "price": "9.50",
        **changes,
    }


def package(**sections) -> dict:
    """Three contracts, an agreement and its two lines: six records."""
    return {
        "contracts": [contract(number) for number in range(3)],
        "agreements": [agreement("PA-IMP-1")],
        "lines": [line("PA-IMP-1", 1), line("PA-IMP-1", 2)],
        **sections,
    }


def upload(api, body, content_type="application/json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(URL, data=content, content_type=content_type)


def applied(api, body) -> dict:
    """Uploads, runs the worker as the nudge would, and reads the job."""
    job = upload(api, body).json()
    import_run_apply(run_id=job["id"])
    return api.get(job["url"]).json()


@pytest.fixture
def company(legal_entity):
    usd = factories.CurrencyFactory(code="USD")
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-1001", currency=usd)
    factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)
    factories.ProductFactory(legal_entity=legal_entity, item_number="CHAIR-1")
    return legal_entity


@pytest.fixture
def clm(company):
    return api_with_key(ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[company]))


@pytest.fixture
def nudges(monkeypatch):
    """The run ids the import asked a worker for, instead of sending them to the broker."""
    sent = []
    task = SimpleNamespace(
        delay=lambda run_id: sent.append(run_id), apply_async=lambda args, countdown: sent.append(args[0])
    )
    monkeypatch.setattr(imports, "apply_import_task", task)
    return sent


def test_a_package_is_accepted_at_once_with_its_job_and_nothing_is_applied_before_the_worker_runs(
    clm, nudges, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(clm, package())

    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued"
    assert response["Location"] == job["url"] == f"{URL}{job['id']}/"
    assert nudges == [job["id"]]
    assert not Contract.objects.exists() and not PurchaseAgreement.objects.exists()
    progress = clm.get(job["url"]).json()
    assert (progress["status"], progress["total"], progress["processed"], progress["progress"]) == ("queued", 6, 0, 0)


def test_the_worker_reports_totals_and_every_failed_record_by_position_and_key(clm, nudges, other_legal_entity):
    body = package(
        contracts=[contract(0), contract(1, currency="XYZ"), contract(2, legal_entity="DEMF"), contract(3)],
        lines=[line("PA-IMP-1", 1), line("PA-IMP-1", 2, product="NO-SUCH-ITEM")],
    )

    job = applied(clm, body)

    assert job["status"] == SyncRunStatus.COMPLETED_WITH_ERRORS
    assert (job["total"], job["processed"], job["progress"]) == (7, 7, 100)
    assert job["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "stale": 0, "failed": 3}
    assert job["started_at"] and job["finished_at"]
    errors = clm.get(job["errors_url"]).json()["results"]
    assert [(error["record_key"], error["message"]) for error in errors] == [
        ("contracts[1] USMF/BULK-0001", 'currency: no currency "XYZ" exists.'),
        ("contracts[2] DEMF/BULK-0002", "legal_entity: legal entity DEMF is not granted to you."),
        ("lines[1] USMF/PA-IMP-1/2", 'product: no released product "NO-SUCH-ITEM" exists in legal entity USMF.'),
    ]
    assert errors[2]["record"]["product"] == "NO-SUCH-ITEM"
    assert set(Contract.objects.values_list("contract_id", flat=True)) == {"BULK-0000", "BULK-0003"}
    assert PurchaseAgreementLine.objects.get().line_number == 1


def test_uploading_the_same_bytes_again_finds_every_record_unchanged_and_changes_nothing(clm, nudges):
    body = package(agreements=[agreement("PA-IMP-1"), agreement("", external_contract_id="ext-pa-2")])
    first = applied(clm, body)
    assert first["counts"]["created"] == 7

    def snapshot():
        return [
            (model.objects.count(), model.objects.aggregate(stamp=Max("modified_at"))["stamp"])
            for model in (Contract, PurchaseAgreement, PurchaseAgreementLine)
        ] + [ContractStatusChange.objects.count()]

    before = snapshot()
    again = applied(clm, body)

    assert again["id"] != first["id"]
    assert again["status"] == SyncRunStatus.SUCCEEDED
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 7, "stale": 0, "failed": 0}
    assert snapshot() == before
    assert ImportPackage.objects.count() == 1


def test_a_changed_record_in_a_new_package_is_updated(clm, nudges):
    applied(clm, package())

    job = applied(clm, package(agreements=[agreement("PA-IMP-1", document_title="Desks")]))

    assert job["counts"] == {"created": 0, "updated": 1, "unchanged": 5, "stale": 0, "failed": 0}
    assert PurchaseAgreement.objects.get().document_title == "Desks"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (b'{"contracts": [', None, "parse_error"),
        (b"[]", None, "parse_error"),
        ({"contracts": [], "vendors": []}, "vendors", "unknown_field"),
        ({"contracts": {"legal_entity": "USMF"}}, "contracts", "invalid"),
        ({"contracts": [], "lines": []}, None, "empty"),
        (b'{"contracts": [{"name": "a\\u0000b"}]}', None, "invalid"),
        (b'{"contracts": [{"value": NaN}]}', None, "invalid"),
    ],
    ids=["not-json", "not-an-object", "unknown-section", "not-a-list", "empty", "nul-character", "nan"],
)
def test_a_body_that_is_no_package_is_refused_at_once_naming_the_problem(clm, body, field, code):
    response = upload(clm, body)

    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]
    assert not SyncRun.objects.exists() and not ImportPackage.objects.exists()


def test_a_package_with_too_many_records_is_a_400_naming_the_limit(clm, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_MAX_RECORDS", 5)

    response = upload(clm, package())

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": None, "message": "a package holds at most 5 records; this one has 6. Split it.", "code": "too_many"}
    ]


def test_a_body_over_the_size_limit_is_a_413(clm, settings):
    settings.IMPORT_MAX_BODY_BYTES = 100

    response = upload(clm, package())

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_large"
    assert not SyncRun.objects.exists()


def test_a_body_that_is_not_json_by_its_media_type_is_a_415(clm):
    assert upload(clm, package(), content_type="text/plain").status_code == 415


def test_a_read_only_client_cannot_upload(company):
    reader = api_with_key(ApiClientFactory(role=ApiClientRole.READ_ONLY, legal_entities=[company]))

    assert upload(reader, package()).status_code == 403
    assert not SyncRun.objects.exists()


def test_a_client_sees_only_its_own_jobs(clm, company, nudges):
    job = upload(clm, package()).json()
    other = api_with_key(ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[company]))

    assert other.get(job["url"]).status_code == 404
    assert other.get(job["url"] + "errors/").status_code == 404
    assert clm.get(f"{URL}not-a-number/").status_code == 404
    assert clm.get(f"{URL}99999999999999999999999/").status_code == 404


class WorkerKilled(BaseException):
    """What a worker's death looks like from inside: nothing below catches it."""


def test_a_run_resumes_where_a_killed_worker_stopped_without_counting_twice(clm, nudges, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_CHUNK_SIZE", 2)
    job = upload(clm, package()).json()
    applies_line = PackageBatch.line

    def killed(self, record):
        raise WorkerKilled

    monkeypatch.setattr(PackageBatch, "line", killed)
    with pytest.raises(WorkerKilled):
        import_run_apply(run_id=job["id"])

    run = SyncRun.objects.get(pk=job["id"])
    assert (run.status, run.next_token, run.processed, run.created) == (SyncRunStatus.RUNNING, "4", 4, 4)
    assert not PurchaseAgreementLine.objects.exists()

    monkeypatch.setattr(PackageBatch, "line", applies_line)
    import_run_apply(run_id=job["id"])

    run.refresh_from_db()
    assert (run.status, run.processed, run.created, run.failed) == (SyncRunStatus.SUCCEEDED, 6, 6, 0)
    assert Contract.objects.count() == 3 and PurchaseAgreementLine.objects.count() == 2


def test_a_long_import_hands_over_to_a_fresh_task_after_its_time_slice(
    clm, nudges, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "IMPORT_CHUNK_SIZE", 2)
    monkeypatch.setattr(imports, "IMPORT_TASK_SECONDS", 0)
    job = upload(clm, package()).json()

    with django_capture_on_commit_callbacks(execute=True):
        import_run_apply(run_id=job["id"])

    assert SyncRun.objects.get(pk=job["id"]).processed == 2
    assert nudges == [job["id"]]


def test_a_chunk_the_database_keeps_failing_is_retried_with_backoff_then_dead_lettered(
    clm, nudges, monkeypatch, django_capture_on_commit_callbacks
):
    def database_fails(*args):
        raise DatabaseError("disk full")

    monkeypatch.setattr(imports, "_chunk_apply", database_fails)
    monkeypatch.setattr(imports.retry, "max_attempts", lambda: 2)
    job = upload(clm, package()).json()

    with django_capture_on_commit_callbacks(execute=True):
        import_run_apply(run_id=job["id"])
    run = SyncRun.objects.get(pk=job["id"])
    assert (run.status, run.attempts, run.message) == (SyncRunStatus.RUNNING, 1, "DatabaseError: disk full")
    assert nudges == [job["id"]]

    import_run_apply(run_id=job["id"])
    run.refresh_from_db()
    assert (run.status, run.attempts) == (SyncRunStatus.FAILED, 2)
    assert DeadLetter.objects.get(object_id=run.pk).error == "DatabaseError: disk full"


def test_a_finished_run_is_not_applied_again(clm, nudges):
    job = applied(clm, package())
    Contract.objects.all().delete()

    import_run_apply(run_id=job["id"])

    assert not Contract.objects.exists()


def test_the_sweeper_nudges_only_runs_no_worker_has_moved_for_a_while(clm, nudges, settings):
    stalled, fresh = (upload(clm, package(contracts=[contract(n)])).json()["id"] for n in (1, 2))
    settings.SYNC_RUN_STALL_SECONDS = 60
    SyncRun.objects.filter(pk=stalled).update(created_at=SyncRun.objects.get(pk=stalled).created_at.replace(year=2020))

    assert import_runs_redrive() == 1
    assert nudges == [stalled]
    assert fresh not in nudges


@pytest.mark.integration
def test_a_real_worker_killed_mid_import_and_restarted_applies_every_record_exactly_once(worker, company):  # noqa: F811
    total = 10_000  # chunks are applied as batches now: enough of them that the kill lands mid-import
    clm = api_with_key(ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[company]))
    body = {"contracts": [contract(number) for number in range(total)]}

    job = upload(clm, body).json()
    assert wait_for(lambda: SyncRun.objects.get(pk=job["id"]).processed >= 400, timeout=60), worker.log_tail()
    worker.kill()
    processed_at_kill = SyncRun.objects.get(pk=job["id"]).processed
    worker.start()
    time.sleep(4)  # longer than SYNC_RUN_STALL_SECONDS: the sweeper takes the run for lost
    import_runs_redrive()

    assert wait_for(lambda: not SyncRun.objects.get(pk=job["id"]).is_active, timeout=180), worker.log_tail()
    finished = clm.get(job["url"]).json()
    assert processed_at_kill < total
    assert finished["status"] == SyncRunStatus.SUCCEEDED, finished["message"]
    assert (finished["processed"], finished["counts"]["created"]) == (total, total)
    assert Contract.objects.count() == ContractStatusChange.objects.count() == total  # nothing applied twice

    again = upload(clm, body).json()
    assert wait_for(lambda: not SyncRun.objects.get(pk=again["id"]).is_active, timeout=180), worker.log_tail()
    assert clm.get(again["url"]).json()["counts"]["unchanged"] == total
