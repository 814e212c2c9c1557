"""The OpenAPI schema and the interactive docs, served by the app itself (SPEC §8.1)."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

from contracts.models import TRACKED_ENTITIES

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/contracts/", "get"),
    ("/api/v1/contracts/", "post"),
    ("/api/v1/contracts/bulk-upsert/", "post"),
    *(("/api/v1/contracts/{legal_entity}/{contract_id}/", m) for m in ("get", "put", "patch", "delete")),
    ("/api/v1/contract-types/", "get"),
    ("/api/v1/contract-types/", "post"),
    *(("/api/v1/contract-types/{name}/", m) for m in ("get", "put", "patch", "delete")),
    ("/api/v1/purchase-agreements/", "get"),
    ("/api/v1/purchase-agreements/", "post"),
    *(("/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/", m) for m in ("get", "put", "patch", "delete")),
    ("/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/lines/", "get"),
    ("/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/lines/", "post"),
    *(
        ("/api/v1/purchase-agreements/{legal_entity}/{agreement_id}/lines/{line_number}/", m)
        for m in ("get", "put", "patch", "delete")
    ),
    ("/api/v1/purchase-agreement-lines/", "post"),
    ("/api/v1/validate/purchase-agreement/", "post"),
    ("/api/v1/validate/purchase-agreement-lines/", "post"),
    ("/api/v1/validate/purchase-agreement-lines/update/", "post"),
    ("/api/v1/validate/purchase-agreement-lines/delete/", "post"),
    *((f"/api/v1/master-data/{entity.name}/", "get") for entity in TRACKED_ENTITIES),
    ("/api/v1/deep-links/", "post"),
    ("/api/v1/connections/{name}/status/", "get"),
    ("/api/v1/connections/{name}/status/", "patch"),
    ("/api/v1/connections/{name}/navigation-links/", "get"),
    ("/api/v1/connections/{name}/navigation-links/", "put"),
    *(("/api/v1/connections/{name}/navigation-links/{navigation_type}/", m) for m in ("get", "put", "delete")),
    ("/api/v1/connections/{name}/webhook/", "post"),
    ("/api/v1/imports/", "post"),
    ("/api/v1/imports/{run_id}/", "get"),
    ("/api/v1/imports/{run_id}/errors/", "get"),
}
# Signed by the CLM rather than authorized by an API key: there is no permission to lack.
WITHOUT_403 = {("/api/v1/connections/{name}/webhook/", "post")}


@pytest.fixture
def schema(reader_api):
    response = reader_api.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_the_schema_is_valid_openapi_3_json(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_the_schema_lists_every_operation_of_the_api(schema):
    listed = {(path, method) for path, item in schema["paths"].items() for method in item}

    assert listed == OPERATIONS


def test_the_schema_lists_every_api_url(schema):
    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api")
    routes = {
        "/api/v1/" + re.sub(r"<str:(\w+)>", r"{\1}", str(p.pattern))
        for p in api.url_patterns
        if isinstance(p, URLPattern) and p.name not in ("schema", "docs", "unknown-endpoint")
    }

    assert routes == set(schema["paths"])


def test_every_operation_documents_its_errors_and_writes_their_body(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = {"400", "401"} if (path, method) in WITHOUT_403 else {"400", "401", "403"}
            assert expected <= responses.keys(), (path, method)
            if method in ("put", "patch", "delete"):
                assert {"404", "412"} <= responses.keys(), (path, method)
            if method != "get":
                assert "requestBody" in operation or method == "delete", (path, method)


def test_lists_document_the_explicit_cross_company_option(schema):
    for path in ("/api/v1/contracts/", "/api/v1/purchase-agreements/"):
        names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
        assert {"legal_entity", "cross_company", "cursor", "page_size"} <= names
        assert "ordering" not in names


def test_the_schema_is_also_given_with_format_json(reader_api):
    response = reader_api.get("/api/v1/schema/", {"format": "json"})

    assert response["Content-Type"].startswith("application/")
    assert "json" in response["Content-Type"]
    assert response.json()["info"]["title"] == "clmsite API"


def test_the_schema_is_not_anonymous(db):
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/schema/").status_code == 401


def test_spectacular_validates_the_schema_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_docs_page_loads_its_assets_from_this_site_only(buyer_api):
    response = buyer_api.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # The start script comes from the docs view itself, not inline (docs/security.md).
    assets.remove("/api/v1/docs/?script=")
    assert any("swagger-ui" in asset for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert not re.search(r"https?://", html)
    assert all(finders.find(asset.removeprefix("/static/")) for asset in assets)
