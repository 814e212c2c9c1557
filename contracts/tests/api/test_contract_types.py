"""Contract types over the API (SPEC §3.2)."""

import pytest

from contracts.models import ContractType
from contracts.tests import factories

pytestmark = pytest.mark.django_db

TYPES = "/api/v1/contract-types/"


def test_a_contract_type_is_created_lightweight_by_default(clm_api):
    response = clm_api.post(TYPES, {"name": "Service", "description": "Service contracts"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["flow"] == "lightweight"
    assert response["Location"] == f"{TYPES}Service/"


def test_an_existing_name_is_a_conflict_and_an_unknown_flow_a_422(clm_api, nda_type):
    assert clm_api.post(TYPES, {"name": "NDA"}, format="json").status_code == 409
    response = clm_api.post(TYPES, {"name": "New", "flow": "teleport"}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "flow"


def test_put_creates_or_updates_and_patch_needs_an_existing_type(clm_api):
    assert clm_api.patch(f"{TYPES}Lease/", {"description": "x"}, format="json").status_code == 404
    assert clm_api.put(f"{TYPES}Lease/", {"flow": "purchase_agreement"}, format="json").status_code == 201
    response = clm_api.patch(f"{TYPES}Lease/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["flow"], response.json()["is_active"]) == ("purchase_agreement", False)


def test_unknown_fields_and_renames_are_refused(clm_api, nda_type):
    unknown = clm_api.patch(f"{TYPES}NDA/", {"colour": "red"}, format="json")
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (422, "unknown_field")
    rename = clm_api.patch(f"{TYPES}NDA/", {"name": "Secret"}, format="json")
    assert (rename.status_code, rename.json()["errors"][0]["code"]) == (422, "mismatch")


def test_a_type_in_use_cannot_be_deleted(clm_api, legal_entity, nda_type):
    factories.ContractFactory(legal_entity=legal_entity, contract_type=nda_type)

    response = clm_api.delete(f"{TYPES}NDA/")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "in_use"
    assert ContractType.objects.filter(name="NDA").exists()


def test_an_unused_type_is_deleted(clm_api, nda_type):
    assert clm_api.delete(f"{TYPES}NDA/").status_code == 204
    assert clm_api.get(f"{TYPES}NDA/").status_code == 404


def test_types_are_listed_by_name_for_readers(reader_api, nda_type, purchase_type):
    response = reader_api.get(TYPES)

    assert [row["name"] for row in response.json()["results"]] == ["NDA", "Purchase"]
    assert reader_api.post(TYPES, {"name": "X"}, format="json").status_code == 403
