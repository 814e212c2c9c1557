"""Legal-entity isolation for every URL the site has (SPEC §2, §8; issue 9).

The URL resolver is walked: every pattern outside the admin must have a case in the table
(``cases.CASES``), so a URL added without one fails here. Each case checks, as callers
granted only legal entity A, that B's records are "not found", that lists, exports and
dashboards hold none of B's identifiers, and that writes aimed at B change nothing. The
admin is covered by one rule: it is for staff, and anyone else is sent to its login page.

The two companies are built once for the module, inside a transaction that is rolled back
at its end; each test runs in a savepoint of its own, so one test's writes never reach the
next.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from . import api_cases, ui_cases  # noqa: F401 - they fill the table
from .cases import API, CASES, PAGE, PUBLIC, SCRIPT, body_of, browser
from .world import build_world

ADMIN_PREFIX = "admin/"
# Open to anyone: the admin's own sign-in and sign-out pages.
ADMIN_PUBLIC = {"admin:login", "admin:logout"}


def url_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """Every pattern the site resolves: (route as written, ``namespace:name``)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name or prefix + str(pattern.pattern)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def test_every_url_has_an_isolation_case():
    site = {name for route, name in url_patterns() if not route.startswith(ADMIN_PREFIX)}

    assert sorted(site - CASES.keys()) == [], "add an isolation case (contracts/tests/isolation/) for these URLs"
    assert sorted(CASES.keys() - site) == [], "these cases name URLs the site no longer has"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_caller_granted_a_reaches_nothing_of_b(db, world, name):
    CASES[name].check(world)


@pytest.mark.parametrize("name", sorted(CASES))
def test_anonymous_visitors_reach_nothing(db, world, name):
    case = CASES[name]
    for method, path in case.probes(world):
        response = getattr(Client(), method)(path)
        if case.surface == PAGE:
            assert response.status_code == 302, (path, response.status_code)
            assert response["Location"] == f"{reverse('login')}?next={quote(path)}"
        elif case.surface == SCRIPT:
            assert response.status_code == 403, (path, response.status_code)
        elif case.surface == API:
            assert response.status_code in (401, 403), (path, response.status_code)
            if response["Content-Type"].startswith("application/json"):
                assert response.json()["errors"]
        else:
            assert case.surface == PUBLIC
            assert response.status_code < 500, (path, response.status_code)
        for company in (world.a, world.b):
            assert not [secret for secret in company.secrets if secret in body_of(response)], path


def admin_paths(world) -> list[tuple[str, str]]:
    """A concrete path for every admin pattern: parameters filled with B's records' ids."""
    paths = []
    for route, name in url_patterns():
        if not route.startswith(ADMIN_PREFIX) or name in ADMIN_PUBLIC:
            continue
        path = re.sub(r"\(\?P<app_label>[^)]*\)", "contracts", route)
        path = re.sub(r"\(\?P<url>\.\*\)", "no-such-page/", path)
        path = re.sub(r"<(?:\w+:)?\w+>", str(world.b.contract.pk), path)
        paths.append((name, "/" + path.replace("^", "").replace("$", "")))
    return paths


def test_admin_is_for_staff_only(db, world):
    login = reverse("admin:login")
    non_staff = browser(world)  # every model permission, granted A, but not staff
    paths = admin_paths(world)
    assert len(paths) > 100, "the admin's patterns were not found"

    for name, path in paths:
        # The admin checks who asks before it looks at the method: one write per page will do.
        for visitor, method in ((non_staff, "get"), (non_staff, "post"), (Client(), "get")):
            response = getattr(visitor, method)(path)
            assert response.status_code == 302, (name, method, path, response.status_code)
            assert response["Location"] == f"{login}?next={quote(path)}", (name, path)


def test_admin_sign_in_page_shows_no_record(db, world):
    for visitor in (browser(world), Client()):
        response = visitor.get(reverse("admin:login"))
        assert response.status_code == 200
        for company in (world.a, world.b):
            assert not [secret for secret in company.secrets if secret in body_of(response)]
