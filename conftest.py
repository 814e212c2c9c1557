import pytest

from contracts.services import Actor
from contracts.tests import factories


@pytest.fixture
def legal_entity(db):
    return factories.LegalEntityFactory(code="USMF", name="Contoso Entertainment System USA")


@pytest.fixture
def other_legal_entity(db):
    return factories.LegalEntityFactory(code="DEMF", name="Contoso Entertainment System Germany")


@pytest.fixture
def clm_actor():
    """The integration acting for the CLM: may change CLM-owned agreements."""
    return Actor.for_connector("test-clm")


@pytest.fixture
def person(django_user_model):
    user = django_user_model.objects.create_user("buyer", password="buyer-password-1")
    return Actor.for_user(user)
