"""Throttling that is not Django's own: sign-in lockout (django-axes) and rate limits.

Three limits answer 429 with Retry-After (docs/security.md):

* the inbound webhook, per connection: counted in this process's memory, because it must
  sustain the CLM's hundreds of events a second at a cost of a few microseconds;
* failed API-key authentications, per client address: counted in the cache, shared by
  every process, so a key cannot be guessed by spreading attempts over workers;
* deep-link resolution, per client address: counted in the cache as well.

A limit is written ``"<count>/<unit>"`` with unit ``s``, ``m`` or ``h`` (``"30/m"``).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import cache

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from rest_framework.throttling import BaseThrottle

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
THROTTLED = "throttled"


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@cache
def _parse_rate(name: str, text: str) -> Rate:
    count, _, unit = text.strip().partition("/")
    if not count.strip().isdigit() or int(count) < 1 or unit.strip() not in UNIT_SECONDS:
        raise ImproperlyConfigured(
            f'{name} must be "<count>/<unit>" with a positive count and a unit of s, m or h '
            f'(such as "30/m"); it is {text!r}.'
        )
    return Rate(int(count), UNIT_SECONDS[unit.strip()])


def rate_setting(name: str) -> Rate:
    """The limit set by setting ``name``; bad text is refused naming the setting."""
    return _parse_rate(name, getattr(settings, name))


def client_ip(request) -> str:
    """The client's address: the connection's own, or the one TRUSTED_PROXY_COUNT proxies
    put in X-Forwarded-For (each appends the address it got the request from)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _seconds_left(window: int, rate: Rate, now: float) -> float:
    return (window + 1) * rate.seconds - now


class LocalWindow:
    """Fixed-window counts kept in this process: one dict lookup and a lock, no I/O."""

    # Keys come from URLs (any connection name), so old windows are dropped past this size.
    MAX_KEYS = 10_000

    def __init__(self):
        self._counts: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, rate: Rate) -> float | None:
        """Counts one request; the seconds to wait when it is over the limit, else None."""
        now = time.monotonic()
        window = int(now // rate.seconds)
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[0] != window:
                if entry is None and len(self._counts) >= self.MAX_KEYS:
                    self._prune(window)
                self._counts[key] = [window, 1]
                return None
            entry[1] += 1
            if entry[1] <= rate.count:
                return None
        return _seconds_left(window, rate, now)

    def _prune(self, window: int) -> None:
        self._counts = {key: entry for key, entry in self._counts.items() if entry[0] == window}
        if len(self._counts) >= self.MAX_KEYS:
            self._counts.clear()

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class CacheWindow:
    """Fixed-window counts in the Django cache (Redis in production), shared by all processes."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def _key(self, key: str, rate: Rate, now: float) -> tuple[str, int]:
        window = int(now // rate.seconds)
        return f"ratelimit:{self.prefix}:{key}:{rate.seconds}:{window}", window

    def wait(self, key: str, rate: Rate) -> float | None:
        """The seconds to wait when ``key`` already reached the limit, else None; counts nothing."""
        now = time.time()
        cache_key, window = self._key(key, rate, now)
        if (django_cache.get(cache_key) or 0) >= rate.count:
            return _seconds_left(window, rate, now)
        return None

    def hit(self, key: str, rate: Rate) -> float | None:
        """Counts one request; the seconds to wait when it is over the limit, else None."""
        now = time.time()
        cache_key, window = self._key(key, rate, now)
        try:
            count = django_cache.incr(cache_key)
        except ValueError:  # the window's first request (or a race with another process's)
            count = 1 if django_cache.add(cache_key, 1, timeout=rate.seconds + 1) else django_cache.incr(cache_key)
        if count > rate.count:
            return _seconds_left(window, rate, now)
        return None


webhook_windows = LocalWindow()
api_key_failures = CacheWindow("api-key-failures")
deep_link_resolutions = CacheWindow("deep-links")


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


# --- The limits -----------------------------------------------------------------------


class WebhookThrottle(BaseThrottle):
    """DRF throttle of the inbound webhook: WEBHOOK_RATE_LIMIT per connection name."""

    def allow_request(self, request, view) -> bool:
        self._wait = webhook_windows.hit(view.kwargs["name"], rate_setting("WEBHOOK_RATE_LIMIT"))
        return self._wait is None

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


def api_key_failures_wait(request) -> float | None:
    """The seconds this address must wait before its API keys are checked again, else None."""
    return api_key_failures.wait(client_ip(request), rate_setting("API_KEY_FAILURE_RATE_LIMIT"))


def api_key_failure_record(request) -> None:
    api_key_failures.hit(client_ip(request), rate_setting("API_KEY_FAILURE_RATE_LIMIT"))


def deep_link_wait(request) -> float | None:
    """Counts one deep-link resolution from this address; the seconds to wait when over the limit."""
    return deep_link_resolutions.hit(client_ip(request), rate_setting("DEEP_LINK_RATE_LIMIT"))


def too_many_requests(request, wait: float, message: str) -> HttpResponse:
    """429 with Retry-After: a page for a browser, the API's error body otherwise."""
    if "text/html" in request.headers.get("Accept", ""):
        response = render(request, "429.html", {"message": message}, status=429)
    else:
        body = {"errors": [{"field": None, "message": message, "code": THROTTLED}]}
        response = JsonResponse(body, status=429)
    response["Retry-After"] = retry_after(wait)
    return response


# --- Sign-in lockout (django-axes) -------------------------------------------------------


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out username and address before any password is checked.

    Authentication without a request (a management command, the test client's ``login``)
    has no address to count against, so it is not throttled."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def login_lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, with 429 and why the sign-in is refused."""
    seconds = max(1, math.ceil(get_cool_off(request).total_seconds()))
    message = (
        "Too many failed sign-ins for this username from your address. "
        f"Sign-in is locked for {_duration(seconds)}; try again after that."
    )
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None:
        # The form's "wrong password" error is not the reason: the password was not even checked.
        form.errors.clear()
        form.add_error(None, message)
        response = TemplateResponse(request, original_response.template_name, context, status=429)
        response.render()
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response
