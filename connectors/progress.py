"""How a sync run's progress reads: the same figures and words in the admin, on the
dashboard and in the import API (SPEC §7, §9)."""

from __future__ import annotations

from .models import SyncRun

COUNTED = ("created", "updated", "unchanged", "stale", "failed")


def sync_run_progress(run: SyncRun) -> int | None:
    """Percent of the expected records processed, rounded down; None while a run goes on
    without a known total (a CLM that does not say how many records are coming)."""
    if not run.total:
        return None if run.is_active else 100
    return min(100, run.processed * 100 // run.total)


def sync_run_progress_text(run: SyncRun) -> str:
    """E.g. "1,200 / 5,000 (24%)", or "1,200" without a known total."""
    if not run.total:
        return f"{run.processed:,}"
    return f"{run.processed:,} / {run.total:,} ({sync_run_progress(run)}%)"


def sync_run_counts_text(run: SyncRun) -> str:
    """E.g. "3 created, 5 updated, 100 unchanged, 0 stale, 2 failed"."""
    return ", ".join(f"{getattr(run, name):,} {name}" for name in COUNTED)
