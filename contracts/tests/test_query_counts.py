"""Every API list reads a page in a fixed number of queries, whatever the page holds (no N+1).

The browser lists have theirs next to their other tests: All contracts
(test_views_contracts), agreements (test_views_agreements), vendors (test_views_vendors),
the dashboard (test_dashboard) and the exports (test_exports).
"""

from __future__ import annotations

from string import ascii_uppercase as LETTERS

import factory
import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from contracts.choices import ApiClientRole
from contracts.models import TRACKED_ENTITIES
from contracts.tests import factories
from contracts.tests.api.factories import ApiClientFactory

FACTORY_OF_MODEL = {
    factory_class._meta.model: factory_class
    for factory_class in vars(factories).values()
    if isinstance(factory_class, type)
    and issubclass(factory_class, factories.DjangoModelFactory)
    and factory_class._meta.model is not None
}
# Legal entities are the callers' scope: the fixtures make them, not the test.
MASTER_DATA = [
    entity for entity in TRACKED_ENTITIES if entity.model in FACTORY_OF_MODEL and entity.name != "legal-entities"
]


@pytest.fixture
def api(legal_entity):
    client = ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {client.plaintext_key}")
    return api


def list_queries(api, url: str, params: dict) -> tuple[int, int]:
    """How many rows the list answers with, and how many queries it took."""
    with CaptureQueriesContext(db_connection) as queries:
        response = api.get(url, params)
    assert response.status_code == 200, response.content
    return len(response.json()["results"]), len(queries)


def assert_same_queries_for_3_and_30(api, url: str, params: dict, make) -> None:
    list_queries(api, url, params)  # the first request of a key records its use
    make(3)
    rows_3, queries_3 = list_queries(api, url, params)
    make(27)
    rows_30, queries_30 = list_queries(api, url, params)

    assert (rows_30 - rows_3, queries_30) == (27, queries_3)


def test_contract_list(api, legal_entity, connection, usd):
    def make(count):
        factories.ContractFactory.create_batch(count, legal_entity=legal_entity, connection=connection, currency=usd)

    assert_same_queries_for_3_and_30(api, "/api/v1/contracts/", {"legal_entity": "USMF"}, make)


def test_agreement_list(api, legal_entity, clm_agreement):
    def make(count):
        factories.AgreementFactory.create_batch(count, legal_entity=legal_entity, contract=clm_agreement.contract)

    assert_same_queries_for_3_and_30(api, "/api/v1/purchase-agreements/", {"legal_entity": "USMF"}, make)


def test_line_list(api, legal_entity, clm_agreement):
    def make(count):
        factories.LineFactory.create_batch(count, legal_entity=legal_entity, agreement=clm_agreement)

    url = f"/api/v1/purchase-agreements/USMF/{clm_agreement.agreement_id}/lines/"
    assert_same_queries_for_3_and_30(api, url, {}, make)


def test_contract_type_list(api):
    def make(count):
        factories.ContractTypeFactory.create_batch(count, name=factory.Sequence(lambda number: f"Type {number}"))

    assert_same_queries_for_3_and_30(api, "/api/v1/contract-types/", {}, make)


@pytest.mark.parametrize("entity", MASTER_DATA, ids=lambda entity: entity.name)
def test_master_data_list(api, legal_entity, entity):
    # Some factories make one record under a fixed key (get or create): give each its own,
    # three capital letters, which suit every key (currency codes are ISO 4217).
    extra = {entity.key: factory.Sequence(lambda number: "Q" + LETTERS[number // 26 % 26] + LETTERS[number % 26])}
    if entity.per_legal_entity:
        extra["legal_entity"] = legal_entity

    def make(count):
        FACTORY_OF_MODEL[entity.model].create_batch(count, **extra)

    params = {"legal_entity": "USMF"} if entity.per_legal_entity else {}
    assert_same_queries_for_3_and_30(api, f"/api/v1/master-data/{entity.name}/", params, make)
