"""Benchmark: the All contracts page at 1,000,000 contracts, its default view and each single filter.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/ui_contract_list.py

Server time is measured in-process through Django's test ``Client`` signed in as the demo's
procurement user (granted USMF and DEMF, not every legal entity), with DEBUG off: middleware,
session, the view, the filterset and its form, the page query and the template. One row per
view: p50/p95 and the SQL statements of one request. Needs the database that
bench/api_contract_list.py seeds. Options: --samples N (default 50), --warmup N (default 5),
--only NAME (one view), --profile (cProfile of the slowest view).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

MIN_CONTRACTS = 1_000_000
P95_TARGET_MS = 150.0
URL = "/contracts/"


def views(party: str) -> dict[str, str]:
    """The default view and one view per filter field of ContractFilterSet (and three sorts)."""
    return {
        "default": "",
        "q (search)": "q=logistics",
        "type": "type=NDA",
        "status": "status=Executed",
        "party": f"party={party}",
        "legal_entity": "legal_entity=USMF",
        "connection_id": "connection_id=1",
        "effective from/to": "effective_from=2026-01-01&effective_to=2026-03-31",
        "expires from/to": "expiration_from=2027-01-01&expiration_to=2027-03-31",
        "expiring_within": "expiring_within=30",
        "amendment_in_process": "amendment_in_process=true",
        "sort by title": "ordering=name",
        "sort by expiry": "ordering=expiration_date",
        "sort by expiry, desc": "ordering=-expiration_date",
    }


def busiest_party() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_relation_id FROM contracts_contract WHERE account_relation_id <> '' "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", default="")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    _common.setup_django()
    from contracts import demo

    count = _common.seeded_contracts(MIN_CONTRACTS)
    client = _common.demo_client(demo.PROCUREMENT_LOGIN.username)
    info = _common.machine()
    chosen = {name: query for name, query in views(busiest_party()).items() if not args.only or name == args.only}

    print(f"contracts: {count:,}; user {demo.PROCUREMENT_LOGIN.username} (USMF, DEMF); 50 rows per page")
    print(f"server time: in-process, django.test.Client, DEBUG off; {args.samples} samples after {args.warmup} warm-up")
    result = {"benchmark": "ui_contract_list", "machine": info, "contracts": count, "views": {}, "rows": []}
    slowest = ("", 0.0)
    print(f"\n{'view':<22} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7}  slowest statement")
    for name, query in chosen.items():
        url = f"{URL}?{query}" if query else URL
        call = _common.get_ok(client, url)
        call()
        sql = _common.sql_statements(call)
        figures = _common.summary_ms(_common.timed(call, args.samples, args.warmup))
        worst = max(sql)
        met = figures["p95_ms"] <= P95_TARGET_MS
        print(
            f"{name:<22} {figures['p50_ms']:8.1f} {figures['p95_ms']:8.1f} {len(sql):>7}  "
            f"{worst[0] * 1000:.1f} ms {worst[1][:70]}"
        )
        result["views"][name] = {"url": url, **figures, "queries": len(sql)}
        result["rows"].append(
            (
                f"All contracts, {name}, p95 (p50)",
                f"{figures['p95_ms']:.1f} ms ({figures['p50_ms']:.1f}), {len(sql)} queries",
                "-",
                "-",
                f"≤ {P95_TARGET_MS:.0f} ms",
                "yes" if met else "no",
            )
        )
        if figures["p95_ms"] > slowest[1]:
            slowest = (url, figures["p95_ms"])
    if args.profile and slowest[0]:
        call = _common.get_ok(client, slowest[0])
        print(
            "\nprofile of 20 requests of the slowest view, "
            + _common.profiled(lambda: [call() for _ in range(20)], lambda _, seconds: f"{slowest[0]}: {seconds:.2f} s")
        )
    print()
    _common.print_machine(info)
    _common.emit(result)


if __name__ == "__main__":
    main()
