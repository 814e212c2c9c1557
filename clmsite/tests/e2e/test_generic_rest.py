"""A generic REST connection, configured and not coded (SPEC §10.3), pointed at a JSON API it
was not written for — the reference CLM's own listing — brings its contracts into All contracts."""

import pytest
from playwright.sync_api import expect

from clmsite.testing import wait_for
from connectors.models import Connection, SyncRun
from connectors.pull import pull_start
from connectors.registry import connector_for
from contracts.choices import SyncRunStatus
from contracts.models import Contract
from contracts.services import Actor

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The reference CLM's pull API as the admin would describe it: a cursor in ``ctoken``, the next
# one at ``next_ctoken``, the items at ``items``, field by field.
SETTINGS = {
    "endpoint": "/api/contracts/",
    "paging": "cursor",
    "cursor_param": "ctoken",
    "next_cursor_path": "next_ctoken",
    "limit_param": "limit",
    "page_size": 3,
    "items_path": "items",
    "total_path": "total",
    "fields": {
        "legal_entity": "legal_entity",
        "contract_id": "contract_id",
        "external_contract_id": "external_contract_id",
        "name": "name",
        "status": "status",
        "contract_type": "contract_type",
        "account_type": "account_type",
        "account_relation_id": "account_relation_id",
        "effective_date": "effective_date",
        "expiration_date": "expiration_date",
        "currency": "currency",
        "value": "value",
        "source_sequence": "source_sequence",
    },
}


def test_an_admin_configured_connection_reads_any_json_api_into_all_contracts(demo_world, staff):
    clm = demo_world.clm
    clm.configure(demo_world.pairing, delivery="pull")  # the demo connection is not told anything
    ndas = [clm.advance(clm.create(type="NDA", legal_entity="USMF"), "submit") for _ in range(7)]
    generic = Connection.objects.create(
        name="Any JSON API",
        connector="generic_rest",
        base_url=clm.url,
        credentials=demo_world.pairing["pull_token"],
        settings=SETTINGS,
    )
    assert connector_for(generic).settings_problems() == [], "the admin would save these settings"

    run = pull_start(connection_id=generic.pk, full=True, actor=Actor.system("e2e"))
    assert wait_for(lambda: not SyncRun.objects.get(pk=run.pk).is_active, timeout=90), demo_world.logs()

    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED, run.message
    assert run.pages >= 3 and run.failed == 0
    mine = Contract.objects.filter(connection=generic, contract_id__in=[nda["contract_id"] for nda in ndas])
    assert mine.count() == 7
    first = mine.get(contract_id=ndas[0]["contract_id"])
    assert (first.status, first.name, first.external_contract_id) == (
        "WaitingForApproval",
        ndas[0]["name"],
        ndas[0]["external_id"],
    )
    staff.goto(f"/contracts/?q={ndas[0]['contract_id']}")
    row = staff.locator("table tbody tr")
    expect(row).to_contain_text("Waiting for approval")
    expect(row).to_contain_text("Any JSON API")
