"""Callers of the API: API clients of each role and signed-in people, granted legal entities."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from contracts.choices import ApiClientRole
from contracts.models import LegalEntityGrant

from .factories import ApiClientFactory

AGREEMENT_PERMISSIONS = (
    "view_purchaseagreement",
    "add_purchaseagreement",
    "change_purchaseagreement",
    "delete_purchaseagreement",
    "view_purchaseagreementline",
    "add_purchaseagreementline",
    "change_purchaseagreementline",
    "delete_purchaseagreementline",
    "view_contract",
    "view_contracttype",
)


def api_with_key(client) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {client.plaintext_key}")
    api.api_client = client
    return api


@pytest.fixture
def api_client_for(db):
    """``api_client_for(role, legal_entities=[...], cross_company=False)`` → an APIClient with its key."""

    def make(role=ApiClientRole.CLM_INTEGRATION, *, legal_entities=(), cross_company=False, **kwargs):
        client = ApiClientFactory(role=role, legal_entities=legal_entities, cross_company=cross_company, **kwargs)
        return api_with_key(client)

    return make


@pytest.fixture
def person_for(db, django_user_model):
    """``person_for(legal_entities=[...], permissions=(...), cross_company=False)`` → a signed-in APIClient."""
    count = iter(range(1000))

    def make(*, legal_entities=(), permissions=AGREEMENT_PERMISSIONS, cross_company=False):
        user = django_user_model.objects.create_user(f"person-{next(count)}", password="pw-123456789")
        codenames = [*permissions, *(["cross_company"] if cross_company else [])]
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="contracts", codename__in=codenames)
        )
        for entity in legal_entities:
            LegalEntityGrant.objects.create(user=user, legal_entity=entity)
        api = APIClient()
        api.force_login(user)
        api.user = user
        return api

    return make


@pytest.fixture
def clm_api(api_client_for, legal_entity):
    """The CLM's integration client, granted USMF."""
    return api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity])


@pytest.fixture
def reader_api(api_client_for, legal_entity):
    """A reporting system's read-only client, granted USMF."""
    return api_client_for(ApiClientRole.READ_ONLY, legal_entities=[legal_entity])


@pytest.fixture
def buyer_api(person_for, legal_entity):
    """A buyer signed in to the browser, granted USMF, with the agreement permissions."""
    return person_for(legal_entities=[legal_entity])
