"""The paired reference CLM reports its own status on its connection (SPEC §3.5, §8.7)."""

import re

import pytest
from playwright.sync_api import expect

from contracts.choices import ConnectionStatus

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_the_clm_reports_ready_once_it_has_read_master_data_and_staff_see_it(demo_world, staff):
    connection = demo_world.connection
    connection.refresh_from_db()

    assert connection.status == ConnectionStatus.READY, connection.status_message
    assert re.search(r"Ready: \d+ vendors", connection.status_message)
    staff.goto("/")
    card = staff.locator("section", has=staff.get_by_role("heading", name="CLM connections"))
    expect(card.locator("li", has_text=connection.name)).to_contain_text("Ready")
