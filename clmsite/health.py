"""``/health/`` for load balancers and monitors: does the database answer, does the broker
answer, and is a Celery worker consuming? ``/health/live/`` only says the web process answers.

    {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 1.3}, ...}}

200 when every check passes, 503 otherwise; ``?check=database`` (or ``database,broker``)
runs only those. No login: nothing here names a record, a host's password or a key.

The checks run side by side in threads of their own and the answer waits for them at most
``HEALTH_CHECK_TIMEOUT`` seconds, so a database or Redis that hangs (not only one that
refuses) makes a failing check, not a hanging load balancer probe.

A worker answers by a heartbeat rather than by a ping. Each worker's consumer writes the
time into the cache every ``HEALTH_WORKER_HEARTBEAT_SECONDS`` while it is connected to the
broker (``WorkerHeartbeat`` in clmsite/celery.py) and removes it when it stops. That works
on both brokers: Celery's broadcast ``control.ping`` needs a fanout exchange, which kombu's
filesystem transport of the embedded default does not deliver; a ping *task* would wait
behind every queued task during a large sync and fail a healthy site; and neither needs a
result backend here. The cache is the one store every web process and worker shares:
Redis in production, ``var/cache`` on one machine in the embedded default.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

OK, FAIL = "ok", "fail"
HEARTBEATS_KEY = "clmsite:health:worker-heartbeats"
# A worker silent this long is forgotten, so the list does not grow with every host ever run.
HEARTBEAT_FORGET_SECONDS = 3600
REASON_MAX_CHARS = 300
USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


class CheckFailed(Exception):
    """A check's own verdict: ``str()`` is the reason shown."""


# --- The checks -----------------------------------------------------------------------------


def database_check() -> dict:
    """A round trip to the default database, on a connection of this thread, closed after."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections["default"].close()
    return {"vendor": connections["default"].vendor}


def broker_check() -> dict:
    """Redis answers PING; or the filesystem broker's folders are there and writable."""
    if settings.REDIS_URL:
        import redis

        timeout = settings.HEALTH_CHECK_TIMEOUT
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return {"transport": "redis"}
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = Path(options[option])
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            raise CheckFailed(f"the filesystem broker's {option} ({folder}) is missing or not writable")
    return {"transport": "filesystem"}


def worker_check() -> dict:
    """At least one worker wrote its heartbeat within ``HEALTH_WORKER_STALE_SECONDS``."""
    stale_after = settings.HEALTH_WORKER_STALE_SECONDS
    beats = _heartbeats()
    now = time.time()
    fresh = {host: at for host, at in beats.items() if now - at <= stale_after}
    if not fresh:
        if not beats:
            raise CheckFailed("no worker is running (none has written a heartbeat)")
        host, last = max(beats.items(), key=lambda item: item[1])
        raise CheckFailed(
            f"no worker wrote a heartbeat in the last {stale_after:g} s; the last one came from {host} "
            f"{now - last:.0f} s ago"
        )
    return {"workers": len(fresh), "last_heartbeat_seconds_ago": round(max(0.0, now - max(fresh.values())), 1)}


CHECKS: dict[str, Callable[[], dict]] = {"database": database_check, "broker": broker_check, "worker": worker_check}


def checks_run(names: Iterable[str]) -> dict[str, dict]:
    """Each named check's result, all started at once and waited for at most the timeout."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    results: dict[str, dict] = {}
    threads = []
    for name in names:
        thread = threading.Thread(target=_timed, args=(name, CHECKS[name], results), name=f"health-{name}")
        thread.daemon = True  # one stuck on a hung server must not hold the process at exit
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout
    for _, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    answered = dict(results)  # a check finishing later changes nothing already answered
    late = {"status": FAIL, "latency_ms": round(timeout * 1000, 1), "reason": f"no answer within {timeout:g} s"}
    return {name: answered.get(name, late) for name, _ in threads}


def _timed(name: str, check: Callable[[], dict], results: dict[str, dict]) -> None:
    started = time.perf_counter()
    try:
        details = check()
    except Exception as error:  # every failure is the check's answer, never the endpoint's crash
        outcome = {"status": FAIL, "reason": _reason(error)}
    else:
        outcome = {"status": OK, **details}
    results[name] = {"latency_ms": round((time.perf_counter() - started) * 1000, 1), **outcome}


def _reason(error: Exception) -> str:
    """The error in one line, with anything that could be a secret taken out: the user and
    password part of any URL, and the configured passwords and keys wherever they appear."""
    text = str(error) if isinstance(error, CheckFailed) else f"{type(error).__name__}: {error}"
    text = USERINFO.sub("***@", " ".join(text.split()))
    for secret in _configured_secrets():
        text = text.replace(secret, "***")
    return text[:REASON_MAX_CHARS]


def _configured_secrets() -> list[str]:
    found = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS, *settings.FIELD_ENCRYPTION_KEYS]
    found += [db.get("PASSWORD") or "" for db in settings.DATABASES.values()]
    if settings.REDIS_URL:
        parts = urlsplit(settings.REDIS_URL)
        found += [parts.password or "", parts.username or ""]
    return sorted((secret for secret in found if len(secret) >= 4), key=len, reverse=True)


# --- Worker heartbeats (written by clmsite.celery.WorkerHeartbeat) -----------------------------


def _heartbeats() -> dict[str, float]:
    beats = cache.get(HEARTBEATS_KEY)
    return beats if isinstance(beats, dict) else {}


def worker_heartbeat(hostname: str) -> None:
    """Records that ``hostname`` is consuming now. Workers on several machines write the same
    entry; one that loses a race is written again at its next beat, well within the
    staleness limit."""
    now = time.time()
    beats = {host: at for host, at in _heartbeats().items() if now - at < HEARTBEAT_FORGET_SECONDS}
    beats[hostname] = now
    cache.set(HEARTBEATS_KEY, beats, timeout=HEARTBEAT_FORGET_SECONDS)


def worker_heartbeat_stop(hostname: str) -> None:
    """``hostname`` stopped consuming: it no longer counts as a worker that answers."""
    beats = _heartbeats()
    if beats.pop(hostname, None) is not None:
        cache.set(HEARTBEATS_KEY, beats, timeout=HEARTBEAT_FORGET_SECONDS)


# --- Views ----------------------------------------------------------------------------------


@never_cache
@require_safe
def health(request):
    names = [name.strip() for value in request.GET.getlist("check") for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        return JsonResponse(
            {
                "status": FAIL,
                "error": f"unknown check(s) {', '.join(unknown)}; the checks are {', '.join(CHECKS)}.",
            },
            status=400,
        )
    results = checks_run(dict.fromkeys(names or CHECKS))  # in the order asked, each once
    healthy = all(result["status"] == OK for result in results.values())
    response = JsonResponse({"status": OK if healthy else FAIL, "checks": results}, status=200 if healthy else 503)
    # A probe every few seconds while a worker is down would otherwise log an ERROR each time
    # (django.request logs every 5xx); the answer itself is the report.
    response._has_been_logged = True
    return response


@never_cache
@require_safe
def live(request):
    """The web process answers; nothing behind it is asked (a liveness probe)."""
    return JsonResponse({"status": OK})


urlpatterns = [
    path("", health, name="health"),
    path("live/", live, name="health_live"),
]
