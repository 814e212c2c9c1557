"""Real headless Chromium (Debian's) driven by Playwright against pytest-django's live server."""

import os

import pytest
from playwright.sync_api import sync_playwright

from contracts.tests import factories

# Playwright's sync API runs an event loop in the test thread; the test's own ORM calls are
# still synchronous, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BUYER_PASSWORD = "buyer-browser-pw-1"


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


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
    page.goto("/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
