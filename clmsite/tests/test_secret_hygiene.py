"""No secret in a log line or an answer (issue 9): distinctive secrets are set everywhere
clmsite keeps one, the code paths that log or report errors are driven, every log record
(DEBUG and up, with tracebacks) and every answer is kept, and none may hold a secret or
even its first eight characters."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from django.urls import reverse

from clmsite.testing import free_port
from clmsite.tests.test_health import database_unreachable
from connectors.builtin.docusign import DocusignNavigatorConnector
from connectors.builtin.reference import ReferenceConnector
from connectors.models import DeadLetter, SyncRun
from connectors.pull import pull_run_advance, pull_start
from connectors.tests import docusign_server
from connectors.tests.clm_server import FakeClmServer
from connectors.webhooks import standard_webhook_sign
from contracts.choices import ApiClientRole
from contracts.services import Actor, api_client_create, api_client_revoke
from contracts.tests import factories

pytestmark = pytest.mark.django_db

SECRET_KEY = "Sk9Ldjq2-hygiene-secret-key-" + "aZ3xQ7mV1pL8" * 4
FIELD_KEY = Fernet.generate_key().decode()
PULL_TOKEN = "Pt4Wnv8R-hygiene-pull-token"
WEBHOOK_SECRET = "Wh7sKq2e-hygiene-webhook-secret"
CLIENT_SECRET = "Cs5Yu1Xo-hygiene-docusign-client-secret"
DATABASE_PASSWORD = "Db8Hy2Tr-hygiene-database-password"
REDIS_PASSWORD = "Rd3Mk9Wq-hygiene-redis-password"
LOG_FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")


class LeakWatch:
    """Keeps every answer a test gets; at the end, looks for secrets in them and in the logs."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.secrets = [SECRET_KEY, FIELD_KEY, PULL_TOKEN, WEBHOOK_SECRET, CLIENT_SECRET, DATABASE_PASSWORD]
        self.secrets.append(REDIS_PASSWORD)
        self.answers: list[str] = []

    def keep(self, response):
        headers = "\n".join(f"{name}: {value}" for name, value in response.items())
        self.answers.append(f"{response.status_code}\n{headers}\n{response.content.decode(errors='replace')}")
        return response

    def logged(self) -> list[str]:
        return [LOG_FORMAT.format(record) for record in self.caplog.records]

    def assert_nothing_leaked(self) -> None:
        outputs = [*self.logged(), *self.answers]
        assert outputs, "nothing was captured"
        for secret in self.secrets:
            for part in (secret, secret[:8]):
                found = [text for text in outputs if part in text]
                assert not found, f"{part!r} (of a secret) appeared in:\n{found[0][:2000]}"


@pytest.fixture
def watch(caplog, settings):
    settings.SECRET_KEY = SECRET_KEY
    settings.FIELD_ENCRYPTION_KEYS = [FIELD_KEY]
    settings.DEBUG = False
    caplog.set_level(logging.DEBUG)
    return LeakWatch(caplog)


@pytest.fixture
def staff_client(client, django_user_model, watch):
    admin = django_user_model.objects.create_superuser("hygiene-admin", password="hygiene-admin-password-1")
    client.force_login(admin)
    client.raise_request_exception = False  # an unhandled error answers as in production
    return client


@pytest.fixture
def clm(watch):
    server = FakeClmServer(token=PULL_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def reference_connection(clm, watch):
    return factories.ConnectionFactory(
        name="Hygiene CLM", base_url=clm.url, credentials=PULL_TOKEN, webhook_secrets=WEBHOOK_SECRET
    )


def echo_of(secret: str) -> str:
    """A CLM error page that quotes what it was sent, as some do."""
    return json.dumps({"detail": f"rejected request with Authorization: Bearer {secret}", "echo": secret})


def test_a_failing_pull_and_its_dead_letter_show_no_credentials(staff_client, watch, clm, reference_connection):
    run = pull_start(connection_id=reference_connection.pk, actor=Actor.system("test"), enqueue=False)
    clm.error(500, body=echo_of(PULL_TOKEN))
    pull_run_advance(run_id=run.pk)
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=None)
    clm.error(401, body=echo_of(PULL_TOKEN))
    pull_run_advance(run_id=run.pk)

    letter = DeadLetter.objects.get(object_id=run.pk)
    assert "HTTP 401" in letter.error
    for page in (
        reverse("admin:connectors_syncrun_change", args=[run.pk]),
        reverse("admin:connectors_deadletter_changelist"),
        reverse("admin:connectors_deadletter_change", args=[letter.pk]),
        reverse("home"),
    ):
        assert watch.keep(staff_client.get(page)).status_code == 200
    assert any("HTTP 401" in line for line in watch.logged())
    watch.assert_nothing_leaked()


