"""The contract list's read path (``RowReader`` over ``values()`` rows, rendered by orjson)
answers exactly what ``ContractSerializer`` and DRF's ``JSONRenderer`` would."""

from __future__ import annotations

import datetime
import decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from contracts.api.renderers import OrjsonRenderer
from contracts.api.serializers import CONTRACT_ROWS, ContractSerializer
from contracts.api.views import CONTRACTS
from contracts.choices import ApiClientRole, ContractStatus
from contracts.tests import factories

UTC = datetime.UTC


@pytest.fixture
def varied_contracts(legal_entity, usd, connection):
    """Contracts with every kind of value: blanks and nulls, references set and unset,
    decimals of several scales, text outside ASCII, timestamps with and without microseconds."""
    worker = factories.WorkerFactory(legal_entity=legal_entity)
    return [
        factories.ContractFactory(legal_entity=legal_entity, connection=connection),
        factories.ContractFactory(
            legal_entity=legal_entity,
            connection=None,
            vendor=None,
            external_contract_id="",
            effective_date=None,
            expiration_date=None,
            status=ContractStatus.EXECUTED,
        ),
        factories.ContractFactory(
            legal_entity=legal_entity,
            connection=connection,
            currency=usd,
            value=decimal.Decimal("1234.5"),
            notice_period_days=30,
            notice_date=datetime.date(2027, 10, 1),
            amendment_in_process=True,
            requester_worker=worker,
            requester_worker_name="Zoë Ångström",
            name="Rahmenvertrag – Zürich \u2028 “quoted” \\ back",
            source_modified_at=datetime.datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
            source_sequence=7,
        ),
        factories.ContractFactory(legal_entity=legal_entity, currency=usd, value=decimal.Decimal("0.01")),
    ]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_rows_match_the_serializer_for_varied_contracts(varied_contracts, zone):
    contracts = CONTRACTS.filter(pk__in=[contract.pk for contract in varied_contracts]).order_by("pk")

    with timezone.override(zone):
        rows = CONTRACT_ROWS.represent(CONTRACT_ROWS.values(contracts))
        expected = ContractSerializer(contracts, many=True).data
    assert rows == expected
    assert any(row["source_modified_at"] for row in rows)


def test_orjson_renders_the_bytes_drf_renders(varied_contracts):
    contracts = CONTRACTS.filter(pk__in=[contract.pk for contract in varied_contracts]).order_by("pk")
    data = {
        "next": None,
        "previous": "http://testserver/api/v1/contracts/?cursor=abc",
        "results": ContractSerializer(contracts, many=True).data,
        "at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "day": datetime.date(2026, 1, 2),
        "amount": decimal.Decimal("12.50"),
        "nested": [{"a": 1.5, "b": True, "c": None}],
    }

    assert OrjsonRenderer().render(data) == JSONRenderer().render(data)


def test_the_list_answers_as_before_through_the_api(api_client_for, legal_entity, varied_contracts):
    api = api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity])

    response = api.get("/api/v1/contracts/", {"legal_entity": legal_entity.code, "page_size": 2})
    following = api.get(response.json()["next"])

    contracts = CONTRACTS.order_by("pk")
    expected = ContractSerializer(contracts, many=True).data
    assert response.json()["results"] + following.json()["results"] == expected
    assert response.content == JSONRenderer().render(response.data)
