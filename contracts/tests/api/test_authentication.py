"""API keys (SPEC §2, §8.1): hashed, shown once, rotated and revoked in the admin."""

import datetime
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from contracts.api.authentication import recent_clients
from contracts.choices import ApiClientRole
from contracts.models import ApiClient
from contracts.services import Actor, api_client_authenticate, api_client_revoke, api_client_rotate_key

from .factories import ApiClientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contract-types/"


def with_header(value: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=value)
    return api


def test_only_a_hash_of_the_key_is_stored(legal_entity):
    client = ApiClientFactory(legal_entities=[legal_entity])

    prefix, _, secret = client.plaintext_key.partition(".")
    assert client.key_prefix == prefix
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    assert client.key_hash == hashlib.sha256(client.plaintext_key.encode()).hexdigest()
    assert client.plaintext_key not in str(ApiClient.objects.filter(pk=client.pk).values().get())


@pytest.mark.parametrize("scheme", ["Bearer", "Api-Key", "bearer"])
def test_the_key_is_accepted_as_bearer_or_api_key(legal_entity, scheme):
    client = ApiClientFactory(legal_entities=[legal_entity])

    assert with_header(f"{scheme} {client.plaintext_key}").get(URL).status_code == 200


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer abcdefgh.wrong-secret", "Bearer a b", "Bearer "])
def test_a_wrong_key_is_401(legal_entity, header):
    ApiClientFactory(legal_entities=[legal_entity])

    response = with_header(header).get(URL)

    assert response.status_code == 401
    assert response.json()["errors"][0]["message"]


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused(legal_entity):
    client = ApiClientFactory(legal_entities=[legal_entity])

    assert api_client_authenticate(f"{client.key_prefix}.not-the-secret") is None
    assert api_client_authenticate(client.plaintext_key) == client


def test_a_revoked_or_inactive_client_is_refused(legal_entity):
    revoked = ApiClientFactory(legal_entities=[legal_entity])
    inactive = ApiClientFactory(legal_entities=[legal_entity])
    api_client_revoke(client=revoked, actor=Actor.system())
    ApiClient.objects.filter(pk=inactive.pk).update(is_active=False)

    assert with_header(f"Bearer {revoked.plaintext_key}").get(URL).status_code == 401
    assert with_header(f"Bearer {inactive.plaintext_key}").get(URL).status_code == 401


def test_rotating_replaces_the_key_at_once(legal_entity):
    client = ApiClientFactory(legal_entities=[legal_entity])
    old_key = client.plaintext_key

    new_key = api_client_rotate_key(client=client, actor=Actor.system())

    assert with_header(f"Bearer {old_key}").get(URL).status_code == 401
    assert with_header(f"Bearer {new_key}").get(URL).status_code == 200


def test_last_used_is_recorded_without_a_write_per_request(legal_entity, django_assert_num_queries):
    client = ApiClientFactory(legal_entities=[legal_entity])
    api = with_header(f"Bearer {client.plaintext_key}")

    api.get(URL)
    first_use = ApiClient.objects.get(pk=client.pk).last_used_at
    api.get(URL)

    assert first_use is not None
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first_use
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now() - datetime.timedelta(hours=1))
    recent_clients.clear()  # as CLIENT_TTL_SECONDS passing would
    api.get(URL)
    assert ApiClient.objects.get(pk=client.pk).last_used_at > first_use


def test_a_checked_key_is_trusted_briefly_and_a_revocation_ends_that_at_once(legal_entity):
    client = ApiClientFactory(legal_entities=[legal_entity])
    api = with_header(f"Bearer {client.plaintext_key}")
    api.get(URL)

    with CaptureQueriesContext(connection) as second:
        assert api.get(URL).status_code == 200
    api_client_revoke(client=client, actor=Actor.system())

    assert not any("contracts_apiclient" in query["sql"] for query in second.captured_queries)
    assert api.get(URL).status_code == 401


def test_the_clients_changes_are_recorded_under_its_name(api_client_for, legal_entity):
    api = api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity], name="reference-clm")

    api.post(URL, {"name": "Lease"}, format="json")

    assert api.get(f"{URL}Lease/").json()["changed_by"] == "api_client:reference-clm"


class TestAdmin:
    @pytest.fixture
    def admin_client(self, client, django_user_model):
        admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password-1")
        client.force_login(admin)
        return client

    def test_adding_a_client_shows_its_key_once(self, admin_client, legal_entity):
        response = admin_client.post(
            "/admin/contracts/apiclient/add/",
            {
                "name": "reference-clm",
                "role": "clm_integration",
                "legal_entities": [legal_entity.pk],
                "is_active": "on",
            },
        )

        assert response.status_code == 302
        client = ApiClient.objects.get(name="reference-clm")
        first_page = admin_client.get(response["Location"]).content.decode()
        key = first_page.split("<code>")[1].split("</code>")[0]
        assert api_client_authenticate(key) == client
        assert list(client.legal_entities.all()) == [legal_entity]
        page = admin_client.get(f"/admin/contracts/apiclient/{client.pk}/change/").content.decode()
        assert key not in page
        assert client.key_prefix in page

    def test_the_list_shows_prefix_role_entities_last_use_and_revocation(self, admin_client, legal_entity):
        ApiClientFactory(name="reporting", role=ApiClientRole.READ_ONLY, legal_entities=[legal_entity])
        ApiClientFactory(name="bi", role=ApiClientRole.READ_ONLY, cross_company=True)

        page = admin_client.get("/admin/contracts/apiclient/").content.decode()

        for text in (
            "reporting",
            "USMF",
            "All (cross-company)",
            "Read only",
            "Last used at",
            "Revoked at",
            "Key prefix",
        ):
            assert text in page

    def test_rotate_and_revoke_actions(self, admin_client, legal_entity):
        client = ApiClientFactory(legal_entities=[legal_entity])

        rotated = admin_client.post(
            "/admin/contracts/apiclient/", {"action": "rotate_keys", "_selected_action": [client.pk]}, follow=True
        )
        new_key = rotated.content.decode().split("<code>")[1].split("</code>")[0]
        assert api_client_authenticate(new_key) == client
        assert api_client_authenticate(client.plaintext_key) is None

        admin_client.post("/admin/contracts/apiclient/", {"action": "revoke_keys", "_selected_action": [client.pk]})
        assert api_client_authenticate(new_key) is None
        assert ApiClient.objects.get(pk=client.pk).revoked_at is not None