def test_webhooks_with_a_bad_signature_or_a_good_one_show_no_secret(client, watch, reference_connection):
    url = reverse("api:connection-webhook", args=[reference_connection.name])
    body = json.dumps({"type": "contract.updated", "data": {"external_contract_id": "ext-1"}}).encode()
    now = str(int(time.time()))
    forged = base64.b64encode(b"not the signature").decode()
    bad = {"webhook-id": "evt-bad", "webhook-timestamp": now, "webhook-signature": f"v1,{forged}"}
    good = standard_webhook_sign(WEBHOOK_SECRET, "evt-good", body)

    refused = watch.keep(client.post(url, body, content_type="application/json", headers=bad))
    stored = watch.keep(client.post(url, body, content_type="application/json", headers=good))

    assert (refused.status_code, stored.status_code) == (401, 202)
    watch.assert_nothing_leaked()


def test_a_refused_api_key_is_neither_echoed_nor_logged(client, watch, legal_entity):
    api_client, key = api_client_create(
        name="hygiene client", role=ApiClientRole.READ_ONLY, actor=Actor.system("test"), legal_entities=[legal_entity]
    )
    watch.secrets.append(key)
    api_client_revoke(client=api_client, actor=Actor.system("test"))
    prefix, _, _ = key.partition(".")

    for presented in (key, f"{prefix}.wrong-secret-part"):
        answer = watch.keep(client.get("/api/v1/contracts/", headers={"Authorization": f"Bearer {presented}"}))
        assert answer.status_code == 401

    watch.assert_nothing_leaked()


def test_the_test_connection_page_shows_no_oauth_client_secret(staff_client, watch, monkeypatch):
    monkeypatch.setattr(docusign_server, "CLIENT_SECRET", CLIENT_SECRET)
    navigator = docusign_server.FakeNavigator().start()
    try:
        connection = factories.ConnectionFactory(
            name="Hygiene DocuSign",
            connector=DocusignNavigatorConnector.name,
            base_url=navigator.url,
            credentials=json.dumps({"client_secret": CLIENT_SECRET}),
            settings={
                "account_id": docusign_server.ACCOUNT_ID,
                "legal_entity": "USMF",
                "token_url": f"{navigator.url}/oauth/token",
                "client_id": docusign_server.CLIENT_ID,
            },
        )
        navigator.error(401, body=json.dumps({"error": "invalid_client", "client_secret": CLIENT_SECRET}))
        page = watch.keep(staff_client.get(reverse("admin:connectors_connection_test", args=[connection.pk])))
    finally:
        navigator.stop()

    assert page.status_code == 200
    assert b"HTTP 401" in page.content
    watch.assert_nothing_leaked()


def test_the_test_connection_page_of_a_clm_that_echoes_the_token_shows_none(
    staff_client, watch, clm, reference_connection
):
    clm.error(403, body=echo_of(PULL_TOKEN))

    page = watch.keep(staff_client.get(reverse("admin:connectors_connection_test", args=[reference_connection.pk])))

    assert page.status_code == 200
    assert b"HTTP 403" in page.content
    watch.assert_nothing_leaked()


def test_an_unhandled_error_answers_with_the_sites_own_page_and_logs_no_secret(
    staff_client, watch, reference_connection, monkeypatch
):
    def crash(self):
        raise RuntimeError("the connector failed in a way nobody foresaw")

    monkeypatch.setattr(ReferenceConnector, "preview", crash)

    page = watch.keep(staff_client.get(reverse("admin:connectors_connection_test", args=[reference_connection.pk])))

    assert page.status_code == 500
    assert b"Traceback" not in page.content
    assert b"RuntimeError" not in page.content
    assert any(record.exc_info for record in watch.caplog.records), "the crash must still be logged"
    watch.assert_nothing_leaked()


def test_the_health_check_of_unreachable_services_shows_no_password(client, watch, monkeypatch):
    database_unreachable(monkeypatch, password=DATABASE_PASSWORD)

    with override_settings(REDIS_URL=f"redis://clmsite:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"):
        answer = watch.keep(client.get("/health/"))

    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"]["status"] == checks["broker"]["status"] == "fail"
    watch.assert_nothing_leaked()

