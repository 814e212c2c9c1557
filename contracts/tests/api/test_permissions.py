"""Role × legal entity × endpoint (SPEC §2, §8.1): who may do what, and where.

Records of a legal entity the caller is not granted are "not found" (404), so their
existence is not disclosed; lists must name their legal entities or ask for every granted
one with cross_company=true.
"""

import pytest

from contracts.choices import ApiClientRole
from contracts.models import PurchaseAgreement
from contracts.tests import factories

pytestmark = pytest.mark.django_db

CALLERS = ("clm_integration", "read_only", "session_user")
GRANTS = ("granted", "not_granted", "cross_company")
ENDPOINTS = ("list", "retrieve", "create", "update", "delete")

# What each caller gets on an SCM-owned agreement of USMF.
EXPECTED = {
    ("clm_integration", "granted"): {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204},
    ("clm_integration", "not_granted"): {"list": 403, "retrieve": 404, "create": 403, "update": 404, "delete": 404},
    ("clm_integration", "cross_company"): {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204},
    ("read_only", "granted"): {"list": 200, "retrieve": 200, "create": 403, "update": 403, "delete": 403},
    ("read_only", "not_granted"): {"list": 403, "retrieve": 404, "create": 403, "update": 403, "delete": 403},
    ("read_only", "cross_company"): {"list": 200, "retrieve": 200, "create": 403, "update": 403, "delete": 403},
    ("session_user", "granted"): {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204},
    ("session_user", "not_granted"): {"list": 403, "retrieve": 404, "create": 403, "update": 404, "delete": 404},
    ("session_user", "cross_company"): {"list": 200, "retrieve": 200, "create": 201, "update": 200, "delete": 204},
}


@pytest.fixture
def caller_for(api_client_for, person_for, legal_entity, other_legal_entity):
    def make(caller: str, grant: str):
        entities = {"granted": [legal_entity], "not_granted": [other_legal_entity], "cross_company": []}[grant]
        cross_company = grant == "cross_company"
        if caller == "session_user":
            return person_for(legal_entities=entities, cross_company=cross_company)
        return api_client_for(ApiClientRole(caller), legal_entities=entities, cross_company=cross_company)

    return make


def call(api, endpoint: str, agreement):
    url = f"/api/v1/purchase-agreements/USMF/{agreement.agreement_id}/"
    if endpoint == "list":
        return api.get("/api/v1/purchase-agreements/", {"legal_entity": "USMF"})
    if endpoint == "retrieve":
        return api.get(url)
    if endpoint == "create":
        body = {"legal_entity": "USMF", "vendor": agreement.vendor.account_number, "document_title": "New"}
        return api.post("/api/v1/purchase-agreements/", body, format="json")
    if endpoint == "update":
        return api.patch(url, {"document_title": "Changed"}, format="json")
    return api.delete(url)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("caller", CALLERS)
def test_role_legal_entity_and_endpoint_decide_the_answer(caller_for, scm_agreement, caller, grant, endpoint):
    api = caller_for(caller, grant)

    response = call(api, endpoint, scm_agreement)

    assert response.status_code == EXPECTED[(caller, grant)][endpoint], response.content
    if response.status_code >= 400:
        assert response.json()["errors"]
    if endpoint == "list" and response.status_code == 200:
        assert [row["agreement_id"] for row in response.json()["results"]] == ["PA-SCM-1"]


def test_refused_writes_change_nothing(caller_for, scm_agreement):
    reader = caller_for("read_only", "granted")
    outsider = caller_for("clm_integration", "not_granted")

    for api in (reader, outsider):
        for endpoint in ("create", "update", "delete"):
            call(api, endpoint, scm_agreement)

    scm_agreement.refresh_from_db()
    assert scm_agreement.document_title == "Printer paper"
    assert PurchaseAgreement.objects.count() == 1


def test_anonymous_callers_get_401_with_a_challenge(db, scm_agreement):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/purchase-agreements/USMF/PA-SCM-1/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_a_person_without_the_model_permission_is_refused(person_for, legal_entity, scm_agreement):
    api = person_for(legal_entities=[legal_entity], permissions=("view_purchaseagreement",))

    assert api.get("/api/v1/purchase-agreements/USMF/PA-SCM-1/").status_code == 200
    response = api.patch("/api/v1/purchase-agreements/USMF/PA-SCM-1/", {"document_title": "x"}, format="json")
    assert response.status_code == 403
    assert "change" in response.json()["errors"][0]["message"]


def test_people_never_write_contracts_but_may_read_them(buyer_api, legal_entity, nda_type):
    factories.ContractFactory(legal_entity=legal_entity, contract_id="CON-9", contract_type=nda_type)

    assert buyer_api.get("/api/v1/contracts/USMF/CON-9/").status_code == 200
    response = buyer_api.patch("/api/v1/contracts/USMF/CON-9/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "integration" in response.json()["errors"][0]["message"]


class TestListScope:
    @pytest.fixture
    def agreements(self, legal_entity, other_legal_entity):
        third = factories.LegalEntityFactory(code="GBSI")
        return [
            factories.AgreementFactory(legal_entity=entity, agreement_id=f"PA-{entity.code}")
            for entity in (legal_entity, other_legal_entity, third)
        ]

    @pytest.fixture
    def two_entity_api(self, api_client_for, legal_entity, other_legal_entity):
        return api_client_for(ApiClientRole.READ_ONLY, legal_entities=[legal_entity, other_legal_entity])

    def listed(self, api, params):
        response = api.get("/api/v1/purchase-agreements/", params)
        assert response.status_code == 200, response.json()
        return sorted(row["agreement_id"] for row in response.json()["results"])

    def test_legal_entity_may_be_repeated_or_comma_separated(self, two_entity_api, agreements):
        assert self.listed(two_entity_api, {"legal_entity": ["USMF", "DEMF"]}) == ["PA-DEMF", "PA-USMF"]
        assert self.listed(two_entity_api, {"legal_entity": "usmf,DEMF"}) == ["PA-DEMF", "PA-USMF"]
        assert self.listed(two_entity_api, {"legal_entity": "DEMF"}) == ["PA-DEMF"]

    def test_cross_company_lists_every_granted_legal_entity_only(self, two_entity_api, agreements):
        assert self.listed(two_entity_api, {"cross_company": "true"}) == ["PA-DEMF", "PA-USMF"]

    def test_a_list_without_scope_asks_for_legal_entity_or_cross_company(self, two_entity_api, agreements):
        for params in ({}, {"cross_company": "false"}):
            response = two_entity_api.get("/api/v1/purchase-agreements/", params)
            assert response.status_code == 400
            assert response.json()["errors"][0]["code"] == "scope_required"
            assert "cross_company=true" in response.json()["errors"][0]["message"]

    @pytest.mark.parametrize("code", ["GBSI", "NOPE"])
    def test_a_legal_entity_not_granted_or_unknown_is_403_naming_it(self, two_entity_api, agreements, code):
        response = two_entity_api.get("/api/v1/purchase-agreements/", {"legal_entity": f"USMF,{code}"})

        assert response.status_code == 403
        assert response.json()["errors"] == [
            {"field": "legal_entity", "message": f"legal entity {code} is not granted to you.", "code": "not_granted"}
        ]
