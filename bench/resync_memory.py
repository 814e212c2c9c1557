"""Benchmark: a full resync of 1,000,000 contracts by ONE Celery worker, in constant memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/resync_memory.py

A CLM speaking the reference protocol over real HTTP serves --contracts (default 1,000,000)
lightweight NDA contracts that it makes up page by page from their position (nothing is held
in this process, so the listing itself costs no memory here). A connection of the reference
connector with pages of --page-size (default 500) runs a **full resync** with one worker
process (``celery -A clmsite worker --concurrency=1``) on the database of DATABASE_URL and the
broker of REDIS_URL (default redis://127.0.0.1:6379/5). While it runs, the resident set size
of the worker's process tree (the parent and its pool child, from /proc) is sampled every
0.5 s against the run's progress. Constant memory: the RSS after a tenth of the contracts and
at the end differ by little (target: < 50 MB of growth), whatever the count. The figure is the
peak RSS and that growth; the rate is printed beside it. The connection, its contracts and
runs are deleted afterwards (bench/_sync.py). Try --contracts 100000 first: the resync of a
million writes a million rows.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import _sync

GROWTH_TARGET_MB = 50.0
SAMPLE_SECONDS = 0.5


def generated_clm(count: int, prefix: str):
    """A reference-protocol CLM whose listing is ``count`` contracts computed from their position."""
    from connectors.tests.clm_server import FakeClmServer, json_answer

    class GeneratedClm(FakeClmServer):
        def _page(self, query, *, repeat_token):
            offset = int(query.get("ctoken", "page-0").removeprefix("page-"))
            limit = int(query.get("limit") or 100)
            items = [
                _sync.nda_contract(f"BENCH-RESYNC-{prefix}-{number:07d}".upper())
                for number in range(offset, min(offset + limit, count))
            ]
            next_token = f"page-{offset + limit}" if offset + limit < count else None
            return json_answer(200, {"items": items, "next_ctoken": next_token, "watermark": "1", "total": count})

    return GeneratedClm().start()


def tree_rss_mb(pid: int) -> float:
    """The resident set size of a process and its children, in MB (0 for one that is gone)."""
    total = 0.0
    for member in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found += [child, *_children(child)]
    return found


def resync(connection, worker, count: int) -> tuple:
    """Runs the full resync while sampling the worker's RSS; returns the run and (processed, MB) samples."""
    from connectors.models import SyncRun
    from connectors.pull import pull_start
    from contracts.services import Actor

    run = pull_start(connection_id=connection.pk, full=True, actor=Actor.system("bench"))
    samples = []
    deadline = time.monotonic() + 600 + count / 100
    while True:
        current = SyncRun.objects.get(pk=run.pk)
        samples.append((current.processed, tree_rss_mb(worker.pid)))
        if not current.is_active:
            return current, samples
        if worker.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"The resync did not finish; see {worker.log_path}")
        time.sleep(SAMPLE_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="ignored (bench/run_all passes it to every script)")
    args = parser.parse_args()

    _sync.setup_django()
    from contracts.choices import SyncRunStatus

    info = _common.machine()
    server = generated_clm(args.contracts, uuid.uuid4().hex[:8])
    print(f"full resync of {args.contracts:,} NDA contracts in pages of {args.page_size}; one worker")
    result = {"benchmark": "resync_memory", "machine": info, "rows": []}
    try:
        settings = {"page_size": args.page_size}
        with (
            _sync.bench_connection("resync", base_url=server.url, credentials=server.token, settings=settings) as conn,
            _sync.broker_purged(),
            _sync.celery_worker() as worker,
        ):
            _sync.wait_until(lambda: tree_rss_mb(worker.pid) > 0, worker, what="the worker", timeout=30)
            run, samples = resync(conn, worker, args.contracts)
    finally:
        server.stop()

    peak = max(mb for _, mb in samples)
    tenth = next((mb for processed, mb in samples if processed >= args.contracts / 10), samples[-1][1])
    growth = samples[-1][1] - tenth
    seconds = (run.finished_at - run.started_at).total_seconds()
    print(f"\nworker RSS by contracts processed (MB): {_milestones(samples, args.contracts)}")
    rate = run.processed / seconds
    print(
        f"resync  peak RSS {peak:,.0f} MB; growth from a tenth to the end {growth:+,.0f} MB; "
        f"{run.processed:,} contracts in {seconds:,.0f} s ({rate:,.0f}/s; {run.get_status_display()})"
    )
    met = growth < GROWTH_TARGET_MB and run.status == SyncRunStatus.SUCCEEDED and run.processed == args.contracts
    print(f"target: constant memory (growth < {GROWTH_TARGET_MB:.0f} MB): {'met' if met else 'MISSED'}")
    result.update({"peak_mb": peak, "growth_mb": growth, "seconds": seconds, "processed": run.processed})
    _common.finish_without_baseline(
        result,
        info,
        what=f"full resync, {args.contracts:,} contracts, 1 worker",
        figure=f"peak RSS {peak:,.0f} MB, growth {growth:+,.0f} MB ({rate:,.0f}/s)",
        target=f"constant (< {GROWTH_TARGET_MB:.0f} MB growth)",
        met=met,
    )


def _milestones(samples: list[tuple[int, float]], count: int) -> str:
    shown = []
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        sample = next(((done, mb) for done, mb in samples if done >= count * share), samples[-1])
        shown.append(f"{sample[0]:,}: {sample[1]:,.0f}")
    return "; ".join(shown)


if __name__ == "__main__":
    main()
