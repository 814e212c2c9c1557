"""The dashboard's Sync runs panel follows a running pull without a reload (SPEC §7, §9)."""

import pytest
from django.utils import timezone

from connectors.models import SyncRun
from contracts.choices import SyncRunKind, SyncRunStatus
from contracts.tests import factories

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_a_running_pull_shows_its_progress_moving_on_the_dashboard(page, buyer):
    connection = factories.ConnectionFactory(name="Reference CLM")
    run = SyncRun.objects.create(
        connection=connection,
        kind=SyncRunKind.PULL,
        status=SyncRunStatus.RUNNING,
        started_at=timezone.now(),
        total=400,
        processed=100,
        created=100,
    )
    log_in(page, buyer)
    page.goto("/")
    row = page.locator(f'tr[data-run-id="{run.pk}"]')
    assert "100 / 400 (25%)" in row.inner_text()

    SyncRun.objects.filter(pk=run.pk).update(processed=300, created=290, failed=10)

    progress_text = row.locator('[data-field="progress_text"]')
    progress_text.filter(has_text="300 / 400 (75%)").wait_for(timeout=10_000)
    assert row.locator("progress").evaluate("bar => bar.value") == 75
    assert "10 failed" in row.inner_text()
    page.screenshot(path=str(screenshot_path("dashboard-sync-progress.png")))

    SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.COMPLETED_WITH_ERRORS, processed=400)
    row.locator('[data-field="status"]').filter(has_text="Completed with record errors").wait_for(timeout=10_000)


def screenshot_path(name):
    from django.conf import settings

    return settings.VAR_DIR / name
