"""Micro-benchmark: what the rate limits add to one request, in microseconds.

    .venv/bin/python bench/throttle_cost.py
    REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/throttle_cost.py

Times, per call and over --calls calls (default 200 000, best of 5 runs):
* the webhook limit as the view runs it: DRF's ``check_throttles`` with WebhookThrottle
  (the in-process window), against the same call with no throttle class;
* the in-process window alone (``LocalWindow.hit``);
* one shared-cache count (``CacheWindow.hit``: an add and an incr), the cost a limit counted in
  the cache would have, on the cache configured (Redis with REDIS_URL, else the file cache).
No database is touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clmsite.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from clmsite import security  # noqa: E402
from connectors.api import ConnectionWebhookView  # noqa: E402


def best_microseconds(call, calls: int) -> float:
    return min(timeit.repeat(call, number=calls, repeat=5)) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--cache-calls", type=int, default=2_000)
    args = parser.parse_args()
    settings.WEBHOOK_RATE_LIMIT = f"{10**12}/s"  # never refuse: measure the counting only

    def prepared_view(throttles):
        view = ConnectionWebhookView()
        view.throttle_classes = throttles
        request = view.initialize_request(APIRequestFactory().post("/api/v1/connections/bench/webhook/"))
        view.setup(request, name="bench")
        view.kwargs = {"name": "bench"}
        return view, request

    throttled_view, throttled_request = prepared_view([security.WebhookThrottle])
    bare_view, bare_request = prepared_view([])
    rate = security.rate_setting("WEBHOOK_RATE_LIMIT")
    window = security.LocalWindow()
    shared = security.CacheWindow("bench")
    cache_rate = security.Rate(10**12, 60)

    with_throttle = best_microseconds(lambda: throttled_view.check_throttles(throttled_request), args.calls)
    without = best_microseconds(lambda: bare_view.check_throttles(bare_request), args.calls)
    local = best_microseconds(lambda: window.hit("bench", rate), args.calls)
    cached = best_microseconds(lambda: shared.hit("bench", cache_rate), args.cache_calls)

    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"webhook check_throttles with WebhookThrottle : {with_throttle:8.2f} µs")
    print(f"webhook check_throttles with no throttle     : {without:8.2f} µs")
    print(f"  added per webhook request                  : {with_throttle - without:8.2f} µs")
    print(f"LocalWindow.hit alone                        : {local:8.2f} µs")
    print(f"CacheWindow.hit ({backend})            : {cached:8.2f} µs")


if __name__ == "__main__":
    main()
