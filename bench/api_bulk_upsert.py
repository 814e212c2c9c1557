"""Benchmark: POST /api/v1/contracts/bulk-upsert/ with 1,000 new contracts per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/api_bulk_upsert.py

The API is called in-process through Django's test ``Client`` (middleware, API key
authentication, parsing, the batch write ``contracts_upsert`` with each record's status
history row, the JSON answer; no socket, no WSGI server), DEBUG off, as a clm_integration
client granted USMF. Each request carries 1,000 new NDA contracts (status Executed, with a
vendor, currency and dates, as a CLM pushes them); the request bodies are serialized
before the clock starts. Figure: contracts per second over all requests.

Baseline, in the same run: the very rows the API stored, read back, upserted with raw
psycopg (``INSERT … ON CONFLICT (legal_entity_id, contract_id) DO UPDATE``, executemany
in pipeline mode, one transaction per 1,000) into a scratch copy of contracts_contract
(every row, index, unique, check and foreign key constraint copied), so both write into a
table of the same size and shape. Afterwards the API's contracts are deleted and the
scratch table is dropped, so runs can be repeated. Options: --requests N (default 5),
--profile (cProfile of one more request), --clients N (default 1): N processes post their share
of the requests at the same time, as N web processes would serve N CLM connections, and the
raw baseline then upserts from N connections at once; the figure is all contracts over the
wall time from the first request's start to the last one's end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

URL = "/api/v1/contracts/bulk-upsert/"
LEGAL_ENTITY = "USMF"
PER_REQUEST = 1000
RATE_TARGET = 5000.0
SHARE_TARGET = 0.30
SOURCE = "contracts_contract"
SCRATCH = "bench_contract_scratch"


def records(run: str, request_number: int, vendor: str) -> list[dict]:
    return [
        {
            "legal_entity": LEGAL_ENTITY,
            "contract_id": f"BENCH-{run}-{request_number:02d}-{number:04d}",
            "external_contract_id": f"bench-{run}-{request_number:02d}-{number:04d}",
            "contract_type": "NDA",
            "status": "Executed",
            "name": f"Bench NDA {request_number}-{number}",
            "account_type": "Vend",
            "account_relation_id": vendor,
            "currency": "USD",
            "effective_date": "2026-01-01",
            "expiration_date": "2027-12-31",
            "value": "1000.00",
            "source_modified_at": "2026-03-01T00:00:00Z",
        }
        for number in range(PER_REQUEST)
    ]


# --- The scratch copy ----------------------------------------------------------------


def scratch_create(conn) -> float:
    """A full copy of contracts_contract with its indexes and constraints; returns the seconds it took."""
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(
            f"CREATE TABLE {SCRATCH} (LIKE {SOURCE} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)"
        )
        cursor.execute(f"INSERT INTO {SCRATCH} OVERRIDING SYSTEM VALUE SELECT * FROM {SOURCE}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{SCRATCH}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {SOURCE}))"
        )
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
            [SOURCE],
        )
        for name, kind, definition in cursor.fetchall():
            # Foreign keys check every new row; the copied rows are known to be valid already.
            suffix = " NOT VALID" if kind == "f" else ""
            cursor.execute(f'ALTER TABLE {SCRATCH} ADD CONSTRAINT "bench_{name}" {definition}{suffix}')
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [SOURCE, SOURCE],
        )
        for (definition,) in cursor.fetchall():
            definition = definition.replace(f" ON public.{SOURCE} ", f" ON public.{SCRATCH} ")
            definition = definition.replace("INDEX ", "INDEX bench_", 1)
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {SCRATCH}")
    return time.perf_counter() - started


def raw_upsert(conn, rows: list[tuple], columns: list[str]) -> tuple[float, float]:
    """Upserts the rows into the scratch table, 1,000 per transaction; returns when it started and ended."""
    keys = ("legal_entity_id", "contract_id")
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns if column not in keys)
    sql = (
        f"INSERT INTO {SCRATCH} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    started = time.perf_counter()
    for start in range(0, len(rows), PER_REQUEST):
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(sql, rows[start : start + PER_REQUEST])
    return started, time.perf_counter()


# --- Several clients at once ---------------------------------------------------------


def in_parallel(work, shares: list) -> tuple[list, float]:
    """Runs ``work(share)`` for each share in a forked process of its own, all released
    together; ``work`` returns (results, started, ended). Returns every result and the wall
    time from the first start to the last end. Django's connections are closed before the
    fork, so that each process opens its own."""
    if len(shares) == 1:
        results, started, ended = work(shares[0])
        return results, ended - started
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(len(shares)), context.SimpleQueue()

    def run(share):
        barrier.wait()
        try:
            answers.put(work(share))
        except BaseException as exc:  # the parent must hear of it, or it would wait forever
            answers.put(exc)

    processes = [context.Process(target=run, args=(share,)) for share in shares]
    for process in processes:
        process.start()
    collected = [answers.get() for _ in processes]
    for process in processes:
        process.join()
    for answer in collected:
        if isinstance(answer, BaseException):
            raise SystemExit(f"a client process failed: {answer!r}")
    results = [result for part, _, _ in collected for result in part]
    return results, max(ended for _, _, ended in collected) - min(started for _, started, _ in collected)


# --- The API -----------------------------------------------------------------------


def post(client, body: bytes, expected: int = PER_REQUEST):
    response = client.post(URL, body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"POST {URL} answered {response.status_code}: {response.content[:300]!r}")
    totals = response.json()["totals"]
    if totals["created"] != expected:
        failed = [r for r in response.json()["results"] if "errors" in r][:3]
        raise SystemExit(f"expected {expected} created, got {totals}; e.g. {failed}")
    return response


def profile(client, body: bytes) -> str:
    """cProfile of one request, and the SQL statements it sent, by kind."""
    from django.db import connection

    kinds: dict[str, int] = {}

    def count(execute, sql, params, many, context):
        words = sql.split()
        kind = " ".join(words[:3]) if words[0] in ("INSERT", "UPDATE", "DELETE") else words[0]
        if words[0] == "SELECT" and "FROM" in words:
            kind = f"SELECT … FROM {words[words.index('FROM') + 1]}"
        kinds[kind] = kinds.get(kind, 0) + 1
        return execute(sql, params, many, context)

    profiler = cProfile.Profile()
    with connection.execute_wrapper(count):
        profiler.enable()
        post(client, body)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(15)
    out.write(f"\nSQL of one request of {PER_REQUEST:,} records: {sum(kinds.values()):,} statements\n")
    for kind, number in sorted(kinds.items(), key=lambda item: -item[1])[:15]:
        out.write(f"  {number:6,}  {kind}\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--clients", type=int, default=1, help="processes posting at the same time (default 1)")
    args = parser.parse_args()

    _common.setup_django()
    from django.test import Client

    from contracts.models import Contract, Vendor

    info = _common.machine()
    count = Contract.objects.count()
    vendor = Vendor.objects.filter(legal_entity__code=LEGAL_ENTITY).order_by("pk").first()
    if vendor is None:
        raise SystemExit("No vendor in USMF: seed the database first (manage.py seed_demo).")
    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps({"records": records(run, n, vendor.account_number)}).encode() for n in range(args.requests)]
    api_client, key = _common.bench_client([LEGAL_ENTITY])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    created = Contract.objects.filter(contract_id__startswith=f"BENCH-{run}-")

    if not 1 <= args.clients <= args.requests:
        raise SystemExit("--clients must be between 1 and --requests.")
    print(f"contracts in the database: {count:,}; {args.requests} requests of {PER_REQUEST:,} new contracts")
    print(
        "API: in-process, django.test.Client, DEBUG off; request bodies serialized before timing; "
        f"{args.clients} client process{'es' if args.clients > 1 else ''} at once"
    )
    result = {"benchmark": "api_bulk_upsert", "machine": info, "contracts": count, "rows": []}
    try:
        with _common.raw_connection() as conn:
            print(f"scratch copy of {SOURCE} ({count:,} rows, indexes, constraints): ", end="", flush=True)
            print(f"{scratch_create(conn):.1f} s")

            post(client, json.dumps({"records": records(run, 99, vendor.account_number)[:10]}).encode(), 10)  # warm-up

            def post_share(share: list[bytes]):
                own_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
                durations, started = [], time.perf_counter()
                for body in share:
                    request_started = time.perf_counter()
                    post(own_client, body)
                    durations.append(time.perf_counter() - request_started)
                return durations, started, time.perf_counter()

            times, api_seconds = in_parallel(post_share, [bodies[n :: args.clients] for n in range(args.clients)])
            api_rate = PER_REQUEST * len(bodies) / api_seconds

            columns = [field.column for field in Contract._meta.concrete_fields if field.column != "id"]
            with conn.cursor() as cursor:
                cursor.execute(
                    f"SELECT {', '.join(columns)} FROM {SOURCE} WHERE contract_id LIKE %s AND contract_id NOT LIKE %s "
                    "ORDER BY id",
                    [f"BENCH-{run}-%", f"BENCH-{run}-99-%"],
                )
                rows = cursor.fetchall()
            assert len(rows) == PER_REQUEST * len(bodies), len(rows)

            def raw_share(share: list[tuple]):
                with _common.raw_connection() as own_conn:
                    return [], *raw_upsert(own_conn, share, columns)

            blocks = [rows[start : start + PER_REQUEST] for start in range(0, len(rows), PER_REQUEST)]
            shares = [[row for block in blocks[n :: args.clients] for row in block] for n in range(args.clients)]
            _, raw_seconds = in_parallel(raw_share, shares)
            raw_rate = len(rows) / raw_seconds
            share = api_rate / raw_rate
            fast, close = api_rate >= RATE_TARGET, share >= SHARE_TARGET
            met = fast and close

            per_request = _common.summary_ms(times)
            print(
                f"\nAPI   {api_rate:9,.0f} contracts/s   ({len(bodies)} requests: p50 {per_request['p50_ms']:.0f} ms, "
                f"max {max(times) * 1000:.0f} ms per 1,000)"
            )
            print(
                f"raw   {raw_rate:9,.0f} contracts/s   (psycopg executemany upsert into the scratch copy, "
                f"{args.clients} connection{'s' if args.clients > 1 else ''} at once)"
            )
            print(f"ratio {share:9.1%} of raw")
            print(
                f"target ≥ {RATE_TARGET:,.0f} contracts/s and ≥ {SHARE_TARGET:.0%} of raw: "
                f"{'met' if met else 'MISSED'} ({api_rate / RATE_TARGET:.1%} of the rate target, "
                f"{share / SHARE_TARGET:.1%} of the share target)"
            )
            result.update({"api_rate": api_rate, "raw_rate": raw_rate, "share": share, "request_ms": per_request})
            result["rows"].append(
                (
                    f"bulk upsert, {PER_REQUEST:,} new per request ×{len(bodies)}, {args.clients} client(s)",
                    f"{api_rate:,.0f} contracts/s",
                    f"{raw_rate:,.0f} contracts/s",
                    f"{share:.1%} of raw",
                    f"≥ {RATE_TARGET:,.0f}/s, ≥ {SHARE_TARGET:.0%}",
                    f"{'yes' if fast else 'no'} / {'yes' if close else 'no'}",
                )
            )
            if args.profile:
                body = json.dumps({"records": records(run, 98, vendor.account_number)}).encode()
                print("\nprofile of one request of 1,000 new contracts:\n" + profile(client, body))
            with conn.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    finally:
        created.delete()
        api_client.delete()
    print()
    _common.print_machine(info)
    _common.emit(result)


if __name__ == "__main__":
    main()
