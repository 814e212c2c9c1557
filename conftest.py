import os

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import sync_playwright

from clmsite.testing import CHROMIUM, CHROMIUM_FLAGS
from contracts.services import Actor
from contracts.tests import factories


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Django's PBKDF2 takes half a second per password on purpose; tests create and log in
    hundreds of users, and what they check is who may do what, not the hash's strength."""
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def shared_client_address_limits_out_of_reach():
    """Every test client calls from 127.0.0.1, and the per-address limits count in the shared
    cache, across tests and runs: a suite that sends many wrong API keys or opens many deep
    links would hit them by accident. The tests of the limits set their own (override_settings)."""
    django_settings.API_KEY_FAILURE_RATE_LIMIT = "1000000/s"
    django_settings.DEEP_LINK_RATE_LIMIT = "1000000/s"


# Playwright's sync API runs an event loop in the test thread; the test's own ORM calls are
# still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    """Real headless Chromium, shared by every browser test of the run."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


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
