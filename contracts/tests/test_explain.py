"""On PostgreSQL, the first page of All contracts (its default order and a sort) and of the API
contract list read an index in the list's order rather than sorting the visible contracts:
at 1,000,000 contracts that is milliseconds against a second (docs/performance.md).

The planner may prefer a sequential scan and a sort on a table as small as a test's, so the
queries are explained with both disabled: the plan shows which index can serve the order.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contracts.choices import ApiClientRole
from contracts.tests import factories
from contracts.tests.api.factories import ApiClientFactory
from contracts.tests.test_selectors import make_user

# A sort of every row read; an incremental sort of the rows sharing a sort key is fine.
FULL_SORT = re.compile(r"(^|->  )Sort  \(", re.MULTILINE)

pytestmark = pytest.mark.skipif(db_connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's")


@pytest.fixture
def contracts(legal_entity, other_legal_entity):
    for entity in (legal_entity, other_legal_entity):
        factories.ContractFactory.create_batch(5, legal_entity=entity)


def page_query(client, url: str, params: dict) -> str:
    """The SQL of the request's page of contracts (the statement with a LIMIT)."""
    with CaptureQueriesContext(db_connection) as queries:
        assert client.get(url, params).status_code == 200
    (sql,) = [
        query["sql"] for query in queries if 'FROM "contracts_contract"' in query["sql"] and "LIMIT" in query["sql"]
    ]
    return sql


def plan(sql: str) -> str:
    with db_connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "contract_modified"),
        ({"ordering": "name"}, "contract_name"),
        ({"ordering": "expiration_date"}, "contract_expiration"),
        ({"ordering": "-expiration_date"}, "contract_expiration_desc"),
    ],
    ids=["default", "by title", "by expiry", "by expiry, latest first"],
)
def test_all_contracts_reads_its_page_in_index_order(client, django_user_model, legal_entity, contracts, params, index):
    client.force_login(make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity]))

    explained = plan(page_query(client, "/contracts/", params))

    assert f"Index Scan Backward using {index} " in explained or f"Index Scan using {index} " in explained, explained
    assert not FULL_SORT.search(explained), explained


def test_the_api_contract_list_reads_its_page_by_primary_key(legal_entity, contracts):
    api_client = ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_client.plaintext_key}")

    explained = plan(page_query(api, "/api/v1/contracts/", {"legal_entity": "USMF"}))

    assert "Index Scan using contracts_contract_pkey " in explained, explained
    assert not FULL_SORT.search(explained), explained
