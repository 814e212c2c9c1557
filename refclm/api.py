"""The reference protocol this CLM serves to clmsite (docs/connectors.md): changed contracts
page by page, one contract, master-data pushes and the status handshake.

Every answer obeys the fault modes (``refclm.faults``) once the caller is authenticated.
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.http import Http404, JsonResponse

from .configuration import status_report
from .ctoken import CtokenInvalid, ListingPosition, ctoken_decode, ctoken_encode
from .faults import fault_use
from .jsonapi import json_body, json_endpoint
from .masterdata import MasterDataInvalid, master_data_push_apply
from .models import Config, Contract, Counter, Faults
from .protocol import contract_as_protocol
from .services import REVISION_COUNTER, InputInvalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _pull_token() -> str:
    return Config.load().pull_token


def with_faults(view):
    """Delays every answer by ``delay_ms``; the next ``timeouts`` sleep ``timeout_seconds`` first,
    the next ``errors`` answer 500 and the next ``rate_limits`` answer 429 (one fault per request)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        faults = Faults.load()
        if faults.delay_ms:
            time.sleep(faults.delay_ms / 1000)
        if fault_use("timeouts"):
            time.sleep(faults.timeout_seconds)
        elif fault_use("errors"):
            return JsonResponse(
                {"errors": [{"field": None, "message": "simulated server error (fault mode)."}]}, status=500
            )
        elif fault_use("rate_limits"):
            response = JsonResponse(
                {"errors": [{"field": None, "message": "simulated rate limit (fault mode)."}]}, status=429
            )
            response["Retry-After"] = "1"
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _whole_number(request, name: str, default: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputInvalid(name, f'"{raw}" is not a whole number.') from None
    if value < 0:
        raise InputInvalid(name, f"{value} is negative.")
    return value


@json_endpoint(_pull_token, ("GET",))
@with_faults
def contracts_changed(request):
    """``GET /api/contracts/?modified_since=&ctoken=&limit=``: contracts by revision, page by page.

    A pull lists the revisions above ``modified_since`` up to the one current when its first
    page was asked for (the ``watermark``); a change made during the pull gets a higher
    revision and is listed by the next pull instead.
    """
    limit = min(max(_whole_number(request, "limit", DEFAULT_LIMIT), 1), MAX_LIMIT)
    given = request.GET.get("ctoken", "")
    current = Counter.current(REVISION_COUNTER)
    if given:
        try:
            position = ctoken_decode(given, key=settings.SECRET_KEY)
        except CtokenInvalid as invalid:
            raise InputInvalid("ctoken", str(invalid)) from None
    else:
        since = _whole_number(request, "modified_since", 0)
        if since > current:
            since = 0  # a watermark from before this CLM's storage was reset: list everything again
        position = ListingPosition(since=since, upto=current, after=since)
    listing = Contract.objects.filter(revision__gt=position.since, revision__lte=position.upto)
    rows = list(listing.filter(revision__gt=position.after).order_by("revision")[: limit + 1])
    next_ctoken = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_position = ListingPosition(since=position.since, upto=position.upto, after=rows[-1].revision)
        next_ctoken = ctoken_encode(next_position, key=settings.SECRET_KEY)
    if given and fault_use("repeat_ctoken"):
        next_ctoken = given
    config = Config.load()
    return JsonResponse(
        {
            "items": [contract_as_protocol(contract, config) for contract in rows],
            "next_ctoken": next_ctoken,
            "watermark": str(position.upto),
            "total": listing.count(),
        }
    )


@json_endpoint(_pull_token, ("GET",))
@with_faults
def contract_detail(request, external_id: str):
    contract = Contract.objects.filter(external_id=external_id).first()
    if contract is None:
        raise Http404(f'no contract "{external_id}".')
    return JsonResponse(contract_as_protocol(contract))


@json_endpoint(_pull_token, ("POST",))
@with_faults
def master_data_push(request):
    """``POST /api/master-data/``: one change clmsite pushes; a repeated Idempotency-Key changes nothing."""
    try:
        applied = master_data_push_apply(
            change=json_body(request), idempotency_key=request.headers.get("Idempotency-Key", "")
        )
    except MasterDataInvalid as invalid:
        field, _, message = str(invalid).partition(": ")
        raise InputInvalid(field, message or str(invalid)) from None
    return JsonResponse({"status": "applied" if applied else "duplicate"})


@json_endpoint(_pull_token, ("GET",))
@with_faults
def status(request):
    return JsonResponse(status_report())
