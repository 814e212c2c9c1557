"""What the synchronization benchmarks share: their connection, the web server, one worker, the broker.

Each benchmark works through a connection of its own named ``bench-<what>-…`` (the reference
connector) and removes it afterwards with every contract, event and run it brought, and any
that a crashed run left behind, so runs repeat on the same database. The broker is REDIS_URL
(default redis://127.0.0.1:6379/5, a Redis database for the benchmarks alone), purged before
and after, so no nudge of one run reaches the next.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import _common

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
SECRET = "whsec_" + base64.b64encode(b"clmsite benchmark webhook key").decode()
LEGAL_ENTITY = "USMF"
CONTRACT_TYPE = "NDA"  # lightweight flow in seed_demo: a contract and its status history, no agreement
LOG_DIR = _common.ROOT / "var" / "bench"


def setup_django() -> None:
    """``_common.setup_django`` with Redis as the broker; child processes inherit the environment."""
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    _common.setup_django()
    LOG_DIR.mkdir(parents=True, exist_ok=True)


def nda_contract(contract_id: str) -> dict:
    """A lightweight NDA as a CLM sends it (reference protocol, docs/connectors.md)."""
    return {
        "legal_entity": LEGAL_ENTITY,
        "contract_id": contract_id,
        "external_contract_id": contract_id.lower(),
        "contract_type": CONTRACT_TYPE,
        "status": "Executed",
        "name": f"Bench NDA {contract_id}",
        "effective_date": "2026-01-01",
        "expiration_date": "2027-12-31",
        "source_sequence": 1,
    }


def contract_event(contract_id: str) -> bytes:
    """The body of a ``contract.updated`` webhook carrying a new NDA."""
    payload = {"type": "contract.updated", "data": {"contract": nda_contract(contract_id)}}
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_headers(event_id: str, body: bytes) -> dict[str, str]:
    from connectors.webhooks import standard_webhook_sign

    return {"Content-Type": "application/json", **standard_webhook_sign(SECRET, event_id, body)}


@contextlib.contextmanager
def bench_connection(what: str, **fields):
    """A connection for this run (reference connector, webhook secret ``SECRET``); removed afterwards."""
    from connectors.models import Connection

    prefix = f"bench-{what}-"
    connections_remove(prefix)
    fields.setdefault("base_url", "http://127.0.0.1:9/")
    connection = Connection.objects.create(
        name=f"{prefix}{os.getpid()}-{int(time.time())}", connector="reference", webhook_secrets=SECRET, **fields
    )
    try:
        yield connection
    finally:
        connections_remove(prefix)


def connections_remove(prefix: str) -> None:
    """Deletes the connections named ``prefix…`` with their contracts, events, runs and dead letters."""
    from connectors.models import Connection, InboundEvent
    from contracts.models import Contract

    Contract.objects.filter(connection__name__startswith=prefix).delete()
    InboundEvent.objects.filter(connection__name__startswith=prefix).delete()
    # Deferred: the secrets of a crashed run were encrypted under another run's SECRET_KEY.
    Connection.objects.filter(name__startswith=prefix).only("pk").delete()


@contextlib.contextmanager
def broker_purged():
    """The broker's queue emptied now and again at the end; yields the broker URL."""
    from django.conf import settings

    from clmsite.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        sys.exit("Set REDIS_URL to a Redis database of the benchmarks' own, e.g. " + DEFAULT_REDIS_URL)
    app.control.purge()
    try:
        yield settings.CELERY_BROKER_URL
    finally:
        app.control.purge()


@contextlib.contextmanager
def gunicorn_serving(*, workers: int, threads: int):
    """clmsite under gunicorn (gthread workers) on a free loopback port; yields its base URL."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "clmsite.wsgi:application"),
        *("--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads)),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
    ]
    with child_process(command, "gunicorn.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: listening(port), process, what="gunicorn to listen", timeout=60)
        yield base_url


@contextlib.contextmanager
def celery_worker():
    """ONE Celery worker process (prefork, one child) on the bench database and broker."""
    command = [
        *(sys.executable, "-m", "celery", "-A", "clmsite", "worker", "--concurrency=1"),
        *("--loglevel=WARNING", "--without-mingle", "--without-gossip"),
    ]
    with child_process(command, "celery-worker.log") as process:
        yield process


@contextlib.contextmanager
def child_process(command: list[str], log_name: str):
    """A child process with this environment, logging to var/bench/<log_name>; stopped at the end."""
    log_path = LOG_DIR / log_name
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=_common.ROOT, env=dict(os.environ), stdout=log, stderr=log)
    process.log_path = log_path
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def wait_until(condition, process: subprocess.Popen, *, what: str, timeout: float, interval: float = 0.1) -> None:
    """Polls ``condition`` until it holds; exits with the child's log if it died or time ran out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = Path(process.log_path).read_text()[-3000:]
            reason = f"exited with {process.returncode}" if process.poll() is not None else f"timed out ({timeout} s)"
            sys.exit(f"Waiting for {what}: {reason}. {process.log_path}:\n{tail}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
