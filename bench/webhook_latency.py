"""Benchmark: webhook receipt-to-applied latency with ONE Celery worker process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/webhook_latency.py

clmsite runs under gunicorn (``-k gthread``, 2 workers × 4 threads) on 127.0.0.1, and one
worker process as ``celery -A clmsite worker --concurrency=1`` (prefork, one child), on the
PostgreSQL database of DATABASE_URL and REDIS_URL (default redis://127.0.0.1:6379/5) as the
broker. Signed webhooks, each a distinct event carrying a new lightweight NDA contract, are
POSTed at a fixed --rate (default 100/s) for --seconds (default 20) by --senders threads
(default 8), each keeping to its share of the schedule (event i at i / rate) and sending at
once when a slow answer put it behind; how far behind the sends fell is printed. After 20
warm-up events have been applied, the clock starts; when every event has been applied (or
given up), the figures come from the database: p50/p95/max of ``done_at - received_at`` per
event (stored by the web process, applied by the worker: the commit, the nudge through Redis,
the worker's contract_upsert and its commit), and the apply rate, events over the time from
the first event received to the last one applied. The run's connection, events, contracts
and queue are deleted afterwards (bench/_sync.py), so runs repeat.
Options: --profile (cProfile of applying 200 events in-process, without the worker).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import _sync

P95_TARGET_SECONDS = 2.0
WARMUP_EVENTS = 20
GUNICORN_WORKERS, GUNICORN_THREADS = 2, 4


def send(url: str, event_id: str, session: requests.Session) -> int:
    body = _sync.contract_event(f"BENCH-WHL-{event_id}".upper())
    return session.post(url, data=body, headers=_sync.signed_headers(event_id, body), timeout=30).status_code


def paced_send(url: str, event_ids: list[str], *, rate: float, senders: int) -> tuple[Counter, list[float]]:
    """Sends event i at start + i / rate; returns the answers' statuses and how late each send was."""
    statuses = [0] * len(event_ids)
    lateness = [0.0] * len(event_ids)
    start = time.monotonic() + 0.1

    def sender(first: int) -> None:
        with requests.Session() as session:
            for number in range(first, len(event_ids), senders):
                pause = start + number / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                lateness[number] = max(0.0, -pause)
                statuses[number] = send(url, event_ids[number], session)

    threads = [threading.Thread(target=sender, args=(first,)) for first in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses), lateness


def settled(connection, prefix: str, count: int) -> bool:
    """Every event of ``prefix`` applied or given up on."""
    from connectors.models import InboundEvent
    from contracts.choices import WorkStatus

    events = InboundEvent.objects.filter(connection=connection, event_id__startswith=prefix)
    return events.exclude(status=WorkStatus.PENDING).count() >= count


