"""Sign-in throttling (django-axes): a username is locked out from one address after
LOGIN_FAILURE_LIMIT failures, for LOGIN_COOLOFF_SECONDS, on /login/ and /admin/login/."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-1"
LOCKED = "Too many failed sign-ins for this username from your address"
LOGIN_PAGES = ["/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def three_failures_lock_for_an_hour(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(hours=1)


@pytest.fixture
def staff(django_user_model):
    django_user_model.objects.create_user("alex", password=PASSWORD, is_staff=True)
    django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)


def sign_in(url: str, username: str, password: str, address: str = "192.0.2.10"):
    return Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})


def fail(url: str, username: str, times: int, address: str = "192.0.2.10") -> list[int]:
    return [sign_in(url, username, "wrong-password", address).status_code for _ in range(times)]


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_after_the_limit_even_the_right_password_is_refused_with_a_message(staff, url):
    assert fail(url, "alex", 2) == [200, 200]  # the form again, with its error
    assert sign_in(url, "alex", "wrong-password").status_code == 429

    locked = sign_in(url, "alex", PASSWORD)

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 3600
    page = locked.content.decode()
    assert LOCKED in page
    assert "locked for 60 minutes" in page
    assert 'name="password"' in page  # still the sign-in page, not a bare error
    assert "_auth_user_id" not in locked.client.session


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_another_username_or_address_is_not_locked(staff, url):
    fail(url, "alex", 3, address="192.0.2.10")

    assert sign_in(url, "sam", PASSWORD, address="192.0.2.10").status_code == 302
    assert sign_in(url, "alex", PASSWORD, address="192.0.2.99").status_code == 302


def test_a_success_clears_the_failures_before_the_limit(staff):
    fail("/login/", "alex", 2)
    assert sign_in("/login/", "alex", PASSWORD).status_code == 302

    assert fail("/login/", "alex", 2) == [200, 200]
    assert sign_in("/login/", "alex", PASSWORD).status_code == 302


def test_after_the_cool_off_the_right_password_works_again(staff, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    fail("/login/", "alex", 3)
    assert sign_in("/login/", "alex", PASSWORD).status_code == 429

    time.sleep(1.1)

    assert sign_in("/login/", "alex", PASSWORD).status_code == 302


def test_the_limits_come_from_the_environment():
    from clmsite.tests.test_settings import STRONG_KEY, settings_of

    result = settings_of(
        {"LOGIN_FAILURE_LIMIT": "7", "LOGIN_COOLOFF_SECONDS": "60", "SECRET_KEY": STRONG_KEY},
        "settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds()",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["7", "60.0"]
