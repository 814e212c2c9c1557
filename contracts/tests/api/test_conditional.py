"""ETag / If-Match (SPEC §8.1): an update based on an old read is refused and writes nothing."""

import pytest

from contracts.models import PurchaseAgreement

pytestmark = pytest.mark.django_db

URL = "/api/v1/purchase-agreements/USMF/PA-SCM-1/"


def test_get_gives_a_weak_etag_and_304_while_it_is_current(clm_api, scm_agreement):
    response = clm_api.get(URL)
    etag = response["ETag"]

    assert etag.startswith('W/"')
    assert clm_api.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_matching_if_match_updates_and_gives_a_new_etag(clm_api, scm_agreement):
    etag = clm_api.get(URL)["ETag"]

    response = clm_api.patch(URL, {"document_title": "New"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag


def test_a_stale_if_match_is_412_and_nothing_is_written(clm_api, scm_agreement):
    stale = clm_api.get(URL)["ETag"]
    clm_api.patch(URL, {"document_title": "Someone else's change"}, format="json")

    for method in (clm_api.patch, clm_api.put):
        response = method(URL, {"document_title": "Mine"}, format="json", HTTP_IF_MATCH=stale)
        assert response.status_code == 412
        assert response.json()["errors"][0]["field"] == "If-Match"
    assert clm_api.delete(URL, HTTP_IF_MATCH=stale).status_code == 412
    assert PurchaseAgreement.objects.get().document_title == "Someone else's change"


def test_if_match_on_a_missing_record_is_412_and_if_none_match_star_creates_only(clm_api, vendor, scm_agreement):
    missing = "/api/v1/purchase-agreements/USMF/PA-NEW/"
    body = {"vendor": "V-1001"}

    assert clm_api.put(missing, body, format="json", HTTP_IF_MATCH='W/"1-1"').status_code == 412
    assert clm_api.put(URL, body, format="json", HTTP_IF_NONE_MATCH="*").status_code == 412
    assert clm_api.put(missing, body, format="json", HTTP_IF_NONE_MATCH="*").status_code == 201


@pytest.mark.parametrize(
    "url_and_body",
    [
        ("/api/v1/contracts/USMF/CON-E/", {"name": "Changed"}),
        ("/api/v1/contract-types/NDA/", {"description": "Changed"}),
        ("/api/v1/purchase-agreements/USMF/PA-SCM-1/lines/1/", {"committed_quantity": 5}),
    ],
)
def test_every_single_record_endpoint_checks_if_match(clm_api, scm_agreement, legal_entity, nda_type, url_and_body):
    from contracts.tests import factories

    factories.ContractFactory(legal_entity=legal_entity, contract_id="CON-E", contract_type=nda_type, connection=None)
    factories.LineFactory(agreement=scm_agreement, legal_entity=legal_entity, line_number=1)
    url, body = url_and_body
    etag = clm_api.get(url)["ETag"]

    assert clm_api.patch(url, body, format="json", HTTP_IF_MATCH='W/"0-0"').status_code == 412
    assert clm_api.patch(url, body, format="json", HTTP_IF_MATCH=etag).status_code == 200
