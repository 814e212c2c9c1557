"""Purchase agreement headers and lines over the API (SPEC §3.4, §6.4, §8.2)."""

from decimal import Decimal

import pytest

from contracts.choices import AgreementOwnership, CommitmentType
from contracts.models import PurchaseAgreement, PurchaseAgreementLine
from contracts.tests import factories

pytestmark = pytest.mark.django_db

AGREEMENTS = "/api/v1/purchase-agreements/"


def agreement_url(agreement_id, code="USMF"):
    return f"{AGREEMENTS}{code}/{agreement_id}/"


def lines_url(agreement_id, code="USMF"):
    return f"{agreement_url(agreement_id, code)}lines/"


@pytest.fixture
def item(legal_entity):
    return factories.ProductFactory(legal_entity=legal_entity, item_number="CHAIR-1")


@pytest.fixture
def contract(legal_entity, vendor, purchase_type):
    return factories.ContractFactory(
        legal_entity=legal_entity, contract_id="CON-7", external_contract_id="ext-7", vendor=vendor
    )


class TestHeaders:
    def test_an_agreement_without_id_is_numbered_and_takes_the_vendors_defaults(self, buyer_api, vendor):
        response = buyer_api.post(AGREEMENTS, {"legal_entity": "USMF", "vendor": "V-1001"}, format="json")

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["agreement_id"] == "PA-000001"
        assert (body["ownership"], body["status"], body["currency"]) == ("SCM", "OnHold", "USD")
        assert body["invoice_vendor"] == "V-1001"
        assert response["Location"] == agreement_url("PA-000001")

    def test_the_clm_pushing_an_agreement_for_a_contract_makes_it_clm_owned(self, clm_api, contract):
        body = {"legal_entity": "USMF", "agreement_id": "PA-C7", "vendor": "V-1001", "contract_id": "CON-7"}

        response = clm_api.post(AGREEMENTS, body, format="json")

        assert response.status_code == 201, response.json()
        assert (response.json()["ownership"], response.json()["contract_id"]) == ("CLM", "CON-7")

    def test_a_person_linking_a_contract_still_creates_an_scm_agreement(self, buyer_api, contract):
        body = {"legal_entity": "USMF", "vendor": "V-1001", "contract_id": "CON-7"}

        response = buyer_api.post(AGREEMENTS, body, format="json")

        assert response.json()["ownership"] == AgreementOwnership.SCM

    def test_every_problem_of_a_header_is_listed(self, clm_api, vendor):
        body = {
            "legal_entity": "USMF",
            "vendor": "V-404",
            "currency": "XXX",
            "default_effective_date": "2026-05-01",
            "default_expiration_date": "2026-01-01",
            "primary_responsible_worker_name": "Nobody Known",
        }

        response = clm_api.post(AGREEMENTS, body, format="json")

        assert response.status_code == 422
        assert {error["field"] for error in response.json()["errors"]} == {
            "vendor",
            "currency",
            "default_expiration_date",
            "primary_responsible_worker_name",
        }

    def test_responsible_workers_are_found_by_name_or_email_and_shown_with_both(self, clm_api, vendor, legal_entity):
        factories.WorkerFactory(legal_entity=legal_entity, personnel_number="W-7", name="Ada Buyer", email="ada@x.com")
        body = {
            "legal_entity": "USMF",
            "vendor": "V-1001",
            "primary_responsible_worker_name": "Ada Buyer",
            "secondary_responsible_worker_email": "ada@x.com",
        }

        body = clm_api.post(AGREEMENTS, body, format="json").json()

        assert body["primary_responsible_worker"] == body["secondary_responsible_worker"] == "W-7"
        assert (body["primary_responsible_worker_name"], body["primary_responsible_worker_email"]) == (
            "Ada Buyer",
            "ada@x.com",
        )
        assert body["contract_id"] is None

    def test_an_existing_agreement_id_is_a_conflict(self, clm_api, scm_agreement):
        body = {"legal_entity": "USMF", "agreement_id": "PA-SCM-1", "vendor": "V-1001"}

        response = clm_api.post(AGREEMENTS, body, format="json")

        assert response.status_code == 409
        assert response.json()["errors"][0]["field"] == "agreement_id"

    def test_put_creates_with_the_urls_id_then_updates(self, clm_api, vendor):
        created = clm_api.put(agreement_url("PA-PUT"), {"vendor": "V-1001", "document_title": "A"}, format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["agreement_id"] == "PA-PUT"

        updated = clm_api.put(agreement_url("PA-PUT"), {"document_title": "B"}, format="json")
        assert updated.status_code == 200
        assert updated.json()["document_title"] == "B"

    def test_a_header_read_with_get_can_be_sent_back_with_put(self, clm_api, scm_agreement):
        read = clm_api.get(agreement_url("PA-SCM-1")).json()

        response = clm_api.put(agreement_url("PA-SCM-1"), {**read, "document_title": "Again"}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["document_title"] == "Again"

    def test_people_may_change_only_the_editable_fields_of_a_clm_owned_agreement(self, buyer_api, clm_agreement):
        url = agreement_url("PA-CLM-1")

        refused = buyer_api.patch(url, {"document_title": "Mine now", "vendor_reference": "REF-9"}, format="json")
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {
                "field": "document_title",
                "message": "cannot be changed on a CLM-owned agreement; the CLM is its master.",
                "code": "protected",
            }
        ]
        allowed = buyer_api.patch(url, {"vendor_reference": "REF-9"}, format="json")
        assert allowed.status_code == 200
        assert buyer_api.delete(url).status_code == 422

    def test_the_clm_may_change_and_delete_its_own_agreement(self, clm_api, clm_agreement):
        url = agreement_url("PA-CLM-1")

        assert clm_api.patch(url, {"document_title": "Amended"}, format="json").status_code == 200
        assert clm_api.delete(url).status_code == 204
        assert not PurchaseAgreement.objects.filter(agreement_id="PA-CLM-1").exists()

    def test_list_uses_the_ui_filters(self, clm_api, scm_agreement, clm_agreement):
        response = clm_api.get(AGREEMENTS, {"legal_entity": "USMF", "ownership": "CLM"})

        assert [row["agreement_id"] for row in response.json()["results"]] == ["PA-CLM-1"]
        assert response.json()["results"][0]["contract_id"] == clm_agreement.contract.contract_id


class TestLines:
    @pytest.fixture
    def line_body(self, item):
        return {"commitment_type": "ProductQuantity", "product": "CHAIR-1", "committed_quantity": 10, "price": 9.5}

    def test_a_line_is_added_with_the_next_number_and_read_back(self, clm_api, scm_agreement, line_body):
        response = clm_api.post(lines_url("PA-SCM-1"), line_body, format="json")

        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["line_number"], body["product"], body["unit"], body["price"]) == ("1", "CHAIR-1", "ea", "9.5000")
        assert response["Location"] == f"{lines_url('PA-SCM-1')}1/"
        assert clm_api.get(response["Location"]).json()["committed_quantity"] == "10.0000"

    def test_a_line_can_be_added_to_the_agreement_of_a_contract_by_its_external_id(
        self, clm_api, clm_agreement, line_body
    ):
        body = {"legal_entity": "USMF", "external_contract_id": clm_agreement.external_contract_id, **line_body}

        response = clm_api.post("/api/v1/purchase-agreement-lines/", body, format="json")

        assert response.status_code == 201, response.json()
        assert response.json()["agreement_id"] == "PA-CLM-1"

    @pytest.mark.parametrize("code", ["USMF", "DEMF"])
    def test_an_agreement_that_is_not_found_or_not_granted_is_404_alike(
        self, clm_api, other_legal_entity, line_body, code
    ):
        factories.AgreementFactory(legal_entity=other_legal_entity, agreement_id="PA-HIDDEN")
        body = {"legal_entity": code, "agreement_id": "PA-HIDDEN", **line_body}

        response = clm_api.post("/api/v1/purchase-agreement-lines/", body, format="json")

        assert response.status_code == 404
        assert response.json()["errors"] == [
            {
                "field": "agreement_id",
                "message": f'no purchase agreement "PA-HIDDEN" exists in legal entity {code}.',
                "code": "not_found",
            }
        ]

    def test_put_creates_a_line_at_the_urls_number_then_updates_it(self, clm_api, scm_agreement, line_body):
        url = f"{lines_url('PA-SCM-1')}2.5/"

        assert clm_api.put(url, line_body, format="json").status_code == 201
        updated = clm_api.put(url, {"committed_quantity": "12"}, format="json")

        assert updated.status_code == 200
        assert updated.json()["committed_quantity"] == "12.0000"
        assert PurchaseAgreementLine.objects.get().line_number == Decimal("2.5")

    def test_line_rules_are_the_services(self, clm_api, scm_agreement, item):
        body = {"commitment_type": "ProductCategory", "product": "CHAIR-1", "committed_quantity": 5, "price": 1}

        response = clm_api.post(lines_url("PA-SCM-1"), body, format="json")

        assert response.status_code == 422
        assert {error["field"] for error in response.json()["errors"]} >= {"committed_amount", "product", "category"}

    def test_people_cannot_add_or_delete_lines_of_a_clm_owned_agreement(self, buyer_api, clm_agreement, line_body):
        line = factories.LineFactory(agreement=clm_agreement, legal_entity=clm_agreement.legal_entity, line_number=1)

        assert buyer_api.post(lines_url("PA-CLM-1"), line_body, format="json").status_code == 422
        assert buyer_api.delete(f"{lines_url('PA-CLM-1')}1/").status_code == 422
        assert PurchaseAgreementLine.objects.filter(pk=line.pk).exists()

    def test_lines_are_listed_by_number_and_deleted(self, clm_api, scm_agreement):
        for number in (3, 1, 2):
            factories.LineFactory(
                agreement=scm_agreement,
                legal_entity=scm_agreement.legal_entity,
                line_number=number,
                commitment_type=CommitmentType.PRODUCT_QUANTITY,
            )

        listed = clm_api.get(lines_url("PA-SCM-1")).json()["results"]
        assert [row["line_number"] for row in listed] == ["1", "2", "3"]
        assert clm_api.delete(f"{lines_url('PA-SCM-1')}2/").status_code == 204
        assert clm_api.get(f"{lines_url('PA-SCM-1')}2/").status_code == 404
        assert clm_api.get(f"{lines_url('PA-SCM-1')}not-a-number/").status_code == 404
