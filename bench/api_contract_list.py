"""Benchmark: GET /api/v1/contracts/?legal_entity=USMF&page_size=100 at 1,000,000 contracts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/api_contract_list.py

Server time is measured in-process through Django's test ``Client`` (the whole middleware
stack, API key authentication, the view, filterset, cursor pagination, serializer and JSON
rendering; no HTTP parsing, socket or WSGI server), with DEBUG off, for the first page and
for a page deep in the cursor (90 % into USMF's contracts). Beside it, in the same run, the
raw baseline: the same 100 rows and columns (references by natural key) with one psycopg
query on a connection of its own, turned into dicts and serialized to JSON.

The database is seeded once (``manage.py seed_demo --contracts 1000000``, about 12 minutes on 2 CPUs)
when it holds fewer than 1,000,000 contracts; later runs reuse it. Options: --samples N
(default 200), --warmup N (default 20), --profile (cProfile of 50 first-page requests).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import decimal
import io
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

TARGET_CONTRACTS = 1_000_000
LEGAL_ENTITY = "USMF"
PAGE_SIZE = 100
P95_TARGET_MS = 100.0
RATIO_TARGET = 3.0
URL = f"/api/v1/contracts/?legal_entity={LEGAL_ENTITY}&page_size={PAGE_SIZE}"


def ensure_contracts() -> int:
    from django.core.management import call_command

    from contracts.models import Contract

    count = Contract.objects.count()
    if count < TARGET_CONTRACTS:
        missing = TARGET_CONTRACTS - count
        print(f"The database has {count:,} contracts; seeding {missing:,} more (about 12 minutes for a million)…")
        call_command("seed_demo", contracts=missing)
        count = Contract.objects.count()
    return count


def deep_position(entity_id: int) -> tuple[int, int]:
    """The id 90 % into the legal entity's contracts (by id), and how many it has."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contracts_contract WHERE legal_entity_id = %s", [entity_id])
        total = cursor.fetchone()[0]
        cursor.execute(
            "SELECT id FROM contracts_contract WHERE legal_entity_id = %s ORDER BY id OFFSET %s LIMIT 1",
            [entity_id, int(total * 0.9)],
        )
        return cursor.fetchone()[0], total


def cursor_url(position: int) -> str:
    """The URL of the page after ``position``, with the cursor the API itself would give out."""
    from rest_framework.pagination import Cursor

    from contracts.api.pagination import ApiCursorPagination

    paginator = ApiCursorPagination()
    paginator.base_url = f"http://testserver{URL}"
    paginator.page_size = PAGE_SIZE
    return paginator.encode_cursor(Cursor(offset=0, reverse=False, position=str(position))).removeprefix(
        "http://testserver"
    )


# --- The raw baseline ----------------------------------------------------------------


def raw_query() -> tuple[str, list[str]]:
    """One SELECT for the page: the columns ContractSerializer shows, references by natural key."""
    from connectors.models import Connection
    from contracts.api.serializers import ContractSerializer
    from contracts.models import Contract, ContractType, Currency, LegalEntity, Worker

    joins = {
        "legal_entity": ("JOIN", LegalEntity, "code"),
        "contract_type": ("JOIN", ContractType, "name"),
        "currency": ("LEFT JOIN", Currency, "code"),
        "connection": ("LEFT JOIN", Connection, "name"),
        "requester_worker": ("LEFT JOIN", Worker, "personnel_number"),
    }
    columns, tables = [], []
    for name in ContractSerializer.Meta.fields:
        if name in joins:
            kind, model, key = joins[name]
            alias = f"r_{name}"
            columns.append(f"{alias}.{key}")
            tables.append(f"{kind} {model._meta.db_table} {alias} ON {alias}.id = c.{name}_id")
        else:
            columns.append(f"c.{Contract._meta.get_field(name).column}")
    sql = (
        f"SELECT {', '.join(columns)} FROM {Contract._meta.db_table} c {' '.join(tables)} "
        "WHERE c.legal_entity_id = %s AND c.id > %s ORDER BY c.id LIMIT %s"
    )
    return sql, list(ContractSerializer.Meta.fields)


def json_value(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (datetime.date, decimal.Decimal)):
        return str(value)
    return value


def raw_page(conn, sql: str, names: list[str], entity_id: int, position: int, dumps) -> bytes:
    with conn.cursor() as cursor:
        cursor.execute(sql, (entity_id, position, PAGE_SIZE))
        rows = cursor.fetchall()
    results = [{name: json_value(value) for name, value in zip(names, row, strict=True)} for row in rows]
    return dumps({"next": None, "previous": None, "results": results})


