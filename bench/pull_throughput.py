"""Benchmark: pull throughput in contracts/s with ONE Celery worker process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/pull_throughput.py

A fake CLM speaking the reference protocol over real HTTP (connectors/tests/clm_server.py, in a
thread of this process on 127.0.0.1) serves --contracts new lightweight NDA contracts (default
20,000) in pages of --page-size (default 500, the connector's own). A connection of the reference connector pulls
them with one worker process, ``celery -A clmsite worker --concurrency=1`` (prefork, one
child), on the PostgreSQL database of DATABASE_URL with REDIS_URL (default
redis://127.0.0.1:6379/5) as the broker: page by page, each page's contracts applied as one
batch (contracts_upsert), with the run's next token and counts, in one transaction. The worker is a real
process, as in production. A pull of one page warms the worker up first; the timed pull is
then an incremental one of the new contracts. Figure: processed contracts / (finished_at -
started_at) of the run, as the worker recorded them. This process meanwhile polls the run's
row every 0.1 s and serves the fake CLM on the same CPUs; what one page of the CLM costs
(request, answer, parsing, with the connector in this process) is printed beside the figure.
The connection, its contracts and runs are deleted afterwards (bench/_sync.py), so runs
repeat. Options: --profile (cProfile of an in-process pull of 2,000 more, after the worker).
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

RATE_TARGET = 2000.0
PROFILED_CONTRACTS = 2000


def serve(server, prefix: str, count: int) -> None:
    for number in range(count):
        server.put(_sync.nda_contract(f"BENCH-PULL-{prefix}-{number:06d}".upper()))


def pulled(connection, worker, *, timeout: float):
    """Starts an incremental pull and waits for the worker to finish it; returns the run."""
    from connectors.models import SyncRun
    from connectors.pull import pull_start
    from contracts.services import Actor

    run = pull_start(connection_id=connection.pk, actor=Actor.system("bench"))
    _sync.wait_until(
        lambda: not SyncRun.objects.get(pk=run.pk).is_active, worker, what=f"{run} to finish", timeout=timeout
    )
    run.refresh_from_db()
    return run


def page_fetch_seconds(connection, samples: int = 20) -> float:
    """The median time to ask the fake CLM for the first page of what the next pull will read."""
    from connectors.registry import connector_for

    connection.refresh_from_db()
    connector = connector_for(connection)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        connector.pull(since=connection.sync_watermark, token="", full=False)
        times.append(time.perf_counter() - started)
    return _common.percentile(times, 0.5)


def profile(connection, server, prefix: str) -> str:
    """cProfile of an incremental pull of ``PROFILED_CONTRACTS`` new contracts, in this process."""
    from connectors.pull import pull_run_to_end, pull_start
    from contracts.services import Actor

    serve(server, prefix, PROFILED_CONTRACTS)
    run = pull_start(connection_id=connection.pk, actor=Actor.system("bench"), enqueue=False)
    return _common.profiled(
        lambda: pull_run_to_end(run_id=run.pk),
        lambda done, seconds: f"{done.processed:,} contracts in {seconds:.2f} s under the profiler ({done.status})",
        cumulative=35,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)  # the reference connector's default
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    _sync.setup_django()
    from connectors.tests.clm_server import FakeClmServer
    from contracts.choices import SyncRunStatus

    info = _common.machine()
    run_name = uuid.uuid4().hex[:8]
    server = FakeClmServer().start()
    print(
        f"{args.contracts:,} new NDA contracts from the fake CLM over HTTP, page size {args.page_size}; "
        "one worker: celery worker --concurrency=1"
    )
    result = {"benchmark": "pull_throughput", "machine": info, "rows": []}
    try:
        settings = {"page_size": args.page_size}
        with (
            _sync.bench_connection("pull", base_url=server.url, credentials=server.token, settings=settings) as conn,
            _sync.broker_purged(),
        ):
            with _sync.celery_worker() as worker:
                serve(server, f"warm-{run_name}", args.page_size)
                pulled(conn, worker, timeout=120)
                serve(server, run_name, args.contracts)
                page_seconds = page_fetch_seconds(conn)
                run = pulled(conn, worker, timeout=120 + args.contracts / 50)
            profiled = profile(conn, server, f"prof-{run_name}") if args.profile else ""
    finally:
        server.stop()

    seconds = (run.finished_at - run.started_at).total_seconds()
    rate = run.processed / seconds
    counts = ", ".join(
        f"{getattr(run, name)} {name}" for name in ("created", "updated", "unchanged", "stale", "failed")
    )
    print(
        f"\npull    {rate:8,.0f} contracts/s   ({run.processed:,} in {run.pages} pages of {args.page_size} "
        f"in {seconds:.1f} s; {counts}; {run.get_status_display()})"
    )
    print(f"fake CLM: one page of {args.page_size} fetched and parsed in {page_seconds * 1000:.1f} ms (median)")
    met = rate >= RATE_TARGET and run.status == SyncRunStatus.SUCCEEDED and run.processed == args.contracts
    print(f"target ≥ {RATE_TARGET:,.0f} contracts/s with one worker: {'met' if met else 'MISSED'}")
    result.update({"rate": rate, "seconds": seconds, "processed": run.processed, "pages": run.pages})
    _common.finish_without_baseline(
        result,
        info,
        what=f"pull, {args.contracts:,} new in pages of {args.page_size}, 1 worker",
        figure=f"{rate:,.0f} contracts/s",
        target=f"≥ {RATE_TARGET:,.0f}/s",
        met=met,
        profiled=profiled,
    )


if __name__ == "__main__":
    main()
