"""CSRF on every form of the browser UI: each page's POST forms carry the token, and each
view that takes a POST refuses one without it (403). The URL patterns are walked, so a new
page or form view that is not listed here makes these tests fail."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contracts.choices import AgreementOwnership
from contracts.deeplinks import deep_link_token
from contracts.tests import factories

pytestmark = pytest.mark.django_db

# Django's admin has its own CSRF handling and tests; the API is token- or session-authenticated
# through DRF, which enforces CSRF for sessions itself.
NOT_BROWSER_UI = ("admin/", "api/")

# Every browser-UI URL name, with the arguments taken from the ``world`` fixture.
ROUTES = {
    "login": {},
    "logout": {},
    "home": {},
    "health": {},
    "health_live": {},
    "contracts:list": {},
    "contracts:detail": {"pk": "contract"},
    "contracts:export_csv": {},
    "contracts:export_xlsx": {},
    "contracts:deep_link": {"token": "deep_link_token"},
    "contracts:sync_runs": {},
    "contracts:latest_changes": {},
    "contracts:vendor_list": {},
    "contracts:vendor_detail": {"pk": "vendor"},
    "contracts:agreement_list": {},
    "contracts:agreement_create": {},
    "contracts:agreement_detail": {"pk": "agreement"},
    "contracts:agreement_update": {"pk": "agreement"},
    "contracts:agreement_delete": {"pk": "agreement"},
    "contracts:agreement_line_create": {"pk": "agreement"},
    "contracts:agreement_line_update": {"pk": "agreement", "line_pk": "line"},
    "contracts:agreement_line_delete": {"pk": "agreement", "line_pk": "line"},
}
# Pages seen signed out (a signed-in visitor is sent on from them).
SIGNED_OUT = {"login"}


def browser_ui_patterns(patterns=None, prefix="", namespace=None):
    """(route, URL name, view class) of every pattern outside the admin and the API."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(NOT_BROWSER_UI):
            continue
        if isinstance(pattern, URLResolver):
            yield from browser_ui_patterns(pattern.url_patterns, route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield route, name, getattr(pattern.callback, "view_class", None)


def takes_post(view_class) -> bool:
    return view_class is not None and "post" in view_class.http_method_names and hasattr(view_class, "post")


def takes_get(view_class) -> bool:
    return view_class is None or "get" in view_class.http_method_names


POST_VIEWS = sorted(name for _, name, view_class in browser_ui_patterns() if takes_post(view_class))
# Log out takes no GET: its form is in the layout of every signed-in page, checked with them.
PAGES = sorted(name for _, name, view_class in browser_ui_patterns() if takes_get(view_class))


def test_every_browser_ui_url_is_covered_here():
    missing = sorted(f"{route} ({name})" for route, name, _ in browser_ui_patterns() if name not in ROUTES)

    assert missing == [], "add these URLs to ROUTES in clmsite/tests/test_security_csrf.py"


def test_the_form_views_are_found():
    assert {"login", "logout", "contracts:agreement_create", "contracts:agreement_line_delete"} <= set(POST_VIEWS)


@pytest.fixture
def world(legal_entity):
    agreement = factories.AgreementFactory(legal_entity=legal_entity, ownership=AgreementOwnership.SCM)
    line = factories.LineFactory(legal_entity=legal_entity, agreement=agreement)
    contract = factories.ContractFactory(legal_entity=legal_entity)
    return {
        "agreement": agreement.pk,
        "line": line.pk,
        "contract": contract.pk,
        "vendor": agreement.vendor.pk,
        "deep_link_token": deep_link_token("vendor", agreement.vendor),
    }


def url_of(name: str, world: dict) -> str:
    return reverse(name, kwargs={key: world[value] for key, value in ROUTES[name].items()})


@pytest.fixture
def strict_browser(admin_user):
    """A signed-in browser whose POSTs are checked for the CSRF token, as real ones are."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    return browser


POST_FORM = re.compile(r"<form\b[^>]*\bmethod=[\"']post[\"'][^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("name", PAGES)
def test_every_post_form_on_a_page_carries_the_csrf_token(strict_browser, world, name):
    browser = Client(enforce_csrf_checks=True) if name in SIGNED_OUT else strict_browser

    response = browser.get(url_of(name, world))

    assert response.status_code in (200, 302, 503), response.content[:300]  # 503: health without a worker
    if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        forms = POST_FORM.findall(response.content.decode())
        assert all('name="csrfmiddlewaretoken"' in form for form in forms)


@pytest.mark.parametrize("name", POST_VIEWS)
def test_a_post_without_the_csrf_token_is_refused(strict_browser, world, name):
    browser = Client(enforce_csrf_checks=True) if name in SIGNED_OUT else strict_browser

    response = browser.post(url_of(name, world), {"document_title": "changed"})

    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_a_page_with_two_forms_has_the_token_in_both(strict_browser, world):
    """The pattern above does find forms: the delete page has its own and the layout's log out."""
    page = strict_browser.get(url_of("contracts:agreement_delete", world)).content.decode()

    forms = POST_FORM.findall(page)

    assert len(forms) == 2
    assert all('name="csrfmiddlewaretoken"' in form for form in forms)
