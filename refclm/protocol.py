"""How a contract is shown: to clmsite (the reference protocol, docs/connectors.md) and to the
control API. One place, so a webhook, a PUT and a pull send exactly the same contract."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from .models import Config, Contract, Delivery, DeliveryMode, DeliveryStatus

# The contract fields of the reference protocol this CLM fills, under the protocol's names.
PROTOCOL_FIELDS = (
    "status",
    "name",
    "contract_type",
    "currency",
    "effective_date",
    "expiration_date",
    "account_type",
    "account_relation_id",
    "party_number",
    "party_name",
    "contact_person_id",
    "requester_worker_name",
    "requester_worker_email",
    "latest_amendment_id",
    "latest_external_amendment_id",
    "amendment_in_process",
    "value",
    "renewal_type",
    "notice_period_days",
)


def plain(value: Any) -> Any:
    """A model value as JSON: dates in ISO 8601, decimals as exact text."""
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def document_url(contract: Contract, config: Config | None = None) -> str:
    base = ((config or Config.load()).public_url or settings.REFCLM_PUBLIC_URL).rstrip("/")
    return f"{base}/ui/contracts/view?{urlencode({'id': contract.external_id})}"


def contract_as_protocol(contract: Contract, config: Config | None = None) -> dict[str, Any]:
    """The contract as clmsite takes it. Empty values are left out: clmsite changes only
    the keys sent, and this CLM never clears a field it once filled."""
    item: dict[str, Any] = {
        "legal_entity": contract.legal_entity,
        "contract_id": contract.contract_id,
        "external_contract_id": contract.external_id,
    }
    for name in PROTOCOL_FIELDS:
        value = getattr(contract, name)
        if value is not None and value != "":
            item[name] = plain(value)
    item["document_url"] = document_url(contract, config)
    item["source_sequence"] = contract.revision
    item["source_modified_at"] = plain(contract.modified_at)
    return item


def delivery_as_json(delivery: Delivery | None) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {
        "id": delivery.pk,
        "kind": delivery.kind,
        "revision": delivery.revision,
        "status": delivery.status,
        "ok": delivery.status == DeliveryStatus.DELIVERED,
        "attempts": delivery.attempts,
        "error": delivery.last_error,
        "delivered_at": plain(delivery.delivered_at),
    }


def last_delivery(contract: Contract) -> Delivery | None:
    return contract.deliveries.order_by("-id").first()


def delivery_outcome(contract: Contract, config: Config | None = None) -> str:
    """One line on how the latest change reached clmsite, for lists and logs."""
    delivery = last_delivery(contract)
    config = config or Config.load()
    if (delivery is None or delivery.revision < contract.revision) and config.delivery == DeliveryMode.PULL:
        return "left for clmsite to pull"
    if delivery is None:
        return "nothing delivered"
    if delivery.status == DeliveryStatus.DELIVERED:
        return f"delivered by {delivery.kind}"
    if delivery.status == DeliveryStatus.FAILED:
        return f"refused by clmsite ({delivery.kind}): {delivery.last_error}"
    if delivery.attempts:
        return f"pending ({delivery.kind}, {delivery.attempts} attempts): {delivery.last_error}"
    return f"pending ({delivery.kind})"


def contract_as_control(contract: Contract, config: Config | None = None) -> dict[str, Any]:
    """The contract as the control API shows it: everything a test needs to assert on."""
    config = config or Config.load()
    return {
        "external_id": contract.external_id,
        "contract_id": contract.contract_id,
        "legal_entity": contract.legal_entity,
        "contract_type": contract.contract_type,
        "name": contract.name,
        "status": contract.status,
        "amendment_in_process": contract.amendment_in_process,
        "amendment_count": contract.amendment_count,
        "latest_amendment_id": contract.latest_amendment_id,
        "latest_external_amendment_id": contract.latest_external_amendment_id,
        "pending_amendment": contract.pending_amendment,
        "next_actions": contract.next_actions,
        "vendor": contract.account_relation_id,
        "party_name": contract.party_name,
        "currency": contract.currency,
        "value": plain(contract.value),
        "effective_date": plain(contract.effective_date),
        "expiration_date": plain(contract.expiration_date),
        "lines": contract.lines,
        "agreement_id": contract.agreement_id,
        "source_agreement_id": contract.source_agreement_id,
        "validation": contract.validation,
        "revision": contract.revision,
        "modified_at": plain(contract.modified_at),
        "last_delivery": delivery_as_json(last_delivery(contract)),
        "delivery_outcome": delivery_outcome(contract, config),
        "document_url": document_url(contract, config),
    }
