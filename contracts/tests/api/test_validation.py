"""Validation without saving (SPEC §8.3): same payloads, same rules, every problem, nothing stored."""

import pytest

from contracts.models import AgreementNumberSequence, PurchaseAgreement, PurchaseAgreementLine
from contracts.tests import factories

pytestmark = pytest.mark.django_db

HEADER = "/api/v1/validate/purchase-agreement/"
LINE_INSERT = "/api/v1/validate/purchase-agreement-lines/"
LINE_UPDATE = "/api/v1/validate/purchase-agreement-lines/update/"
LINE_DELETE = "/api/v1/validate/purchase-agreement-lines/delete/"


def row_counts():
    return (
        PurchaseAgreement.objects.count(),
        PurchaseAgreementLine.objects.count(),
        AgreementNumberSequence.objects.count(),
    )


@pytest.fixture
def item(legal_entity):
    return factories.ProductFactory(legal_entity=legal_entity, item_number="CHAIR-1")


@pytest.fixture
def line(scm_agreement, item):
    return factories.LineFactory(
        agreement=scm_agreement, legal_entity=scm_agreement.legal_entity, line_number=1, product=item
    )


def fields_of(response):
    return {error["field"]: error["code"] for error in response.json()["errors"]}


def test_a_valid_header_create_is_valid_and_saves_nothing(clm_api, vendor):
    before = row_counts()

    response = clm_api.post(HEADER, {"legal_entity": "USMF", "vendor": "V-1001"}, format="json")

    assert (response.status_code, response.json()) == (200, {"valid": True})
    assert row_counts() == before


def test_a_header_create_lists_every_problem_wrong_types_included(clm_api, vendor):
    body = {
        "legal_entity": "USMF",
        "vendor": "V-404",
        "currency": "XXX",
        "default_effective_date": "2026-05-01",
        "default_expiration_date": "2026-01-01",
        "payment_terms": "Net-404",
        "amendment_in_process": "perhaps",
        "pool": "P1",
        "colour": "red",
    }
    before = row_counts()

    response = clm_api.post(HEADER, body, format="json")

    assert response.status_code == 422
    assert response.json()["valid"] is False
    assert fields_of(response) == {
        "amendment_in_process": "invalid",
        "vendor": "not_found",
        "currency": "not_found",
        "payment_terms": "not_found",
        "default_expiration_date": "date_order",
        "colour": "unknown_field",
    }
    assert row_counts() == before


def test_a_header_update_of_a_clm_owned_agreement_lists_protected_fields_for_people(buyer_api, clm_agreement):
    body = {"legal_entity": "USMF", "agreement_id": "PA-CLM-1", "document_title": "x", "vendor_reference": "ok"}

    response = buyer_api.post(HEADER, body, format="json")

    assert response.status_code == 422
    assert fields_of(response) == {"document_title": "protected"}
    clm_agreement.refresh_from_db()
    assert clm_agreement.vendor_reference == ""


def test_a_line_insert_lists_every_problem_and_saves_nothing(clm_api, scm_agreement, item):
    body = {
        "legal_entity": "USMF",
        "agreement_id": "PA-SCM-1",
        "commitment_type": "ProductQuantity",
        "product": "NOPE",
        "committed_amount": "5",
        "line_discount_percentage": "150",
        "effective_date": "2026-06-01",
        "expiration_date": "2026-01-01",
        "receiving_site": "S-404",
    }
    before = row_counts()

    response = clm_api.post(LINE_INSERT, body, format="json")

    assert response.status_code == 422
    assert fields_of(response) == {
        "product": "not_found",
        "receiving_site": "not_found",
        "committed_quantity": "required",
        "committed_amount": "invalid",
        "line_discount_percentage": "invalid",
        "expiration_date": "date_order",
    }
    assert row_counts() == before


def test_a_valid_line_insert_by_external_contract_id(clm_api, clm_agreement, item):
    body = {
        "legal_entity": "USMF",
        "external_contract_id": clm_agreement.external_contract_id,
        "product": "CHAIR-1",
        "committed_quantity": 3,
    }

    response = clm_api.post(LINE_INSERT, body, format="json")

    assert response.json() == {"valid": True}
    assert PurchaseAgreementLine.objects.count() == 0


def test_a_line_insert_into_a_missing_agreement_is_a_listed_problem(clm_api, legal_entity):
    body = {"legal_entity": "USMF", "agreement_id": "PA-404", "committed_quantity": "x"}

    response = clm_api.post(LINE_INSERT, body, format="json")

    assert response.status_code == 422
    assert fields_of(response) == {"committed_quantity": "invalid", "agreement_id": "not_found"}


def test_a_line_update_checks_the_changed_fields(clm_api, line):
    body = {"legal_entity": "USMF", "agreement_id": "PA-SCM-1", "line_number": 1, "committed_quantity": -4}

    response = clm_api.post(LINE_UPDATE, body, format="json")

    assert response.status_code == 422
    assert fields_of(response) == {"committed_quantity": "negative"}
    line.refresh_from_db()
    assert line.committed_quantity == 100


def test_a_line_update_of_a_missing_line_is_a_listed_problem(clm_api, line):
    body = {"legal_entity": "USMF", "agreement_id": "PA-SCM-1", "line_number": 9, "price": 1}

    response = clm_api.post(LINE_UPDATE, body, format="json")

    assert fields_of(response) == {"line_number": "not_found"}


def test_a_line_delete_is_protected_on_clm_owned_agreements_for_people_only(buyer_api, clm_api, clm_agreement, item):
    factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity, line_number=1, product=item)
    body = {"legal_entity": "USMF", "agreement_id": "PA-CLM-1", "line_number": "1"}

    refused = buyer_api.post(LINE_DELETE, body, format="json")
    allowed = clm_api.post(LINE_DELETE, body, format="json")

    assert refused.status_code == 422
    assert fields_of(refused) == {"line_number": "protected"}
    assert allowed.json() == {"valid": True}
    assert PurchaseAgreementLine.objects.count() == 1


def test_validation_is_refused_to_read_only_clients(reader_api, scm_agreement):
    response = reader_api.post(HEADER, {"legal_entity": "USMF"}, format="json")

    assert response.status_code == 403


def test_validating_in_a_legal_entity_not_granted_is_refused(clm_api, other_legal_entity):
    response = clm_api.post(HEADER, {"legal_entity": "DEMF", "vendor": "V-1"}, format="json")

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "not_granted"


def test_a_body_that_is_not_an_object_is_a_400(clm_api):
    assert clm_api.post(HEADER, [1, 2], format="json").status_code == 400