# --- Measuring ---------------------------------------------------------------------


def profile(client, url: str) -> str:
    """cProfile of 50 requests, and the SQL of one request."""
    call = _common.get_ok(client, url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(50):
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    statements = _common.sql_statements(call)
    out.write(f"\nSQL of one request ({len(statements)} statements):\n")
    for seconds, sql in statements:
        out.write(f"  {seconds * 1000:6.2f} ms  {sql[:150]}\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    _common.setup_django()
    from django.test import Client

    from contracts.models import LegalEntity

    count = ensure_contracts()
    entity = LegalEntity.objects.get(code=LEGAL_ENTITY)
    position, in_entity = deep_position(entity.pk)
    info = _common.machine()
    api_client, key = _common.bench_client([LEGAL_ENTITY])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    encoder, dumps = _common.dumps()
    sql, names = raw_query()
    pages = {"first page": (URL, 0), "deep page": (cursor_url(position), position)}

    print(f"contracts: {count:,} in the database, {in_entity:,} in {LEGAL_ENTITY}; {PAGE_SIZE} per page")
    print("server time: in-process, django.test.Client (middleware, auth, view, filterset, paging, serializer,")
    print(
        f"  JSON rendering; no socket, no WSGI server), DEBUG off; {args.samples} samples after {args.warmup} warm-up"
    )
    print(f"raw baseline: one psycopg query of the same rows and columns + dicts + {encoder}, same run")
    result = {"benchmark": "api_contract_list", "machine": info, "contracts": count, "pages": {}, "rows": []}
    try:
        with _common.raw_connection() as conn:
            for label, (url, after) in pages.items():
                first = _common.get_ok(client, url)()
                assert len(first.json()["results"]) == PAGE_SIZE, label
                api = _common.summary_ms(_common.timed(_common.get_ok(client, url), args.samples, args.warmup))
                raw_size = len(raw_page(conn, sql, names, entity.pk, after, dumps))
                raw = _common.summary_ms(
                    _common.timed(
                        lambda a=after: raw_page(conn, sql, names, entity.pk, a, dumps), args.samples, args.warmup
                    )
                )
                ratio_p50, ratio_p95 = api["p50_ms"] / raw["p50_ms"], api["p95_ms"] / raw["p95_ms"]
                print(f"\n{label}: GET {url}")
                print(
                    f"  API   p50 {api['p50_ms']:7.2f} ms   p95 {api['p95_ms']:7.2f} ms   "
                    f"({len(first.content):,} bytes of JSON)"
                )
                print(
                    f"  raw   p50 {raw['p50_ms']:7.2f} ms   p95 {raw['p95_ms']:7.2f} ms   ({raw_size:,} bytes of JSON)"
                )
                print(f"  ratio p50 {ratio_p50:6.1f}×     p95 {ratio_p95:6.1f}×")
                fast, close = api["p95_ms"] <= P95_TARGET_MS, ratio_p95 <= RATIO_TARGET
                print(
                    f"  target p95 ≤ {P95_TARGET_MS:.0f} ms: {'met' if fast else 'MISSED'} "
                    f"({api['p95_ms'] - P95_TARGET_MS:+.1f} ms); p95 ≤ {RATIO_TARGET:.0f}× raw: "
                    f"{'met' if close else 'MISSED'} ({ratio_p95 / RATIO_TARGET:.2f}× the allowed ratio)"
                )
                result["pages"][label] = {
                    "url": url,
                    "api": api,
                    "raw": raw,
                    "ratio_p50": ratio_p50,
                    "ratio_p95": ratio_p95,
                }
                result["rows"].append(
                    (
                        f"contract list, {label}, p95 (p50)",
                        f"{api['p95_ms']:.1f} ms ({api['p50_ms']:.1f})",
                        f"{raw['p95_ms']:.2f} ms ({raw['p50_ms']:.2f})",
                        f"{ratio_p95:.1f}× ({ratio_p50:.1f}×)",
                        f"≤ {P95_TARGET_MS:.0f} ms, ≤ {RATIO_TARGET:.0f}×",
                        f"{'yes' if fast else 'no'} / {'yes' if close else 'no'}",
                    )
                )
        if args.profile:
            print("\nprofile of 50 first-page requests:\n" + profile(client, URL))
    finally:
        api_client.delete()
    print()
    _common.print_machine(info)
    _common.emit(result)


if __name__ == "__main__":
    main()