def profile(connection, prefix: str, count: int = 200) -> str:
    """cProfile of applying ``count`` events in-process (stored through the test Client first)."""
    from django.test import Client
    from django.urls import reverse

    from connectors.models import InboundEvent
    from connectors.webhooks import inbound_events_apply

    client = Client()
    url = reverse("api:connection-webhook", args=[connection.name])
    for number in range(count):
        event_id = f"{prefix}-{number:05d}"
        body = _sync.contract_event(f"BENCH-WHL-{event_id}".upper())
        headers = {key: value for key, value in _sync.signed_headers(event_id, body).items() if key.startswith("web")}
        client.post(url, body, content_type="application/json", headers=headers)
    event_ids = list(
        InboundEvent.objects.filter(connection=connection, event_id__startswith=prefix).values_list("pk", flat=True)
    )

    def apply_all() -> None:
        inbound_events_apply(event_id=event_ids[0])  # as the worker does: every due event of the connection

    return _common.profiled(
        apply_all, lambda _, seconds: f"applied {len(event_ids)} events in {seconds:.2f} s under the profiler"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (default 100)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to send (default 20)")
    parser.add_argument("--senders", type=int, default=8, help="sending threads (default 8)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    _sync.setup_django()
    from django.urls import reverse

    from connectors.models import InboundEvent
    from contracts.choices import WorkStatus

    info = _common.machine()
    run = uuid.uuid4().hex[:8]
    count = round(args.rate * args.seconds)
    event_ids = [f"{run}-{number:06d}" for number in range(count)]
    print(
        f"{count:,} events at {args.rate:g}/s for {args.seconds:g} s by {args.senders} sender threads; "
        f"gunicorn gthread {GUNICORN_WORKERS}×{GUNICORN_THREADS}; one worker: celery worker --concurrency=1"
    )
    result = {"benchmark": "webhook_latency", "machine": info, "rows": []}
    with (
        _sync.bench_connection("latency") as connection,
        _sync.broker_purged(),
        _sync.gunicorn_serving(workers=GUNICORN_WORKERS, threads=GUNICORN_THREADS) as base_url,
    ):
        url = base_url + reverse("api:connection-webhook", args=[connection.name])
        with _sync.celery_worker() as worker:
            with requests.Session() as session:
                for number in range(WARMUP_EVENTS):
                    send(url, f"warm-{run}-{number:03d}", session)
            warm = f"warm-{run}-"
            _sync.wait_until(lambda: settled(connection, warm, WARMUP_EVENTS), worker, what="warm-up", timeout=120)

            sending_started = time.monotonic()
            statuses, lateness = paced_send(url, event_ids, rate=args.rate, senders=args.senders)
            sent_in = time.monotonic() - sending_started
            timeout = 120 + count / 10
            _sync.wait_until(lambda: settled(connection, f"{run}-", count), worker, what="all applied", timeout=timeout)
            waited = time.monotonic() - sending_started - sent_in
        events = InboundEvent.objects.filter(connection=connection, event_id__startswith=f"{run}-")
        done = list(events.filter(status=WorkStatus.DONE).values_list("received_at", "done_at"))
        not_done = events.exclude(status=WorkStatus.DONE).count()
        # The worker has stopped, so the events stored here wait for this process alone.
        profiled = profile(connection, f"prof-{run}") if args.profile else ""

    if not done:
        sys.exit(f"None of the {count:,} events was applied; see {_sync.LOG_DIR / 'celery-worker.log'}.")
    latencies = [(done_at - received_at).total_seconds() for received_at, done_at in done]
    span = (max(done_at for _, done_at in done) - min(received_at for received_at, _ in done)).total_seconds()
    apply_rate = len(done) / span
    p50, p95 = _common.percentile(latencies, 0.50), _common.percentile(latencies, 0.95)
    print(
        f"\nsent    {count:,} in {sent_in:.1f} s ({count / sent_in:,.1f}/s; answers {dict(statuses)}; "
        f"latest send {max(lateness) * 1000:.0f} ms behind schedule); all applied {waited:.1f} s after the last"
    )
    print(
        f"latency receipt → applied: p50 {p50 * 1000:,.0f} ms, p95 {p95 * 1000:,.0f} ms, "
        f"max {max(latencies) * 1000:,.0f} ms ({len(done):,} applied, {not_done} not)"
    )
    print(f"applied {apply_rate:,.1f} events/s (first received to last applied: {span:.1f} s)")
    met = p95 <= P95_TARGET_SECONDS and not_done == 0
    print(f"target p95 ≤ {P95_TARGET_SECONDS:g} s with one worker: {'met' if met else 'MISSED'}")
    result.update({"p50_s": p50, "p95_s": p95, "max_s": max(latencies), "apply_rate": apply_rate, "not_done": not_done})
    _common.finish_without_baseline(
        result,
        info,
        what=f"webhook receipt → applied, {args.rate:g}/s for {args.seconds:g} s, 1 worker",
        figure=f"p95 {p95:.2f} s, p50 {p50:.2f} s, {apply_rate:,.0f} applied/s",
        target=f"p95 ≤ {P95_TARGET_SECONDS:g} s",
        met=met,
        profiled=profiled,
    )


if __name__ == "__main__":
    main()
