"""``manage.py pair_clm``: one step gives clmsite and a reference-protocol CLM each other's credentials."""

import json
import stat

import pytest
from django.core.management import CommandError, call_command

from connectors.models import Connection
from connectors.webhooks import standard_webhook_sign
from contracts.tests import factories

pytestmark = pytest.mark.django_db


def pair(tmp_path, name="Reference CLM"):
    target = tmp_path / "clm" / "pairing.json"
    call_command("pair_clm", name, "--clm-url", "http://127.0.0.1:8001", "--write", str(target))
    return target, json.loads(target.read_text())


def test_pairing_writes_the_clm_side_readable_by_the_owner_only(tmp_path):
    factories.ConnectionFactory(name="Reference CLM", base_url="https://old.example.com")

    target, pairing = pair(tmp_path)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert pairing["clmsite_url"] == "http://127.0.0.1:8000"
    assert pairing["connection"] == "Reference CLM"
    assert pairing["webhook_secret"].startswith("whsec_")
    connection = Connection.objects.get(name="Reference CLM")
    assert connection.base_url == "http://127.0.0.1:8001"
    assert connection.credentials == pairing["pull_token"]
    assert connection.webhook_secret_list == [pairing["webhook_secret"]]
    assert connection.push_master_data
    assert connection.status_label == "Not started"
    assert connection.status_message == "Paired with the CLM at http://127.0.0.1:8001; waiting for it to report."


def test_paired_clm_may_push_contracts_and_sign_webhooks(tmp_path, client):
    factories.ConnectionFactory(name="Reference CLM")
    _, pairing = pair(tmp_path)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {pairing['api_key']}"}

    listed = client.get("/api/v1/contracts/?cross_company=true", **auth)
    body = b'{"type": "ping"}'
    signed = standard_webhook_sign(pairing["webhook_secret"], "evt-1", body)
    hooked = client.post(
        "/api/v1/connections/Reference%20CLM/webhook/", body, content_type="application/json", headers=signed
    )

    assert listed.status_code == 200
    assert hooked.status_code == 202


def test_pairing_again_stops_the_old_key(tmp_path, client):
    factories.ConnectionFactory(name="Reference CLM")
    _, first = pair(tmp_path)
    _, second = pair(tmp_path)

    old = client.get("/api/v1/contracts/?cross_company=true", HTTP_AUTHORIZATION=f"Bearer {first['api_key']}")
    new = client.get("/api/v1/contracts/?cross_company=true", HTTP_AUTHORIZATION=f"Bearer {second['api_key']}")

    assert (old.status_code, new.status_code) == (401, 200)
    assert Connection.objects.get().credentials == second["pull_token"] != first["pull_token"]


def test_pairing_an_unknown_connection_names_the_ones_that_exist(tmp_path):
    factories.ConnectionFactory(name="Reference CLM")

    with pytest.raises(CommandError, match=r'no connection "Nope" \(connections: Reference CLM\)'):
        pair(tmp_path, name="Nope")
