"""The reference CLM (simulator) connector: clmsite's own CLM protocol over HTTP.

The protocol is described in docs/connectors.md; a contract travels as a JSON object with
``legal_entity``, ``contract_id`` and the field names of ``contract_upsert``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from connectors.base import (
    Connector,
    ContractRecord,
    ContractReference,
    Handshake,
    PermanentError,
    PullPage,
    WebhookEvent,
)
from connectors.http import HttpClient, json_field, json_object
from connectors.registry import register_connector
from contracts.choices import HandshakeStatus
from contracts.services.contracts import CONTRACT_INPUT_FIELDS

DEFAULT_PAGE_SIZE = 500  # a page is applied as one batch: larger pages spread the round trip over more contracts


class ContractItemInvalid(ValueError):
    """A contract from the CLM that cannot become a ``ContractRecord``."""


def contract_record_from_item(item: Any) -> ContractRecord:
    """The one mapping from the protocol's contract JSON to a ``ContractRecord``.

    Keys that are not contract fields (a CLM's own ids, links) are left out, so the CLM can
    send more than clmsite keeps.
    """
    if not isinstance(item, Mapping):
        raise ContractItemInvalid("is not a JSON object.")
    missing = [key for key in ("legal_entity", "contract_id") if not str(item.get(key) or "").strip()]
    if missing:
        raise ContractItemInvalid(f"has no {' and no '.join(missing)}.")
    data = {key: value for key, value in item.items() if key in CONTRACT_INPUT_FIELDS}
    return ContractRecord(str(item["legal_entity"]).strip(), str(item["contract_id"]).strip(), data)


@register_connector
class ReferenceConnector(Connector):
    name = "reference"
    label = "Reference CLM (simulator)"
    settings_help = {"page_size": f"Contracts asked for per page when pulling (default {DEFAULT_PAGE_SIZE})."}

    def __init__(self, connection):
        super().__init__(connection)
        label = f'CLM "{connection}"'
        self.client = HttpClient(base_url=connection.base_url, token=connection.credentials, label=label)

    def pull(self, *, since: str, token: str, full: bool) -> PullPage:
        params = {"limit": self._page_size()}
        if since and not full:
            params["modified_since"] = since
        if token:
            params["ctoken"] = token
        what = "The page of contracts"
        answer = json_object(self.client.get_json("/api/contracts/", params=params), what=what)
        items = json_field(answer, "items", (list,), what=what)
        records, problems = [], []
        for index, item in enumerate(items):
            try:
                records.append(contract_record_from_item(item))
            except ContractItemInvalid as invalid:
                problems.append((_item_key(item, index), f"The contract {invalid}", item))
        total = json_field(answer, "total", (int, type(None)), what=what, required=False)
        return PullPage(
            records=records,
            next_token=json_field(answer, "next_ctoken", (str, type(None)), what=what) or "",
            watermark=json_field(answer, "watermark", (str, type(None)), what=what) or "",
            total=total,
            problems=problems,
        )

    def _page_size(self) -> int:
        value = (self.connection.settings or {}).get("page_size") or DEFAULT_PAGE_SIZE
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            raise PermanentError(f'The setting "page_size" must be a whole number, not {value!r}.') from None

    def fetch(self, external_id: str) -> ContractRecord:
        answer = self.client.get_json(f"/api/contracts/{quote(external_id, safe='')}/")
        return _record_or_error(answer, what=f"Contract {external_id}")

    def webhook_changes(self, event: WebhookEvent) -> list[ContractRecord | ContractReference]:
        data = json_object(event.payload.get("data"), what=f'The "data" of webhook {event.event_id}')
        if "contract" in data:
            return [_record_or_error(data["contract"], what=f"The contract in webhook {event.event_id}")]
        if data.get("external_contract_id"):
            return [ContractReference(str(data["external_contract_id"]))]
        return []  # an event about something other than a contract

    def push(self, message) -> None:
        self.client.post_json(
            "/api/master-data/",
            body={
                "entity": message.entity,
                "legal_entity": message.legal_entity_code,
                "key": message.natural_key,
                "operation": message.operation,
                "record": message.payload,
            },
            # Lets the CLM drop a delivery it already has (we retry after a lost answer).
            headers={"Idempotency-Key": f"clmsite-outbox-{message.pk}"},
        )

    def check(self) -> Handshake:
        what = "The status answer"
        answer = json_object(self.client.get_json("/api/status/"), what=what)
        configured = json_field(answer, "configured", (bool,), what=what)
        message = json_field(answer, "message", (str, type(None)), what=what, required=False) or ""
        return Handshake(
            establishment=HandshakeStatus.SUCCESS,
            configuration=HandshakeStatus.SUCCESS if configured else HandshakeStatus.ERROR,
            message=message,
        )


def _record_or_error(item: Any, *, what: str) -> ContractRecord:
    try:
        return contract_record_from_item(item)
    except ContractItemInvalid as invalid:
        raise PermanentError(f"{what} {invalid}") from None


def _item_key(item: Any, index: int) -> str:
    if isinstance(item, Mapping):
        key = "/".join(str(item[name]) for name in ("legal_entity", "contract_id") if item.get(name))
        return key or str(item.get("external_contract_id") or f"#{index}")
    return f"#{index}"
