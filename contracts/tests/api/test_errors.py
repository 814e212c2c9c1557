"""One error body everywhere, and never a 500 for bad input (SPEC §8.1)."""

import pytest
from rest_framework.test import APIClient

from contracts.tests import factories

pytestmark = pytest.mark.django_db

ENDPOINTS = (
    "/api/v1/contracts/",
    "/api/v1/contracts/bulk-upsert/",
    "/api/v1/contracts/USMF/CON-1/",
    "/api/v1/contract-types/",
    "/api/v1/contract-types/NDA/",
    "/api/v1/purchase-agreements/",
    "/api/v1/purchase-agreements/USMF/PA-SCM-1/",
    "/api/v1/purchase-agreements/USMF/PA-SCM-1/lines/",
    "/api/v1/purchase-agreements/USMF/PA-SCM-1/lines/1/",
    "/api/v1/purchase-agreement-lines/",
    "/api/v1/validate/purchase-agreement/",
    "/api/v1/validate/purchase-agreement-lines/",
    "/api/v1/validate/purchase-agreement-lines/update/",
    "/api/v1/validate/purchase-agreement-lines/delete/",
)
GARBAGE = ('{"a": ', "[]", '"text"', "null", "12", '{"legal_entity": {"x": 1}, "vendor": [1]}', "\x00\xff")


def assert_error_body(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content)
    errors = response.json()["errors"]
    assert errors
    assert all(set(error) == {"field", "message", "code"} for error in errors)


@pytest.fixture
def world(scm_agreement, nda_type, legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, contract_id="CON-1", contract_type=nda_type)
    factories.LineFactory(agreement=scm_agreement, legal_entity=legal_entity, line_number=1)


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("payload", GARBAGE)
def test_garbage_bodies_get_4xx_with_the_error_body(clm_api, world, url, payload):
    for method in ("POST", "PUT", "PATCH"):
        response = clm_api.generic(method, url, payload, content_type="application/json")
        if response.status_code in (200, 201, 204):
            continue  # e.g. PATCH with an empty object: a valid no-op
        assert response.status_code < 500, (method, url, payload, response.content)
        if response.status_code != 422 or "valid" not in response.json():
            assert_error_body(response, 400, 404, 405, 409, 412, 422)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_options_and_unsupported_methods_answer_without_error(clm_api, world, url):
    assert clm_api.options(url).status_code == 200
    assert clm_api.head(url).status_code in (200, 400, 405)


def test_a_method_an_endpoint_lacks_is_405_with_the_error_body(clm_api):
    assert_error_body(clm_api.delete("/api/v1/contracts/"), 405)


def test_another_media_type_is_415(clm_api):
    assert_error_body(clm_api.post("/api/v1/contracts/", "a=1", content_type="application/x-www-form-urlencoded"), 415)


@pytest.mark.parametrize("url", ["/api/v1/nothing-here/", "/api/v1/contracts"])
def test_unknown_urls_are_404_with_the_error_body_even_for_post(clm_api, url):
    assert_error_body(clm_api.get(url), 404)
    assert_error_body(clm_api.post(url, {}, format="json"), 404)


def test_session_writes_need_the_csrf_token(django_user_model, legal_entity, vendor):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(user)

    response = api.post("/api/v1/purchase-agreements/", {"legal_entity": "USMF", "vendor": "V-1001"}, format="json")

    assert_error_body(response, 403)
    assert "CSRF" in response.json()["errors"][0]["message"]


def test_a_person_may_not_create_by_put_without_the_add_permission(person_for, legal_entity, vendor):
    api = person_for(legal_entities=[legal_entity], permissions=("view_purchaseagreement", "change_purchaseagreement"))

    response = api.put("/api/v1/purchase-agreements/USMF/PA-NEW/", {"vendor": "V-1001"}, format="json")

    assert_error_body(response, 403)


def test_lists_read_in_a_fixed_number_of_queries(clm_api, legal_entity, vendor, django_assert_max_num_queries):
    for number in range(30):
        factories.AgreementFactory(legal_entity=legal_entity, vendor=vendor, agreement_id=f"PA-Q{number}")
        factories.ContractFactory(legal_entity=legal_entity, vendor=vendor, contract_id=f"C-Q{number}")

    for url in ("/api/v1/purchase-agreements/", "/api/v1/contracts/"):
        with django_assert_max_num_queries(6):
            assert len(clm_api.get(url, {"legal_entity": "USMF"}).json()["results"]) == 30
