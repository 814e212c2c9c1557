"""Deep links (SPEC §8.5): a signed link to a vendor, contract or purchase agreement, which
opens the record's page only for a signed-in person allowed to see its legal entity."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core import signing
from django.test import Client
from django.urls import reverse

from contracts.choices import ApiClientRole
from contracts.deeplinks import SALT
from contracts.models import LegalEntityGrant

pytestmark = pytest.mark.django_db

PASSWORD = "deep-link-password-1"


@pytest.fixture
def person_in(django_user_model):
    """``person_in(legal_entity)`` → a browser signed in as a buyer granted that legal entity."""

    def make(*legal_entities, sign_in=True):
        user = django_user_model.objects.create_user(f"buyer-{django_user_model.objects.count()}", password=PASSWORD)
        user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="contracts",
                codename__in=("view_contract", "view_vendor", "view_purchaseagreement"),
            )
        )
        for entity in legal_entities:
            LegalEntityGrant.objects.create(user=user, legal_entity=entity)
        browser = Client()
        if sign_in:
            browser.force_login(user)
        browser.user = user
        return browser

    return make


def make_link(api, **body) -> str:
    response = api.post("/api/v1/deep-links/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["url"]


def targets(clm_agreement) -> dict:
    contract = clm_agreement.contract
    return {
        "vendor": (
            {"account_number": clm_agreement.vendor.account_number},
            "contracts:vendor_detail",
            clm_agreement.vendor,
        ),
        "contract": ({"contract_id": contract.contract_id}, "contracts:detail", contract),
        "contract by external id": (
            {"external_contract_id": contract.external_contract_id},
            "contracts:detail",
            contract,
        ),
        "agreement": ({"agreement_id": clm_agreement.agreement_id}, "contracts:agreement_detail", clm_agreement),
        "agreement by external id": (
            {"external_contract_id": clm_agreement.external_contract_id},
            "contracts:agreement_detail",
            clm_agreement,
        ),
    }


@pytest.mark.parametrize(
    "kind", ["vendor", "contract", "contract by external id", "agreement", "agreement by external id"]
)
def test_a_link_opens_the_records_page_for_a_granted_person(clm_api, person_in, clm_agreement, legal_entity, kind):
    keys, page, record = targets(clm_agreement)[kind]
    target = kind.split()[0]

    url = make_link(clm_api, target=target, legal_entity="USMF", **keys)
    opened = person_in(legal_entity).get(urlsplit(url).path)

    assert url.startswith("http://testserver/l/")
    assert opened.status_code == 302
    assert opened["Location"] == reverse(page, args=[record.pk])


def test_an_anonymous_visitor_signs_in_first_and_comes_back(clm_api, person_in, clm_agreement, legal_entity):
    path = urlsplit(
        make_link(clm_api, target="contract", legal_entity="USMF", contract_id=clm_agreement.contract.contract_id)
    ).path
    browser = person_in(legal_entity, sign_in=False)

    to_login = browser.get(path)
    assert to_login.status_code == 302
    login = urlsplit(to_login["Location"])
    assert (login.path, parse_qs(login.query)["next"]) == (reverse("login"), [path])

    signed_in = browser.post(reverse("login"), {"username": browser.user.username, "password": PASSWORD, "next": path})
    assert signed_in["Location"] == path
    assert browser.get(path)["Location"] == reverse("contracts:detail", args=[clm_agreement.contract.pk])


def test_a_person_of_another_legal_entity_gets_not_found(clm_api, person_in, clm_agreement, other_legal_entity):
    path = urlsplit(make_link(clm_api, target="vendor", legal_entity="USMF", account_number="V-1001")).path

    assert person_in(other_legal_entity).get(path).status_code == 404


def test_an_altered_or_made_up_link_is_not_found(clm_api, person_in, clm_agreement, legal_entity):
    path = urlsplit(make_link(clm_api, target="agreement", legal_entity="USMF", agreement_id="PA-CLM-1")).path
    token = path.split("/")[2]
    value, signature = token.rsplit(":", 1)
    other_vendor = {"t": "vendor", "pk": clm_agreement.vendor.pk, "le": legal_entity.pk}
    browser = person_in(legal_entity)

    for made_up in (
        f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
        f"{value[:-2]}xx:{signature}",
        "nonsense",
        signing.dumps(other_vendor, salt="another-salt"),
        signing.dumps({"t": "vendor", "pk": "1", "le": legal_entity.pk}, salt=SALT),
        signing.dumps(["not", "a", "link"], salt=SALT),
    ):
        assert browser.get(f"/l/{made_up}/").status_code == 404, made_up


def test_a_link_to_a_record_that_is_gone_is_not_found(clm_api, person_in, legal_entity, vendor):
    path = urlsplit(make_link(clm_api, target="vendor", legal_entity="USMF", account_number=vendor.account_number)).path
    vendor.delete()

    assert person_in(legal_entity).get(path).status_code == 404


def test_read_only_clients_may_make_links_too(reader_api, vendor):
    assert make_link(reader_api, target="vendor", legal_entity="usmf", account_number=vendor.account_number)


@pytest.mark.parametrize(
    ("body", "status", "field", "code"),
    [
        ({"legal_entity": "USMF", "account_number": "V-1001"}, 422, "target", "required"),
        ({"target": "customer", "legal_entity": "USMF", "account_number": "V-1001"}, 422, "target", "invalid"),
        ({"target": "vendor", "account_number": "V-1001"}, 422, "legal_entity", "required"),
        ({"target": "vendor", "legal_entity": "USMF"}, 422, "account_number", "required"),
        ({"target": "contract", "legal_entity": "USMF", "account_number": "V-1001"}, 422, "account_number", "invalid"),
        (
            {"target": "contract", "legal_entity": "USMF", "contract_id": "X", "external_contract_id": "Y"},
            422,
            "external_contract_id",
            "invalid",
        ),
        ({"target": "vendor", "legal_entity": "USMF", "account_number": "V-1001", "id": 1}, 422, "id", "unknown_field"),
        ({"target": "vendor", "legal_entity": "USMF", "account_number": "V-404"}, 404, "account_number", "not_found"),
        ({"target": "vendor", "legal_entity": "DEMF", "account_number": "V-1001"}, 404, "account_number", "not_found"),
        ({"target": "agreement", "legal_entity": "USMF", "agreement_id": "PA-404"}, 404, "agreement_id", "not_found"),
        ({"target": ["vendor"], "legal_entity": "USMF", "account_number": "V-1001"}, 400, "target", "invalid"),
    ],
)
def test_a_link_is_made_only_for_a_record_that_exists_in_a_granted_legal_entity(
    clm_api, clm_agreement, other_legal_entity, body, status, field, code
):
    response = clm_api.post("/api/v1/deep-links/", body, format="json")

    assert response.status_code == status, response.content
    assert {(problem["field"], problem["code"]) for problem in response.json()["errors"]} >= {(field, code)}


def test_a_legal_entity_not_granted_looks_like_a_missing_record(
    api_client_for, vendor, legal_entity, other_legal_entity
):
    outsider = api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[other_legal_entity])
    body = {"target": "vendor", "legal_entity": "USMF"}

    not_granted = outsider.post("/api/v1/deep-links/", {**body, "account_number": "V-1001"}, format="json")
    missing = outsider.post(
        "/api/v1/deep-links/", {**body, "legal_entity": "DEMF", "account_number": "V-1001"}, format="json"
    )

    assert not_granted.status_code == missing.status_code == 404
    assert not_granted.json()["errors"][0]["message"].replace("USMF", "DEMF") == missing.json()["errors"][0]["message"]


def test_people_need_to_be_allowed_to_view_the_kind_of_record(person_for, legal_entity, vendor):
    body = {"target": "vendor", "legal_entity": "USMF", "account_number": vendor.account_number}

    refused = person_for(legal_entities=[legal_entity], permissions=("view_contract",))
    allowed = person_for(legal_entities=[legal_entity], permissions=("view_vendor",))

    assert refused.post("/api/v1/deep-links/", body, format="json").status_code == 403
    assert allowed.post("/api/v1/deep-links/", body, format="json").status_code == 200


def test_every_problem_of_a_link_request_is_listed(clm_api):
    response = clm_api.post("/api/v1/deep-links/", {"account_number": "V-1001", "color": "red"}, format="json")

    assert response.status_code == 422
    assert [(p["field"], p["code"]) for p in response.json()["errors"]] == [
        ("target", "required"),
        ("color", "unknown_field"),
        ("legal_entity", "required"),
    ]
