"""Factories for API tests: clients created through the service, so each has a real key."""

import factory
from factory.django import DjangoModelFactory

from contracts.choices import ApiClientRole
from contracts.models import ApiClient
from contracts.services import Actor, api_client_create


class ApiClientFactory(DjangoModelFactory):
    """``ApiClientFactory(legal_entities=[usmf])`` → a client whose ``plaintext_key`` works."""

    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"client-{n}")
    role = ApiClientRole.CLM_INTEGRATION
    cross_company = False
    connection = None

    @classmethod
    def _create(cls, model_class, *args, legal_entities=(), **kwargs):
        client, key = api_client_create(actor=Actor.system("tests"), legal_entities=legal_entities, **kwargs)
        client.plaintext_key = key
        return client
