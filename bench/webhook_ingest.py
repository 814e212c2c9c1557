"""Benchmark: webhook ingest throughput, POST /api/v1/connections/<name>/webhook/ over loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/webhook_ingest.py

clmsite runs under gunicorn (``-k gthread``, --workers × --threads, default 4 × 4) on a free
127.0.0.1 port, on the PostgreSQL database of DATABASE_URL with REDIS_URL (default
redis://127.0.0.1:6379/5) as the Celery broker; no worker runs, so what is measured is
receiving only: verifying the Standard Webhooks signature, storing the event under its id,
committing, publishing the apply task's nudge to Redis, answering 202. The load is wrk (the
Debian package; ``make bench`` installs it) with bench/webhook_ingest.lua, --threads threads
and --connections keep-alive connections for --duration seconds. Every request is a distinct
event (own webhook-id, a lightweight NDA contract in the body, timestamp fresh), signed before
wrk starts; each wrk thread sends a disjoint slice of them, so no id is sent twice. A 3-second
wrk run with events of its own warms every gunicorn worker up first.

Figures: requests/s (2xx answers over wrk's duration), wrk's latency percentiles, and whether
anything was lost: every 2xx answer names its stored event, which must be in the database under
an id that was sent, and the events stored must be exactly those answered 2xx. Requests that
wrk had sent but got no answer for when it stopped are delivered again, as a CLM would
(answered 200 duplicate if they had been stored, 202 if not), and then counted too. The run's
connection, events and queue are deleted afterwards (bench/_sync.py), so runs repeat.
Options: --requests N signed (default 40,000; the script stops if wrk runs out), --profile
(cProfile of 500 requests in-process through Django's test Client, without gunicorn).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import _sync

LUA = Path(__file__).resolve().with_suffix(".lua")
RATE_TARGET = 500.0
WARMUP_SECONDS = 3
WARMUP_REQUESTS = 10_000


def event_body(event_id: str) -> bytes:
    """The event's body: a new NDA whose contract id is made from the event's id."""
    return _sync.contract_event(f"BENCH-WH-{event_id}".upper())


def signed_lines(prefix: str, count: int) -> list[str]:
    """``count`` requests as the Lua script reads them: id, timestamp, signature, body."""
    lines = []
    for number in range(count):
        event_id = f"{prefix}-{number:06d}"
        body = event_body(event_id)
        headers = _sync.signed_headers(event_id, body)
        lines.append(f"{event_id}\t{headers['webhook-timestamp']}\t{headers['webhook-signature']}\t{body.decode()}")
    return lines


def wrk_run(url: str, lines: list[str], *, threads: int, connections: int, seconds: int) -> dict:
    """Runs wrk with the Lua script over ``lines``; returns the script's figures and the ids each thread sent."""
    with tempfile.TemporaryDirectory() as scratch:
        requests_path, out_path = Path(scratch) / "requests.tsv", Path(scratch) / "wrk.json"
        requests_path.write_text("\n".join(lines) + "\n")
        env = {
            **os.environ,
            "BENCH_WRK_REQUESTS": str(requests_path),
            "BENCH_WRK_THREADS": str(threads),
            "BENCH_WRK_OUT": str(out_path),
        }
        command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
        subprocess.run([*command, "-s", str(LUA), url], env=env, check=True, capture_output=True)
        figures = json.loads(out_path.read_text())
    if any(thread["exhausted"] for thread in figures["threads"]):
        sys.exit(f"wrk ran out of the {len(lines):,} signed requests; run again with a larger --requests.")
    ids = [line.split("\t", 1)[0] for line in lines]
    for thread in figures["threads"]:
        thread["sent_ids"] = ids[thread["number"] :: threads][: thread["sent"]]
    return figures


def redeliver(url: str, event_ids: list[str]) -> dict[str, int]:
    """Sends these events again, freshly signed, as a CLM retries a delivery it got no answer for."""
    statuses: dict[str, int] = {}
    with requests.Session() as session:
        for event_id in event_ids:
            body = event_body(event_id)
            answer = session.post(url, data=body, headers=_sync.signed_headers(event_id, body), timeout=30)
            statuses[event_id] = answer.status_code
    return statuses


def nothing_lost(connection, prefix: str, figures: dict, url: str) -> dict:
    """Checks every 2xx against the database, redelivers what had no answer, and counts."""
    from connectors.models import InboundEvent

    events = InboundEvent.objects.filter(connection=connection, event_id__startswith=f"{prefix}-")
    stored_at_stop = dict(events.values_list("pk", "event_id"))
    answered = [pk for thread in figures["threads"] for pk in thread["stored"]]
    sent = [event_id for thread in figures["threads"] for event_id in thread["sent_ids"]]
    answered_ids = {stored_at_stop[pk] for pk in answered if pk in stored_at_stop}
    unanswered = [event_id for event_id in sent if event_id not in answered_ids]
    redelivered = redeliver(url, unanswered)
    stored_now = set(events.values_list("event_id", flat=True))
    acknowledged = answered_ids | {event_id for event_id, status in redelivered.items() if 200 <= status < 300}
    return {
        "answered_2xx": len(answered),
        "answered_2xx_not_stored": sum(1 for pk in answered if pk not in stored_at_stop),
        "answered_twice": len(answered) - len(set(answered)),
        "stored_at_stop": len(stored_at_stop),
        "unanswered_at_stop": len(unanswered),
        "redelivered_duplicate": sum(1 for status in redelivered.values() if status == 200),
        "redelivered_accepted": sum(1 for status in redelivered.values() if status == 202),
        "redelivered_other": sum(1 for status in redelivered.values() if not 200 <= status < 300),
        "stored_now": len(stored_now),
        "acknowledged": len(acknowledged),
        "acknowledged_not_stored": len(acknowledged - stored_now),
        "stored_not_acknowledged": len(stored_now - acknowledged),
        "stored_never_sent": len(stored_now - set(sent)),
    }


