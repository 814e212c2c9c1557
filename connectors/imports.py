"""Batch import (SPEC §8.8): the CLM uploads a package of contracts, agreements and lines,
gets a job id at once, and a worker applies it.

A package is ``{"contracts": [...], "agreements": [...], "lines": [...]}`` with records in
the shapes the API's own endpoints take, written through the same translation
(``contracts.api.views.ContractBatch``) as the uploading API client, so an imported record
meets exactly the rules of one sent alone. Every record is keyed (a line by its line
number too), so re-uploading a package finds everything unchanged.

The run is the record of the work: its ``next_token`` holds the position reached,
committed with each chunk's records and counts, so a worker that dies resumes there and
counts nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from contracts.api.permissions import Caller
from contracts.api.serializers import (
    AGREEMENT_SHOWN_ONLY,
    TRACKING,
    AddressedLineInputSerializer,
    AgreementInputSerializer,
    parse_input,
)
from contracts.api.views import ContractBatch, agreement_write, line_write
from contracts.choices import ActorKind, DeadLetterKind, SyncRunKind, SyncRunStatus
from contracts.models import ApiClient, PurchaseAgreement, PurchaseAgreementLine
from contracts.services import Problem, UpsertOutcome, ValidationFailed, agreement_find

from . import retry
from .deadletters import dead_letter_add
from .models import ImportPackage, SyncRun
from .runs import RunTally, sync_run_finish
from .tasks import apply_import_task

logger = logging.getLogger(__name__)

# Applied in this order, so agreements find their contracts and lines their agreements.
SECTIONS = ("contracts", "agreements", "lines")
IMPORT_MAX_RECORDS = 100_000
IMPORT_CHUNK_SIZE = 200  # records per transaction: the unit of progress and of resuming
IMPORT_TASK_SECONDS = 60  # then a fresh task carries on, so no task nears Celery's time limit
# The fields that name a record in its errors; the first present of each group is shown.
RECORD_KEYS = {
    "contracts": (("legal_entity",), ("contract_id",)),
    "agreements": (("legal_entity",), ("agreement_id", "external_contract_id")),
    "lines": (("legal_entity",), ("agreement_id", "external_contract_id"), ("line_number",)),
}
# A \u0000 escape not itself escaped: PostgreSQL cannot store the NUL character in text or JSON.
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
NOT_AN_OBJECT = {"errors": [Problem(None, "a record must be a JSON object.", "parse_error").as_dict()]}


class PackageRefused(Exception):
    """The upload is not a package that can be applied; nothing was stored."""

    def __init__(self, *problems: Problem, too_large: bool = False):
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = list(problems)
        self.too_large = too_large


def import_package_submit(*, content: bytes, api_client: ApiClient) -> SyncRun:
    """Stores the package and queues its run; the worker applies it once this commits.

    Raises ``PackageRefused`` when the upload is not a package (not JSON, wrong shape, too
    big). The same bytes uploaded again reuse the stored package, and while the client's
    run of it is still queued or running, that run is the answer.
    """
    package_content = _package_parse(content)
    requested_by = Caller(api_client=api_client).actor.label
    with transaction.atomic():
        package, _ = ImportPackage.objects.get_or_create(
            sha256=hashlib.sha256(content).hexdigest(),
            defaults={"content": package_content, "size": len(content), "uploaded_by": requested_by},
        )
        active = import_runs_of(api_client).filter(package=package, status__in=SyncRunStatus.active()).first()
        if active is not None:
            return active
        run = SyncRun.objects.create(
            kind=SyncRunKind.IMPORT,
            connection=api_client.connection,
            package=package,
            total=_record_count(package_content),
            requested_by=requested_by,
        )
        transaction.on_commit(lambda: apply_import_task.delay(run.pk))
    return run


def import_runs_of(api_client: ApiClient) -> QuerySet[SyncRun]:
    """The import runs an API client uploaded: the only ones it may see."""
    return SyncRun.objects.filter(kind=SyncRunKind.IMPORT, requested_by=Caller(api_client=api_client).actor.label)


def import_uploader(run: SyncRun) -> ApiClient | None:
    """The API client whose upload the run applies, named in ``requested_by`` by its actor label."""
    kind, _, name = run.requested_by.partition(":")
    return ApiClient.objects.filter(name=name).first() if kind == ActorKind.API_CLIENT else None


def import_run_apply(*, run_id: int) -> None:
    """Applies the run's package from the position reached, a chunk per transaction.

    Does nothing if the run is finished or another worker holds it. After the chunk that
    ends ``IMPORT_TASK_SECONDS`` it nudges a fresh task to go on.
    """
    caller = _run_start(run_id)
    if caller is None:
        return
    package = ImportPackage.objects.get(runs__pk=run_id)
    records = [
        (section, index, record)
        for section in SECTIONS
        for index, record in enumerate(package.content.get(section, ()))
    ]
    batch = PackageBatch(caller)
    deadline = time.monotonic() + IMPORT_TASK_SECONDS
    while True:
        try:
            with transaction.atomic():
                run = _run_locked(run_id)
                if run is None:
                    return
                position = int(run.next_token or 0)
                if position >= len(records):
                    sync_run_finish(run=run)
                    return
                _chunk_apply(run, batch, records, position)
        except Exception as error:  # the database failed us, not a record (those fail one by one)
            logger.exception("Import run %s stopped at a chunk", run_id)
            _run_retry_later(run_id, error)
            return
        if time.monotonic() >= deadline:
            transaction.on_commit(lambda: apply_import_task.delay(run_id))
            return


def import_runs_redrive() -> int:
    """Nudges the import runs that no worker has moved for ``SYNC_RUN_STALL_SECONDS``."""
    stalled_since = timezone.now() - timedelta(seconds=settings.SYNC_RUN_STALL_SECONDS)
    stalled = list(
        SyncRun.objects.filter(kind=SyncRunKind.IMPORT, status__in=SyncRunStatus.active())
        .annotate(last_seen=Coalesce("heartbeat_at", "created_at"))
        .filter(last_seen__lt=stalled_since)
        .values_list("pk", flat=True)
    )
    for run_id in stalled:
        apply_import_task.delay(run_id)
    return len(stalled)


class PackageBatch(ContractBatch):
    """Writes one package's records as its uploader would through the API: a chunk's
    contracts as one batch, agreements and lines one by one."""

    def apply(self, section: str, record: Any) -> dict:
        """``{"outcome": …}`` or ``{"errors": […]}``; never raises, so a record that trips
        over a bug fails alone instead of stopping the import at it forever."""
        try:
            with transaction.atomic():
                if section == "contracts":
                    return self.upsert(0, record)
                if section == "agreements":
                    return self.agreement(record)
                return self.line(record)
        except Exception:
            logger.exception("Import record in %s failed unexpectedly", section)
            failed = Problem(None, "clmsite failed to apply this record; the error is logged.", "server_error")
            return {"errors": [failed.as_dict()]}

    def contracts(self, records: list[Any]) -> list[dict]:
        """The chunk's contracts as one batch; should it trip over a bug, they are applied one
        by one, so that only the record at fault fails."""
        try:
            with transaction.atomic():
                return self.upsert_all(records)
        except Exception:
            logger.exception("Import batch of %s contracts failed unexpectedly; applying them one by one", len(records))
            return [self.apply("contracts", record) for record in records]

    def agreement(self, record: Any) -> dict:
        """Creates or updates the header keyed by agreement id, or else by external contract id."""
        if not isinstance(record, dict):
            return NOT_AN_OBJECT
        values, problems = parse_input(AgreementInputSerializer, record, ignore=AGREEMENT_SHOWN_ONLY)
        entity = self.entity(values.pop("legal_entity", None), problems)
        if problems:
            return {"errors": [found.as_dict() for found in problems]}

        def upsert() -> str:
            agreement_id = values.pop("agreement_id", None)
            existing = _existing(
                legal_entity=entity, agreement_id=agreement_id, external_contract_id=values.get("external_contract_id")
            )
            if existing is None and agreement_id:
                values["agreement_id"] = agreement_id
            saved = agreement_write(self.caller, entity=entity, agreement=existing, values=values)
            return _outcome(existing, saved)

        return self.saved(upsert)

    def line(self, record: Any) -> dict:
        """Creates or updates the line keyed by its agreement and line number."""
        if not isinstance(record, dict):
            return NOT_AN_OBJECT
        values, problems = parse_input(AddressedLineInputSerializer, record, ignore=TRACKING)
        entity = self.entity(values.pop("legal_entity", None), problems)
        number = values.pop("line_number", None)
        if number is None and not any(found.field == "line_number" for found in problems):
            problems.append(
                Problem(
                    "line_number",
                    "is required in a package: it is the line's key, so that a re-upload updates the line "
                    "instead of adding another.",
                    "required",
                )
            )
        if problems:
            return {"errors": [found.as_dict() for found in problems]}

        def upsert() -> str:
            agreement = agreement_find(
                legal_entity=entity,
                agreement_id=values.pop("agreement_id", None),
                external_contract_id=values.pop("external_contract_id", None),
            )
            existing = PurchaseAgreementLine.objects.filter(agreement=agreement, line_number=number).first()
            saved = line_write(self.caller, agreement=agreement, line=existing, number=number, values=values)
            return _outcome(existing, saved)

        return self.saved(upsert)


def _package_parse(content: bytes) -> dict[str, list]:
    """The package as JSON, or ``PackageRefused`` naming what makes it no package."""
    limit = settings.IMPORT_MAX_BODY_BYTES
    if len(content) > limit:
        raise PackageRefused(
            Problem(None, f"the package is larger than {limit:,} bytes; split it into smaller ones.", "too_large"),
            too_large=True,
        )
    try:
        package = json.loads(content)
    except RecursionError:
        raise PackageRefused(
            Problem(None, "the package is nested too deeply to be JSON records.", "parse_error")
        ) from None
    except ValueError as error:
        raise PackageRefused(Problem(None, f"the package is not valid JSON: {error}.", "parse_error")) from None
    if not isinstance(package, dict):
        shape = ", ".join(f'"{section}": [...]' for section in SECTIONS)
        raise PackageRefused(Problem(None, f"the package must be a JSON object: {{{shape}}}.", "parse_error"))
    _check_storable(package)  # first: the problems below name keys, which must be text
    problems = [
        Problem(key, f"is not a section of a package; the sections are {', '.join(SECTIONS)}.", "unknown_field")
        for key in package
        if key not in SECTIONS
    ]
    problems += [
        Problem(section, "must be a list of records.", "invalid")
        for section in SECTIONS
        if section in package and not isinstance(package[section], list)
    ]
    if problems:
        raise PackageRefused(*problems)
    total = _record_count(package)
    if not total:
        raise PackageRefused(Problem(None, "the package holds no records.", "empty"))
    if total > IMPORT_MAX_RECORDS:
        raise PackageRefused(
            Problem(
                None,
                f"a package holds at most {IMPORT_MAX_RECORDS:,} records; this one has {total:,}. Split it.",
                "too_many",
            )
        )
    return package


def _record_count(package: dict[str, list]) -> int:
    return sum(len(package.get(section, ())) for section in SECTIONS)


def _check_storable(package: dict) -> None:
    """Refuses what JSON parses but the database cannot store (PostgreSQL's jsonb above all)."""
    try:
        text = json.dumps(package, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise PackageRefused(
            Problem(None, "the package holds NaN or Infinity, which are not JSON numbers.", "invalid")
        ) from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Not echoed: the offending character cannot be written into the answer either.
        raise PackageRefused(
            Problem(None, "the package holds a lone UTF-16 surrogate, which is not text.", "invalid")
        ) from None
    if NUL_ESCAPE.search(text):
        raise PackageRefused(
            Problem(None, "the package holds the NUL character (\\u0000), which is not text.", "invalid")
        )


def _run_start(run_id: int) -> Caller | None:
    """Marks a queued run running and answers as whom to apply it; None when there is
    nothing to do (finished, held by another worker) or the uploader may no longer write."""
    with transaction.atomic():
        run = _run_locked(run_id)
        if run is None:
            return None
        uploader = import_uploader(run)
        if uploader is None or not uploader.is_active or uploader.is_revoked or not uploader.acts_for_clm:
            sync_run_finish(
                run=run, failed=True, message=f"{run.requested_by} may no longer write, so the package is not applied."
            )
            return None
        if run.status == SyncRunStatus.QUEUED:
            run.status, run.started_at, run.heartbeat_at = SyncRunStatus.RUNNING, timezone.now(), timezone.now()
            run.save(update_fields=["status", "started_at", "heartbeat_at"])
    return Caller(api_client=uploader)


def _run_locked(run_id: int) -> SyncRun | None:
    return (
        SyncRun.objects.select_for_update(skip_locked=True)
        .filter(pk=run_id, kind=SyncRunKind.IMPORT, status__in=SyncRunStatus.active())
        .first()
    )


def _chunk_apply(run: SyncRun, batch: PackageBatch, records: list[tuple[str, int, Any]], position: int) -> None:
    """Applies the chunk at ``position`` and records it, counts and position together."""
    chunk = records[position : position + IMPORT_CHUNK_SIZE]
    tally = RunTally()
    contracts = [record for section, _, record in chunk if section == "contracts"]
    contract_results = iter(batch.contracts(contracts) if contracts else ())
    for section, index, record in chunk:
        result = next(contract_results) if section == "contracts" else batch.apply(section, record)
        if "outcome" in result:
            tally.counts[result["outcome"]] += 1
        else:
            tally.fail(_record_key(section, index, record), _errors_text(result["errors"]), record)
    tally.add_to(run, next_token=str(position + len(chunk)), attempts=0)


def _run_retry_later(run_id: int, error: Exception) -> None:
    """Counts a failed attempt at a chunk; tries again after a backoff, or gives up for good."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().filter(pk=run_id, status__in=SyncRunStatus.active()).first()
        if run is None:
            return
        run.attempts += 1
        run.message = f"{type(error).__name__}: {error}"
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["attempts", "message", "heartbeat_at"])
        if run.attempts < retry.max_attempts():
            countdown = retry.backoff_seconds(run.attempts)
            transaction.on_commit(lambda: apply_import_task.apply_async((run_id,), countdown=countdown))
            return
        sync_run_finish(run=run, failed=True)
        dead_letter_add(
            kind=DeadLetterKind.SYNC_RUN,
            item=run,
            connection=run.connection,
            summary=f"{run} by {run.requested_by}, stopped at record {run.next_token or 0} of {run.total}",
            error=run.message,
            attempts=run.attempts,
        )


def _existing(**key) -> PurchaseAgreement | None:
    """The agreement ``agreement_find`` names, or None where it finds none."""
    try:
        return agreement_find(**key)
    except ValidationFailed as failure:
        if all(problem.code == "not_found" for problem in failure.problems):
            return None
        raise


def _outcome(existing, saved) -> str:
    if existing is None:
        return UpsertOutcome.CREATED
    # The services save only when a value differs, and every save moves the stamp.
    return UpsertOutcome.UPDATED if saved.modified_at != existing.modified_at else UpsertOutcome.UNCHANGED


def _record_key(section: str, index: int, record: Any) -> str:
    """Where the record is and what it names, e.g. ``contracts[17] USMF/CT-9``."""
    names = []
    if isinstance(record, dict):
        for group in RECORD_KEYS[section]:
            present = [record[name] for name in group if isinstance(record.get(name), (str, int, float))]
            if present:
                names.append(str(present[0]))
    return f"{section}[{index}] {'/'.join(names)}".strip()


def _errors_text(errors: list[dict]) -> str:
    return "; ".join(
        f"{error['field']}: {error['message']}" if error["field"] else error["message"] for error in errors
    )
