"""Real headless Chromium (Debian's) driven by Playwright against pytest-django's live server."""

import pytest

from clmsite.testing import browser_page, sign_in
from contracts.tests import factories

BUYER_PASSWORD = "buyer-browser-pw-1"


@pytest.fixture
def page(browser, live_server):
    with browser_page(browser, live_server.url) as tab:
        yield tab


@pytest.fixture
def buyer(transactional_db, django_user_model):
    """A procurement user granted legal entity USMF only, with the demo group's permissions."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("pat.buyer", password=BUYER_PASSWORD, first_name="Pat")
    codenames = [
        "view_contract",
        "view_contractstatuschange",
        "view_vendor",
        "view_purchaseagreement",
        "add_purchaseagreement",
        "change_purchaseagreement",
        "delete_purchaseagreement",
        "view_purchaseagreementline",
        "add_purchaseagreementline",
        "change_purchaseagreementline",
        "delete_purchaseagreementline",
    ]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="contracts", codename__in=codenames))
    usmf = factories.LegalEntityFactory(code="USMF")
    factories.LegalEntityFactory(code="DEMF")
    user.legal_entity_grants.create(legal_entity=usmf)
    return user


def log_in(page, user, password=BUYER_PASSWORD):
    sign_in(page, user.get_username(), password)
