"""An in-memory CLM behind a connector, for tests of the sync machinery without HTTP.

``FakeClm`` holds contracts and pages them out; ``faults`` is a queue of exceptions the
next calls raise, so a test can script "two timeouts, then a 429, then success".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from connectors.base import (
    Connector,
    ContractRecord,
    ContractReference,
    Handshake,
    PermanentError,
    PullPage,
    WebhookEvent,
)
from connectors.registry import register_connector


@dataclass
class FakeClm:
    records: dict[str, ContractRecord] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    page_size: int = 100
    faults: deque = field(default_factory=deque)
    pushed: list = field(default_factory=list)
    handshake: Handshake = field(default_factory=Handshake)
    calls: list[str] = field(default_factory=list)

    def put(self, record: ContractRecord) -> None:
        if record.key not in self.records:
            self.order.append(record.key)
        self.records[record.key] = record

    def maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        if self.faults:
            raise self.faults.popleft()


@register_connector
class FakeConnector(Connector):
    """Reads the ``FakeClm`` in ``FakeConnector.clm`` (a test replaces it per test)."""

    name = "fake"
    label = "Fake CLM (tests)"
    clm = FakeClm()

    def pull(self, *, since, token, full):
        self.clm.maybe_fail("pull")
        start = int(token or 0)
        keys = self.clm.order[start : start + self.clm.page_size]
        after = start + len(keys)
        next_token = str(after) if after < len(self.clm.order) else ""
        return PullPage(
            records=[self.clm.records[key] for key in keys],
            next_token=next_token,
            watermark=str(len(self.clm.order)),
            total=len(self.clm.order),
        )

    def fetch(self, external_id):
        self.clm.maybe_fail("fetch")
        for record in self.clm.records.values():
            if record.data.get("external_contract_id") == external_id:
                return record
        raise PermanentError(f"The fake CLM has no contract {external_id}.")

    def webhook_changes(self, event: WebhookEvent):
        data = event.payload.get("data") or {}
        if "contract" in data:
            contract = dict(data["contract"])
            return [ContractRecord(contract.pop("legal_entity"), contract.pop("contract_id"), contract)]
        return [ContractReference(data["external_contract_id"])]

    def push(self, message):
        self.clm.maybe_fail("push")
        self.clm.pushed.append((message.entity, message.legal_entity_code, message.natural_key, message.operation))

    def check(self):
        self.clm.maybe_fail("check")
        return self.clm.handshake
