"""The link to PostgreSQL breaking in the middle of a write: the caller gets the API's error
body with a 503 at once (no traceback page, no hang), the transaction leaves nothing behind,
and the very same request, repeated once the database is back, goes through."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connection as db_connection

from clmsite import testing
from contracts.choices import ApiClientRole, ContractStatus
from contracts.models import Contract, ContractStatusChange
from contracts.tests.api.factories import ApiClientFactory

from .conftest import nda
from .support import TcpProxy

pytestmark = pytest.mark.faults

URL = "/api/v1/contracts/bulk-upsert/"
RECORDS = 1000  # the most one request may carry
WRITES = (b'INSERT INTO "', b'UPDATE "', b'DELETE FROM "', b'COPY "')
UNAVAILABLE = {
    "field": None,
    "message": "the database is unavailable; retry the request shortly.",
    "code": "unavailable",
}


def writes_in_transaction(sent: bytes) -> int:
    """How many writing statements the client has sent since it opened a transaction."""
    _, begun, inside = sent.partition(b"BEGIN")
    return sum(inside.count(statement) for statement in WRITES) if begun else 0


@pytest.fixture
def proxy(transactional_db):
    settings = db_connection.settings_dict
    proxy = TcpProxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))).start()
    yield proxy
    proxy.close()


@pytest.fixture
def site(proxy):
    """clmsite's web server reaching PostgreSQL through the proxy, with DEBUG off as in production."""
    direct = f"{db_connection.settings_dict['HOST'] or '127.0.0.1'}:{db_connection.settings_dict['PORT'] or 5432}"
    proxied = testing.test_database_url().replace(f"@{direct}/", f"@127.0.0.1:{proxy.port}/")
    assert proxied != testing.test_database_url(), f"the database URL names no {direct}"
    server = testing.ClmsiteServer(
        log_name="test-faults-clmsite.log",
        DATABASE_URL=proxied,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        SECRET_KEY="faults-test-secret-key-that-is-long-enough-to-pass-the-settings-check",
    ).start()
    yield server
    server.stop()


def test_a_bulk_upsert_cut_off_from_the_database_mid_transaction_answers_503_and_writes_nothing(
    site, proxy, usmf, nda_type
):
    key = ApiClientFactory(role=ApiClientRole.CLM_INTEGRATION, legal_entities=[usmf]).plaintext_key
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "bulk-upsert-1"}
    body = {"records": [nda(number, status=ContractStatus.EXECUTED) for number in range(1, RECORDS + 1)]}

    # The contracts are written (the first statement went through) when the link breaks.
    proxy.cut_when(lambda sent: writes_in_transaction(sent) >= 2)
    started = time.monotonic()
    cut_off = requests.post(site.url + URL, json=body, headers=headers, timeout=30)
    cut_off_seconds = time.monotonic() - started

    assert proxy.cuts == 1
    assert cut_off.status_code == 503, cut_off.text[:2000]
    assert cut_off.headers["Content-Type"] == "application/json"
    assert cut_off.json() == {"errors": [UNAVAILABLE]}
    assert cut_off.headers["Retry-After"] == "5"
    assert cut_off_seconds < 10
    assert not Contract.objects.exists()
    assert not ContractStatusChange.objects.exists()

    # While the database cannot be reached at all, the answer is the same.
    proxy.refuse()
    refused = requests.post(site.url + URL, json=body, headers=headers, timeout=30)
    assert refused.status_code == 503, refused.text[:2000]
    assert refused.json() == {"errors": [UNAVAILABLE]}

    # Back: the same request, with the same Idempotency-Key, is answered as if it were the first.
    proxy.accept()
    retried = requests.post(site.url + URL, json=body, headers=headers, timeout=60)
    assert retried.status_code == 200, retried.text[:2000]
    assert retried.json()["totals"] == {"created": RECORDS, "updated": 0, "unchanged": 0, "stale": 0, "failed": 0}
    assert Contract.objects.count() == RECORDS
    assert ContractStatusChange.objects.count() == RECORDS
    print(f"cut off after {cut_off_seconds:.2f} s")
