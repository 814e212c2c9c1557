"""What the benchmarks share: Django set up on the bench database, the machine, timings, the table.

Not part of the test suite. Each script needs ``DATABASE_URL`` to name a PostgreSQL database
(``postgres://postgres@127.0.0.1:5432/bench_clmsite``); it refuses SQLite and the databases
other people use.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTECTED_DATABASES = {"test", "root", "postgres", "template0", "template1"}
BENCH_CLIENT_PREFIX = "bench-"


def setup_django() -> None:
    """Django on DATABASE_URL with DEBUG off (no query log) and a var/ of its own."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/bench_clmsite")
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    if name in PROTECTED_DATABASES:
        sys.exit(f"Refusing to benchmark in database {name!r}: create one of your own, e.g. bench_clmsite.")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clmsite.settings")
    os.environ.setdefault("CLMSITE_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # production settings, but plain http on 127.0.0.1
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def raw_connection():
    """A psycopg connection of its own (not Django's) to the same database."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )


def dumps():
    """The JSON encoder of the raw baseline: orjson when installed, else the standard library."""
    try:
        import orjson
    except ImportError:
        return "json (stdlib)", lambda data: json.dumps(data, separators=(",", ":"), default=str).encode()
    return "orjson", lambda data: orjson.dumps(data, default=str)


def machine() -> dict:
    from django.db import connection

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "postgresql": server_version,
        "platform": platform.platform(),
        "load_average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def describe(info: dict) -> str:
    return (
        f"machine: {info['cpus']} CPUs, {info['cpu_model']}; Python {info['python']}; "
        f"PostgreSQL {info['postgresql']}; load average at start {info.get('load_average', '?')}"
    )


def print_machine(info: dict) -> None:
    print(describe(info))


def bench_client(legal_entity_codes=("USMF",)):
    """A clm_integration API client granted the legal entities, with a fresh key; delete it afterwards."""
    from contracts.choices import ApiClientRole
    from contracts.models import LegalEntity
    from contracts.services import Actor, api_client_create

    entities = list(LegalEntity.objects.filter(code__in=legal_entity_codes))
    name = f"{BENCH_CLIENT_PREFIX}{os.getpid()}-{int(time.time())}"
    return api_client_create(
        name=name,
        role=ApiClientRole.CLM_INTEGRATION,
        actor=Actor.system("bench"),
        legal_entities=entities,
    )


def seeded_contracts(minimum: int) -> int:
    """How many contracts the database holds; exits when fewer than ``minimum`` (the list
    benchmark seeds them)."""
    from contracts.models import Contract

    count = Contract.objects.count()
    if count < minimum:
        sys.exit(f"The database has {count:,} contracts: run bench/api_contract_list.py first (it seeds them).")
    return count


def demo_client(username: str):
    """A test ``Client`` signed in as one of the demo's users (``contracts.demo``), made if missing."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from contracts import demo

    demo.users_ensure()
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def get_ok(client, url: str):
    """A call that GETs ``url`` with the test ``client`` and stops the benchmark unless it answers 200."""

    def call():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
        return response

    return call


def timed(call, samples: int, warmup: int) -> list[float]:
    """Seconds of each of ``samples`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def sql_statements(call) -> list[tuple[float, str]]:
    """The SQL statements of one ``call()``, each with its seconds."""
    from django.db import connection

    statements = []

    def timed_sql(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(timed_sql):
        call()
    return statements


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile (share 0.95 → p95)."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(samples: list[float]) -> dict:
    return {
        "p50_ms": percentile(samples, 0.50) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "mean_ms": statistics.fmean(samples) * 1000,
        "n": len(samples),
    }


def profiled(work, describe, *, cumulative: int = 30) -> str:
    """Runs ``work()`` under cProfile: ``describe(result, seconds)`` as a first line, then the
    functions by cumulative time and by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    result = work()
    profiler.disable()
    out = io.StringIO()
    out.write(describe(result, time.perf_counter() - started) + "\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(cumulative)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def finish_without_baseline(
    result: dict, info: dict, *, what: str, figure: str, target: str, met: bool, profiled: str = ""
) -> None:
    """For a figure with no raw baseline: its table row, the profile if one was taken, the
    machine, and the JSON for bench/run_all."""
    result["rows"].append((what, figure, "-", "-", target, "yes" if met else "no"))
    if profiled:
        print("\nprofile, in-process:\n" + profiled)
    print()
    print_machine(info)
    emit(result)


def emit(result: dict) -> None:
    """Writes the result as JSON where BENCH_JSON says (bench/run_all collects them)."""
    target = os.environ.get("BENCH_JSON")
    if target:
        Path(target).write_text(json.dumps(result, indent=2, default=str))


def table(results: list[dict]) -> str:
    """One table of every figure: what, figure, baseline, ratio, target, met."""
    rows = [("benchmark", "figure", "baseline (raw psycopg)", "ratio", "target", "met")]
    for result in results:
        for row in result["rows"]:
            rows.append(tuple(str(cell) for cell in row))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    # python bench/_common.py table result1.json result2.json …
    if len(sys.argv) > 2 and sys.argv[1] == "table":
        results = [json.loads(Path(path).read_text()) for path in sys.argv[2:] if Path(path).exists()]
        if results:
            print(table(results))
            print()
            for result in results:
                print(f"{result['benchmark']}: {describe(result['machine'])}")
        sys.exit(0 if len(results) == len(sys.argv) - 2 else 1)
    sys.exit("usage: python bench/_common.py table RESULT.json …")
