"""Rate limits (docs/security.md): the webhook per connection, wrong API keys and deep links
per client address; each answers 429 with Retry-After and the API's error body."""

from __future__ import annotations

import ipaddress
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from clmsite import security
from contracts.deeplinks import deep_link_token
from contracts.models import LegalEntityGrant
from contracts.tests import factories
from contracts.tests.api.factories import ApiClientFactory

pytestmark = pytest.mark.django_db

API_URL = "/api/v1/contract-types/"


def fresh_address() -> str:
    """An address no other test or earlier run used: counts in the cache outlive a test."""
    return str(ipaddress.IPv6Address("2001:db8::") + secrets.randbits(64))


@pytest.fixture(autouse=True)
def fresh_webhook_windows():
    security.webhook_windows.clear()
    yield
    security.webhook_windows.clear()


def assert_throttled(response) -> dict:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= 3600
    [error] = response.json()["errors"]
    assert error["code"] == "throttled"
    assert error["message"]
    return error


# --- Webhook, per connection ---------------------------------------------------------------


def post_webhook(client: Client, name: str):
    return client.post(reverse("api:connection-webhook", args=[name]), data=b"{}", content_type="application/json")


def test_webhook_over_its_limit_is_429_for_that_connection_only(client, settings):
    settings.WEBHOOK_RATE_LIMIT = "3/h"
    busy = factories.ConnectionFactory(name="Busy CLM", webhook_secrets="whsec_YnVzeQ==")
    quiet = factories.ConnectionFactory(name="Quiet CLM", webhook_secrets="whsec_cXVpZXQ=")

    # Unsigned: refused by the signature check while under the limit, which counts every request.
    answers = [post_webhook(client, busy.name).status_code for _ in range(3)]
    over = post_webhook(client, busy.name)

    assert answers == [401, 401, 401]
    assert_throttled(over)
    assert post_webhook(client, quiet.name).status_code == 401


def test_webhook_default_limit_is_far_above_the_clms_500_events_a_second(settings):
    rate = security.rate_setting("WEBHOOK_RATE_LIMIT")

    assert rate.count / rate.seconds >= 5 * 500


# --- API keys, failed authentications per address ---------------------------------------------


def api(address: str, key: str) -> APIClient:
    caller = APIClient(REMOTE_ADDR=address)
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return caller


def test_an_address_sending_wrong_keys_is_refused_even_with_the_right_one(legal_entity, settings):
    settings.API_KEY_FAILURE_RATE_LIMIT = "3/h"
    client = ApiClientFactory(legal_entities=[legal_entity])
    guesser = fresh_address()

    wrong = [api(guesser, f"{client.key_prefix}.guess-{n}").get(API_URL).status_code for n in range(3)]
    right_key_from_guesser = api(guesser, client.plaintext_key).get(API_URL)

    assert wrong == [401, 401, 401]
    error = assert_throttled(right_key_from_guesser)
    assert "invalid API key" in error["message"]
    assert api(fresh_address(), client.plaintext_key).get(API_URL).status_code == 200


def test_successful_keys_do_not_count_towards_the_limit(legal_entity, settings):
    settings.API_KEY_FAILURE_RATE_LIMIT = "2/h"
    client = ApiClientFactory(legal_entities=[legal_entity])
    address = fresh_address()

    answers = [api(address, client.plaintext_key).get(API_URL).status_code for _ in range(5)]

    assert answers == [200] * 5


def test_the_client_address_is_taken_from_x_forwarded_for_behind_trusted_proxies(legal_entity, settings):
    settings.API_KEY_FAILURE_RATE_LIMIT = "1/h"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = fresh_address()
    first, second = fresh_address(), fresh_address()

    def from_client(address: str):
        caller = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"10.9.9.9, {address}")
        caller.credentials(HTTP_AUTHORIZATION="Bearer wrong.key")
        return caller.get(API_URL)

    assert from_client(first).status_code == 401
    assert_throttled(from_client(first))
    assert from_client(second).status_code == 401


# --- Deep links, per address ----------------------------------------------------------------


@pytest.fixture
def vendor_link(legal_entity, django_user_model):
    vendor = factories.VendorFactory(legal_entity=legal_entity)
    user = django_user_model.objects.create_user("deep-link-reader", password="pw-deep-link-1", is_superuser=True)
    LegalEntityGrant.objects.create(user=user, legal_entity=legal_entity)
    return user, reverse("contracts:deep_link", args=[deep_link_token("vendor", vendor)])


def test_deep_links_over_the_limit_are_429_for_that_address_only(vendor_link, settings):
    settings.DEEP_LINK_RATE_LIMIT = "2/h"
    user, link = vendor_link
    reader = Client(REMOTE_ADDR=fresh_address())
    reader.force_login(user)

    answers = [reader.get(link).status_code for _ in range(2)]
    over = reader.get(link, headers={"Accept": "application/json"})

    assert answers == [302, 302]
    assert_throttled(over)
    other = Client(REMOTE_ADDR=fresh_address())
    other.force_login(user)
    assert other.get(link).status_code == 302


def test_a_browser_over_the_deep_link_limit_gets_a_page_saying_so(vendor_link, settings):
    settings.DEEP_LINK_RATE_LIMIT = "1/h"
    user, link = vendor_link
    reader = Client(REMOTE_ADDR=fresh_address())
    reader.force_login(user)
    reader.get(link)

    over = reader.get(link, headers={"Accept": "text/html,application/xhtml+xml"})

    assert over.status_code == 429
    assert int(over["Retry-After"]) >= 1
    assert b"Too many links opened from this address" in over.content


# --- Settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["many", "10", "0/m", "10/week", "-1/s", "1.5/s"])
def test_a_malformed_limit_is_refused_naming_the_setting(settings, text):
    settings.DEEP_LINK_RATE_LIMIT = text

    with pytest.raises(ImproperlyConfigured, match="DEEP_LINK_RATE_LIMIT"):
        security.rate_setting("DEEP_LINK_RATE_LIMIT")


@pytest.mark.parametrize(("text", "count", "seconds"), [("5000/s", 5000, 1), ("60/m", 60, 60), (" 3 / h ", 3, 3600)])
def test_a_limit_is_a_count_per_second_minute_or_hour(settings, text, count, seconds):
    settings.WEBHOOK_RATE_LIMIT = text

    assert security.rate_setting("WEBHOOK_RATE_LIMIT") == security.Rate(count, seconds)