def profile(connection, prefix: str, count: int = 500) -> str:
    """cProfile of ``count`` webhook requests through Django's test Client (no gunicorn, no wrk)."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    url = reverse("api:connection-webhook", args=[connection.name])
    lines = [line.split("\t") for line in signed_lines(prefix, count)]

    def send_all() -> None:
        for event_id, timestamp, signature, body in lines:
            headers = {"webhook-id": event_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
            answer = client.post(url, body, content_type="application/json", headers=headers)
            assert answer.status_code == 202, answer.content

    def describe(_, seconds: float) -> str:
        return f"{count} requests in {seconds:.2f} s under the profiler ({count / seconds:,.0f}/s)"

    return _common.profiled(send_all, describe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds of the timed wrk run (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--gunicorn-threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk (make bench does it).")

    _sync.setup_django()
    import gunicorn
    from django.urls import reverse

    info = _common.machine()
    run = uuid.uuid4().hex[:8]
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    print(
        f"gunicorn {gunicorn.__version__}, gthread, {args.workers} workers × {args.gunicorn_threads} threads; "
        f"{wrk_version}, {args.threads} threads, {args.connections} connections, {args.duration} s "
        f"(after a {WARMUP_SECONDS} s warm-up)"
    )
    result = {"benchmark": "webhook_ingest", "machine": info, "rows": []}
    with (
        _sync.bench_connection("webhook") as connection,
        _sync.broker_purged() as broker,
        _sync.gunicorn_serving(workers=args.workers, threads=args.gunicorn_threads) as base_url,
    ):
        print(f"database {os.environ['DATABASE_URL']}, broker {broker}")
        url = base_url + reverse("api:connection-webhook", args=[connection.name])
        options = {"threads": args.threads, "connections": args.connections}
        wrk_run(url, signed_lines(f"warm-{run}", WARMUP_REQUESTS), seconds=WARMUP_SECONDS, **options)
        figures = wrk_run(url, signed_lines(run, args.requests), seconds=args.duration, **options)
        counts = nothing_lost(connection, run, figures, url)
        profiled = profile(connection, f"prof-{run}") if args.profile else ""

    seconds = figures["duration_us"] / 1e6
    rate = counts["answered_2xx"] / seconds
    latency = {name: value / 1000 for name, value in figures["latency_us"].items()}
    statuses: dict[str, int] = {}
    for thread in figures["threads"]:
        for status, count in thread["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    errors = {name: count for name, count in figures["errors"].items() if count}
    lost = counts["answered_2xx_not_stored"] + counts["acknowledged_not_stored"]
    surprises = counts["stored_not_acknowledged"] + counts["stored_never_sent"] + counts["answered_twice"]
    clean = lost == 0 and surprises == 0 and set(statuses) <= {"202"} and not errors
    print(
        f"\ningest  {rate:8,.0f} requests/s   ({counts['answered_2xx']:,} answered 2xx in {seconds:.1f} s; "
        f"statuses {statuses}; socket errors {errors or 'none'})"
    )
    print(
        f"latency p50 {latency['p50']:.1f} ms, p90 {latency['p90']:.1f} ms, p99 {latency['p99']:.1f} ms, "
        f"max {latency['max']:.1f} ms (wrk)"
    )
    print(
        f"stored  {counts['stored_at_stop']:,} events when wrk stopped, {counts['answered_2xx']:,} answered 2xx "
        f"({counts['answered_2xx_not_stored']} of them not stored); {counts['unanswered_at_stop']} sent without "
        f"an answer yet, delivered again: {counts['redelivered_duplicate']} answered 200 duplicate (stored "
        f"before), {counts['redelivered_accepted']} 202 (new)"
    )
    print(
        f"nothing lost: {'yes' if lost == 0 else 'NO'} — {counts['stored_now']:,} events stored, "
        f"{counts['acknowledged']:,} ids acknowledged 2xx, {counts['acknowledged_not_stored']} of them missing; "
        f"{counts['stored_not_acknowledged']} stored unacknowledged, {counts['stored_never_sent']} stored never "
        f"sent, {counts['answered_twice']} answered twice"
    )
    met = rate >= RATE_TARGET and clean
    print(f"target ≥ {RATE_TARGET:,.0f} requests/s, nothing lost: {'met' if met else 'MISSED'}")
    result.update({"rate": rate, "latency_ms": latency, "statuses": statuses, "errors": errors, "counts": counts})
    _common.finish_without_baseline(
        result,
        info,
        what=f"webhook ingest, gunicorn {args.workers}×{args.gunicorn_threads}, wrk -c {args.connections}",
        figure=f"{rate:,.0f} req/s, p99 {latency['p99']:.0f} ms, lost {lost}",
        target=f"≥ {RATE_TARGET:,.0f}/s, nothing lost",
        met=met,
        profiled=profiled,
    )


if __name__ == "__main__":
    main()
