"""Benchmark: the All contracts export (CSV, and Excel) of 100,000 and 1,000,000 rows in constant memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_clmsite .venv/bin/python bench/export_memory.py

Each export is requested in-process through Django's test ``Client`` (DEBUG off) as the demo's
admin, who sees every legal entity, and consumed to its last byte. The resident set size
(RSS, from /proc) is sampled while it streams: the figure is the peak growth over the RSS
before the request. Constant memory means the growth stays small (target < 50 MB) and is
about the same for 1,000,000 rows as for 100,000. Needs the database that
bench/api_contract_list.py seeds. Options: --formats csv,xlsx (default both), --sizes small,full.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

MIN_CONTRACTS = 1_000_000
GROWTH_TARGET_MB = 50.0
URLS = {"csv": "/contracts/export.csv", "xlsx": "/contracts/export.xlsx"}
# The whole table, and a filter that leaves about a tenth of it (the "Expired" status).
SIZES = {"small": {"status": "Expired"}, "full": {}}
SAMPLE_EVERY = 50  # chunks of the response between two RSS samples


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def export(client, url: str, params: dict) -> dict:
    before = rss_mb()
    peak = before
    started = time.perf_counter()
    response = client.get(url, params)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    size = newlines = 0
    for number, chunk in enumerate(response.streaming_content):
        size += len(chunk)
        newlines += chunk.count(b"\n")
        if number % SAMPLE_EVERY == 0:
            peak = max(peak, rss_mb())
    response.close()
    seconds = time.perf_counter() - started
    peak = max(peak, rss_mb())
    return {"bytes": size, "seconds": seconds, "rss_before_mb": before, "rss_peak_mb": peak, "lines": newlines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--sizes", default="small,full")
    # bench/run_all passes its options to every script; a profile would only slow the stream.
    parser.add_argument("--profile", action="store_true", help="ignored")
    args = parser.parse_args()

    _common.setup_django()
    from contracts import demo
    from contracts.models import Contract

    count = _common.seeded_contracts(MIN_CONTRACTS)
    client = _common.demo_client(demo.ADMIN_LOGIN.username)
    info = _common.machine()
    result = {"benchmark": "export_memory", "machine": info, "contracts": count, "exports": [], "rows": []}
    print(f"contracts: {count:,}; user {demo.ADMIN_LOGIN.username} (every legal entity); RSS sampled while streaming")
    print(f"\n{'export':<7} {'rows':>10} {'seconds':>8} {'MB out':>8} {'RSS before':>11} {'peak':>8} {'growth':>8}")
    for kind in args.formats.split(","):
        for size in args.sizes.split(","):
            params = SIZES[size]
            rows = Contract.objects.filter(**params).count()
            figures = export(client, URLS[kind], params)
            growth = figures["rss_peak_mb"] - figures["rss_before_mb"]
            print(
                f"{kind:<7} {rows:>10,} {figures['seconds']:8.1f} {figures['bytes'] / 2**20:8.1f} "
                f"{figures['rss_before_mb']:9.1f} MB {figures['rss_peak_mb']:5.1f} MB {growth:5.1f} MB"
            )
            if kind == "csv":
                assert figures["lines"] == rows + 1, (figures["lines"], rows)  # the header, then one line per row
            result["exports"].append({"format": kind, "rows": rows, **figures, "growth_mb": growth})
            result["rows"].append(
                (
                    f"export {kind}, {rows:,} rows, peak RSS growth",
                    f"{growth:.1f} MB ({figures['seconds']:.0f} s, {rows / figures['seconds']:,.0f} rows/s)",
                    "-",
                    "-",
                    f"< {GROWTH_TARGET_MB:.0f} MB",
                    "yes" if growth < GROWTH_TARGET_MB else "no",
                )
            )
    print(f"\nmax RSS of the process (getrusage): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    print()
    _common.print_machine(info)
    _common.emit(result)


if __name__ == "__main__":
    main()
