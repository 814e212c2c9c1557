"""Idempotency-Key on POST (SPEC §8.1): a repeat gets the first answer and writes nothing."""

import datetime

import pytest
from django.utils import timezone

from contracts.api.idempotency import idempotency_records_purge
from contracts.models import Contract, IdempotencyRecord, PurchaseAgreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(vendor):
    return {"legal_entity": "USMF", "vendor": "V-1001", "document_title": "Paper"}


def post(api, body, key="key-1", url="/api/v1/purchase-agreements/"):
    return api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_repeat_returns_the_first_answer_verbatim_and_creates_one_record(clm_api, body):
    first = post(clm_api, body)
    repeat = post(clm_api, body)

    assert first.status_code == repeat.status_code == 201
    assert repeat.json() == first.json()
    assert repeat["Location"] == first["Location"]
    assert repeat["ETag"] == first["ETag"]
    assert repeat["Idempotent-Replayed"] == "true"
    assert PurchaseAgreement.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(clm_api, body):
    post(clm_api, body)

    response = post(clm_api, {**body, "document_title": "Toner"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert PurchaseAgreement.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused(clm_api, body, nda_type):
    post(clm_api, body)

    assert post(clm_api, body, url="/api/v1/contract-types/").status_code == 422


def test_keys_are_per_caller(clm_api, api_client_for, legal_entity, body):
    other = api_client_for(legal_entities=[legal_entity])

    post(clm_api, body)
    second = post(other, body)

    assert second.status_code == 201
    assert second.json()["agreement_id"] != post(clm_api, body).json()["agreement_id"]
    assert PurchaseAgreement.objects.count() == 2


def test_an_error_answer_is_kept_too_and_replayed(clm_api, body):
    bad = {**body, "vendor": "V-404"}

    first = post(clm_api, bad)
    repeat = post(clm_api, bad)

    assert first.status_code == repeat.status_code == 422
    assert repeat.json() == first.json()


def test_contract_create_with_a_key_is_written_once(clm_api, nda_type):
    contract = {"legal_entity": "USMF", "contract_id": "C-1", "contract_type": "NDA", "name": "NDA"}

    responses = [post(clm_api, contract, url="/api/v1/contracts/") for _ in range(3)]

    assert [response.status_code for response in responses] == [201, 201, 201]
    assert Contract.objects.count() == 1


def test_records_older_than_24_hours_are_ignored_and_purged(clm_api, body):
    post(clm_api, body)
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))

    assert post(clm_api, body).status_code == 201
    assert PurchaseAgreement.objects.count() == 2
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert idempotency_records_purge() == 1


def test_an_overlong_key_is_a_400(clm_api, body):
    response = post(clm_api, body, key="k" * 256)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_session_users_have_keys_of_their_own(buyer_api, body):
    first = post(buyer_api, body)
    repeat = post(buyer_api, body)

    assert repeat.json() == first.json()
    assert IdempotencyRecord.objects.get().user == buyer_api.user
