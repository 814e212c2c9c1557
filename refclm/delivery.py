"""The outbox (SPEC §9, the CLM's side): every change clmsite must hear, kept until it has it.

A change is queued in the transaction that makes it, as the payload of that moment, and
tried at once; what clmsite cannot take now (no connection, a timeout, 5xx, 429) stays
pending with its error and is tried again by the clock, the ``deliver`` command or
``POST /control/deliver/`` — in order per contract, so clmsite never sees a contract's
changes out of order unless the ``out_of_order_webhooks`` fault asks for it. A refusal
(any other 4xx) is kept as failed with clmsite's messages and not tried again.

What is sent depends on the delivery mode, except for the execution of a purchase or
service contract (first, and again after each amendment): that always goes through the
API, contract then lines, so its purchase agreement exists the moment it is executed. Its
expiry goes through the API too, the agreement's expiration date first, so that clmsite
closes the agreement at once.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from . import lifecycle
from .clmsite import ClmsiteClient, ClmsiteRefused, ClmsiteUnavailable, quoted
from .models import Config, Contract, Delivery, DeliveryKind, DeliveryMode, DeliveryStatus, Faults
from .protocol import contract_as_protocol

logger = logging.getLogger(__name__)

WEBHOOK_KINDS = (DeliveryKind.WEBHOOK, DeliveryKind.WEBHOOK_REF)
EVENT_TYPE = "contract.updated"
# A delivery is claimed for longer than its calls can take, so the clock and the web
# process never send the same one at once; a process that dies leaves the claim to expire.
CLAIM_SECONDS = 180
BUSY = "busy"


# --- Queueing -----------------------------------------------------------------------------------


def changes_queue(*, contract: Contract, step: lifecycle.Step | None = None, created: bool = False) -> list[Delivery]:
    """Queues what clmsite must hear of the contract's latest change. Call it in the change's transaction."""
    config = Config.load()
    item = contract_as_protocol(contract, config)
    if step is not None and step.executes and contract.has_agreement:
        payload = {
            "contract": item,
            "lines": contract.lines,
            "amended": step.completes_amendment,
            "source_agreement_id": contract.source_agreement_id,
        }
        return [_queue(contract, DeliveryKind.EXECUTION, payload)]
    if step is not None and step.action.expires and contract.has_agreement and not contract.source_agreement_id:
        # The agreement closes only once its own expiration date has passed (SPEC §4), so it moves with the contract's.
        return [_queue(contract, DeliveryKind.EXPIRY, {"contract": item})]
    if created and contract.source_agreement_id:
        # Started from an SCM agreement: the contract must exist in clmsite before the agreement can link to it.
        link = {"legal_entity": contract.legal_entity, "agreement_id": contract.source_agreement_id}
        return [
            _queue(contract, DeliveryKind.API, {"contract": item}),
            _queue(contract, DeliveryKind.LINK, {**link, "contract_id": contract.contract_id}),
        ]
    if config.delivery == DeliveryMode.WEBHOOK:
        return [_queue(contract, DeliveryKind.WEBHOOK, {"type": EVENT_TYPE, "data": {"contract": item}})]
    if config.delivery == DeliveryMode.WEBHOOK_REF:
        payload = {"type": EVENT_TYPE, "data": {"external_contract_id": contract.external_id}}
        return [_queue(contract, DeliveryKind.WEBHOOK_REF, payload)]
    if config.delivery == DeliveryMode.API:
        return [_queue(contract, DeliveryKind.API, {"contract": item})]
    return []  # pull: clmsite reads the change from GET /api/contracts/


def _queue(contract: Contract, kind: str, payload: dict) -> Delivery:
    return Delivery.objects.create(
        contract=contract, kind=kind, revision=contract.revision, payload=payload, event_id=f"msg_{uuid.uuid4().hex}"
    )


# --- Delivering ---------------------------------------------------------------------------------


def deliveries_run(*, contract: Contract | None = None, immediate: bool = False) -> dict[str, int]:
    """Sends the pending deliveries (of one contract, or all), oldest first per contract.

    ``immediate`` is the try right after a change; the ``out_of_order_webhooks`` fault holds
    webhooks back from it, and a later run sends the held ones newest first.
    Returns how many were delivered, are still pending, failed, or were held.
    """
    faults = Faults.load()
    client = ClmsiteClient()
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).select_related("contract").order_by("id")
    if contract is not None:
        pending = pending.filter(contract=contract)
    pending = list(pending)
    report = Counter(delivered=0, pending=0, failed=0, held=0)
    if faults.out_of_order_webhooks:
        held = [delivery for delivery in pending if delivery.kind in WEBHOOK_KINDS]
        rest = [delivery for delivery in pending if delivery.kind not in WEBHOOK_KINDS]
        report["held"] = len(held) if immediate else 0
        ordered = rest if immediate else [*reversed(held), *rest]
    else:
        ordered = pending
    waiting: set[int] = set()
    for position, delivery in enumerate(ordered):
        in_order = not (faults.out_of_order_webhooks and delivery.kind in WEBHOOK_KINDS)
        if in_order and delivery.contract_id in waiting:
            report["pending"] += 1
            continue
        outcome = delivery_attempt(delivery=delivery, client=client, faults=faults)
        if outcome == BUSY:
            waiting.add(delivery.contract_id)
            report["pending"] += 1
        elif outcome == DeliveryStatus.PENDING:
            # clmsite cannot take anything now; the rest waits for the next run rather than failing one by one.
            report["pending"] += len(ordered) - position
            break
        else:
            report[outcome] += 1
    return dict(report)


def delivery_attempt(*, delivery: Delivery, client: ClmsiteClient, faults: Faults) -> str:
    """One try at one delivery; returns its status afterwards, or ``BUSY`` when another process is sending it."""
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + datetime.timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        return BUSY
    label = f"{delivery.contract.contract_id} {delivery.kind} r{delivery.revision}"
    fields = {"attempts": delivery.attempts + 1, "claimed_until": None}
    try:
        agreement_id = SENDERS[delivery.kind](delivery, client, faults)
    except ClmsiteUnavailable as error:
        fields.update(last_error=str(error)[:2000])
        logger.warning("%s: kept for later: %s", label, error)
    except ClmsiteRefused as error:
        fields.update(status=DeliveryStatus.FAILED, last_error="; ".join(error.messages)[:2000])
        logger.warning("%s: refused: %s", label, error)
    except Exception as error:  # a bug here must not stop the clock; keep it visible instead
        logger.exception("%s: failed", label)
        fields.update(status=DeliveryStatus.FAILED, last_error=f"{type(error).__name__}: {error}"[:2000])
    else:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(), last_error="")
        if agreement_id:
            Contract.objects.filter(pk=delivery.contract_id).update(agreement_id=agreement_id)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    return delivery.status


def _webhook_send(delivery: Delivery, client: ClmsiteClient, faults: Faults) -> None:
    config = client.config
    if not (config.webhook_secret and config.connection):
        raise ClmsiteUnavailable("the webhook secret and the connection's name are not configured yet.")
    body = json.dumps(delivery.payload, separators=(",", ":"))
    path = f"/api/v1/connections/{quoted(config.connection)}/webhook/"
    for _ in range(2 if faults.duplicate_webhooks else 1):  # a duplicate keeps the event id
        now = datetime.datetime.now(datetime.UTC)
        headers = {
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(config.webhook_secret).sign(delivery.event_id, now, body),
        }
        client.call("POST", path, data=body.encode(), headers=headers, with_key=False)


def _contract_put(item: dict, client: ClmsiteClient) -> None:
    client.api("PUT", f"/contracts/{quoted(item['legal_entity'])}/{quoted(item['contract_id'])}/", json=item)


def _api_send(delivery: Delivery, client: ClmsiteClient, faults: Faults) -> None:
    _contract_put(delivery.payload["contract"], client)


def _execution_send(delivery: Delivery, client: ClmsiteClient, faults: Faults) -> str:
    """The executed contract, then its agreement's lines; returns the agreement's id."""
    payload = delivery.payload
    item = payload["contract"]
    legal_entity = item["legal_entity"]
    _contract_put(item, client)
    if payload.get("source_agreement_id"):
        return payload["source_agreement_id"]  # an SCM agreement keeps procurement's own lines
    if not payload.get("amended"):
        agreement_id = ""
        for line in payload["lines"]:
            body = {"legal_entity": legal_entity, "external_contract_id": item["external_contract_id"], **line}
            # The same key on a retry: clmsite replays its answer instead of refusing a line it already has.
            key = f"{delivery.event_id}-line-{line['line_number']}"
            answer = client.api("POST", "/purchase-agreement-lines/", json=body, headers={"Idempotency-Key": key})
            agreement_id = str((answer.body or {}).get("agreement_id") or agreement_id)
        return agreement_id or agreement_id_find(
            legal_entity=legal_entity, contract_id=item["contract_id"], client=client
        )
    agreement_id = agreement_id_find(legal_entity=legal_entity, contract_id=item["contract_id"], client=client)
    if not agreement_id:
        raise ClmsiteRefused(404, [f"clmsite has no purchase agreement for contract {item['contract_id']}."])
    for line in payload["lines"]:
        number = str(line["line_number"])
        body = {key: value for key, value in line.items() if key != "line_number"}
        path = f"/purchase-agreements/{quoted(legal_entity)}/{quoted(agreement_id)}/lines/{quoted(number)}/"
        client.api("PUT", path, json=body)
    return agreement_id


def agreement_id_find(*, legal_entity: str, contract_id: str, client: ClmsiteClient) -> str:
    """The id of the purchase agreement clmsite keeps for a contract; empty if it has none."""
    params = {"legal_entity": legal_entity, "contract_id": contract_id}
    results = (client.api("GET", "/purchase-agreements/", params=params).body or {}).get("results") or []
    return str(results[0]["agreement_id"]) if results else ""


def _expiry_send(delivery: Delivery, client: ClmsiteClient, faults: Faults) -> str:
    """The agreement's dates first (compressed like the contract's), so that the Expired contract closes it at once."""
    item = delivery.payload["contract"]
    agreement_id = agreement_id_find(legal_entity=item["legal_entity"], contract_id=item["contract_id"], client=client)
    if agreement_id:
        path = f"/purchase-agreements/{quoted(item['legal_entity'])}/{quoted(agreement_id)}/"
        dates = {
            "default_effective_date": item.get("effective_date"),
            "default_expiration_date": item["expiration_date"],
        }
        client.api("PATCH", path, json={key: value for key, value in dates.items() if value})
    _contract_put(item, client)
    return agreement_id


def _link_send(delivery: Delivery, client: ClmsiteClient, faults: Faults) -> str:
    payload = delivery.payload
    path = f"/purchase-agreements/{quoted(payload['legal_entity'])}/{quoted(payload['agreement_id'])}/"
    client.api("PATCH", path, json={"contract_id": payload["contract_id"]})
    return payload["agreement_id"]


SENDERS: dict[str, Callable[[Delivery, ClmsiteClient, Faults], str | None]] = {
    DeliveryKind.WEBHOOK: _webhook_send,
    DeliveryKind.WEBHOOK_REF: _webhook_send,
    DeliveryKind.API: _api_send,
    DeliveryKind.EXECUTION: _execution_send,
    DeliveryKind.LINK: _link_send,
    DeliveryKind.EXPIRY: _expiry_send,
}
