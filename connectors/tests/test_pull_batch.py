"""A pulled page is applied as one batch: the same counts and errors as record by record,
a fixed number of SQL statements per page, and a database error retries the whole page."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from connectors import pull
from connectors.base import ContractRecord
from connectors.pull import pull_run_advance, pull_start
from connectors.runs import RunTally
from contracts.choices import ContractStatus, SyncRunStatus
from contracts.services import Actor
from contracts.services import contracts as contract_services
from contracts.tests import factories

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")


@pytest.fixture
def clm(legal_entity, fake_clm, monkeypatch):
    monkeypatch.setattr(pull.pull_connection_task, "apply_async", lambda *args, **kwargs: None)
    factories.ContractTypeFactory(name="NDA", flow="lightweight")
    return factories.ConnectionFactory(name="Fake CLM", connector="fake")


def nda(number: int, **data) -> ContractRecord:
    values = {"name": f"NDA {number}", "contract_type": "NDA", "external_contract_id": f"ext-{number}", **data}
    return ContractRecord("USMF", f"CT-{number:05d}", values)


def test_a_page_counts_each_outcome_and_records_each_failure(clm):
    actor = Actor.for_connector(clm.name)
    RunTally().apply(connection=clm, records=[nda(1), nda(2, source_sequence=5)], actor=actor)
    tally = RunTally()

    tally.apply(
        connection=clm,
        records=[
            nda(1),  # unchanged
            nda(2, source_sequence=4),  # stale
            nda(3),  # created
            nda(3, name="NDA 3, renamed"),  # the same key again: applied after the first
            nda(4, status="Shredded"),  # failed
        ],
        actor=actor,
    )

    assert tally.counts == {"created": 1, "updated": 1, "unchanged": 1, "stale": 1, "failed": 1}
    [error] = tally.errors
    assert error.record_key == "USMF/CT-00004"
    assert '"Shredded" is not a contract status' in error.message
    assert error.record["status"] == "Shredded"


def test_a_page_of_new_contracts_costs_a_fixed_number_of_statements(clm, fake_clm, django_assert_max_num_queries):
    for number in range(1, 101):
        fake_clm.put(nda(number, status=ContractStatus.EXECUTED))
    run = pull_start(connection_id=clm.pk, actor=OPERATOR)

    with django_assert_max_num_queries(40):
        pull_run_advance(run_id=run.pk, slice_seconds=None)

    run.refresh_from_db()
    assert (run.status, run.created) == (SyncRunStatus.SUCCEEDED, 100)


def test_a_database_error_in_a_page_is_raised_so_the_page_is_applied_again(clm, legal_entity, monkeypatch):
    """Another writer stored a contract the batch did not see: rather than count it failed,
    the page's transaction rolls back and the page is pulled again."""
    factories.ContractFactory(legal_entity=legal_entity, contract_id="CT-00002", connection=clm)
    monkeypatch.setattr(contract_services, "_contracts_locked", lambda upserts: {})

    with pytest.raises(IntegrityError), transaction.atomic():
        RunTally().apply(connection=clm, records=[nda(1), nda(2)], actor=Actor.for_connector(clm.name))
