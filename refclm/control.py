"""The control API (``/control/``, bearer ``REFCLM_CONTROL_TOKEN``): the step mode over HTTP,
for the end-to-end tests and scripts. The management commands call the same services."""

from __future__ import annotations

import random

from django.conf import settings
from django.http import Http404, JsonResponse

from . import services
from .clock import clock_tick
from .configuration import config_apply, config_as_json, master_data_refresh
from .delivery import deliveries_run
from .faults import faults_as_json, faults_set
from .jsonapi import json_body, json_endpoint
from .models import Contract
from .protocol import contract_as_control, delivery_as_json, last_delivery
from .services import InputInvalid, contract_advance, contract_find


def _control_token() -> str:
    return settings.REFCLM_CONTROL_TOKEN


def _contract_or_404(identifier: str) -> Contract:
    contract = contract_find(identifier)
    if contract is None:
        raise Http404(f'no contract "{identifier}" (give its contract id or external id).')
    return contract


def _text(body: dict, name: str) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str):
        raise InputInvalid(name, "must be text.")
    return value.strip()


@json_endpoint(_control_token, ("GET", "PUT"))
def config(request):
    if request.method == "PUT":
        config_apply(values=json_body(request), public_url_default=request.build_absolute_uri("/"))
    return JsonResponse(config_as_json())


@json_endpoint(_control_token, ("POST",))
def sync_master_data(request):
    return JsonResponse({"read": master_data_refresh()})


@json_endpoint(_control_token, ("POST",))
def contracts(request):
    """Creates a contract: ``type`` (NDA, Purchase, Service), optional ``legal_entity``,
    ``vendor``, ``name``, ``lines``, ``expiration`` (and ``effective``) dates."""
    body = json_body(request)
    contract = services.contract_create(
        contract_type=_text(body, "type"),
        legal_entity=_text(body, "legal_entity"),
        vendor=_text(body, "vendor"),
        name=_text(body, "name"),
        lines=body.get("lines"),
        effective_date=_optional_date(body, "effective"),
        expiration_date=_optional_date(body, "expiration"),
        expiring_soon=bool(body.get("expiring_soon")),
    )
    return JsonResponse(contract_as_control(contract), status=201)


def _optional_date(body: dict, name: str):
    value = body.get(name)
    return None if value in (None, "") else services.date_parse(value, name)


@json_endpoint(_control_token, ("GET", "PATCH"))
def contract_detail(request, identifier: str):
    contract = _contract_or_404(identifier)
    if request.method == "PATCH":
        contract = services.contract_edit(contract=contract, changes=json_body(request))
    return JsonResponse(contract_as_control(contract))


@json_endpoint(_control_token, ("POST",))
def contract_advance_view(request, identifier: str):
    """``{"action": …}`` (and for ``amend`` optionally ``"amendment": {expiration_date, value, lines}``)."""
    contract = _contract_or_404(identifier)
    body = json_body(request)
    action = _text(body, "action")
    if not action:
        raise InputInvalid("action", f"is required; allowed now: {', '.join(contract.next_actions) or 'none'}.")
    amendment = body.get("amendment")
    if amendment is not None and not isinstance(amendment, dict):
        raise InputInvalid("amendment", "must be an object.")
    before = last_delivery(contract)
    contract = contract_advance(contract=contract, action=action, amendment=amendment)
    delivery = last_delivery(contract)
    return JsonResponse(
        {
            "contract": contract_as_control(contract),
            "delivery": delivery_as_json(delivery) if delivery and delivery != before else None,
        }
    )


@json_endpoint(_control_token, ("POST",))
def tick(request):
    body = json_body(request)
    max_open = body.get("max_open", 25)
    if not isinstance(max_open, int) or max_open < 1:
        raise InputInvalid("max_open", "must be a whole number of at least 1.")
    return JsonResponse({"event": clock_tick(rng=random.Random(body.get("seed")), max_open=max_open)})


@json_endpoint(_control_token, ("POST",))
def deliver(request):
    return JsonResponse(deliveries_run())


@json_endpoint(_control_token, ("GET", "PUT"))
def faults(request):
    if request.method == "PUT":
        body = json_body(request)
        clear = bool(body.pop("clear", False))
        return JsonResponse(faults_set(values=body, clear=clear))
    return JsonResponse(faults_as_json())
