"""The connector interface (SPEC §9): what clmsite asks of any CLM.

A connector is a class with a ``name``, registered once with ``@register_connector``
(``connectors.registry``) and chosen per connection by that name. It is built for one
connection (``Connector(connection)``) and speaks only in the plain records below, so the
core (pull, webhooks, outbox, handshake) never knows a vendor's wire format.

Errors say whether trying again can help: ``TransientError`` (timeouts, 5xx, 429 with
its ``Retry-After``) is retried with backoff; ``PermanentError`` is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from contracts.choices import HandshakeStatus
from contracts.services.contracts import ContractInput

if TYPE_CHECKING:
    from .models import Connection, OutboxMessage


class ConnectorError(Exception):
    """Talking to the CLM failed."""


class TransientError(ConnectorError):
    """Worth retrying later; ``retry_after`` (seconds) is the CLM's own wish, when it said one."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """Retrying will not help (bad credentials, a malformed answer, a repeated token)."""


class WebhookRejected(Exception):
    """A webhook is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ContractRecord(ContractInput):
    """One contract as the CLM has it, in the field names of ``contract_upsert``; the
    legal entity is its code."""

    @property
    def key(self) -> str:
        return f"{self.legal_entity}/{self.contract_id}"


@dataclass(frozen=True)
class ContractReference:
    """A webhook that only says "this contract changed": the connector fetches it."""

    external_id: str


@dataclass(frozen=True)
class PullPage:
    """One page of changed contracts; ``next_token`` is empty on the last page.

    ``watermark`` is where the next incremental pull should start once this run is done.
    ``problems`` lists records the connector could not map, as (record key, reason, raw).
    """

    records: list[ContractRecord]
    next_token: str = ""
    watermark: str = ""
    total: int | None = None
    problems: list[tuple[str, str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook: its id (the dedup key), type, and what it is about."""

    event_id: str
    event_type: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Handshake:
    establishment: str = HandshakeStatus.NOT_STARTED
    configuration: str = HandshakeStatus.NOT_STARTED
    message: str = ""


class Connector:
    """Base class of every connector; subclasses override what their CLM supports."""

    name: ClassVar[str]
    label: ClassVar[str]
    #: Settings keys an admin may set on the connection (``Connection.settings``), with help.
    settings_help: ClassVar[Mapping[str, str]] = {}

    def __init__(self, connection: Connection):
        self.connection = connection

    # --- configuration ----------------------------------------------------------------
    def settings_problems(self) -> list[str]:
        """What is wrong with the connection's settings, each in plain words. The admin asks
        before saving a connection (built as typed, not saved), and saves nothing while
        there is any. Called without talking to the CLM."""
        return []

    def preview(self) -> PullPage:
        """The first page of a full listing, mapped, for an admin to look at ("Test
        connection"); nothing is saved. Any connector that pulls can preview this way."""
        return self.pull(since="", token="", full=True)

    # --- inbound ----------------------------------------------------------------------
    def pull(self, *, since: str, token: str, full: bool) -> PullPage:
        """One page of contracts changed since ``since`` (all of them when ``full``),
        continuing at ``token`` (empty for the first page)."""
        raise PermanentError(f"The {self.label} connector cannot pull.")

    def fetch(self, external_id: str) -> ContractRecord:
        """One contract, read now."""
        raise PermanentError(f"The {self.label} connector cannot fetch a single contract.")

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Checks the signature on the raw body and parses it; raises ``WebhookRejected``.

        The default is the Standard Webhooks scheme with the connection's secrets; a vendor
        with its own scheme overrides this."""
        from .webhooks import standard_webhook_verify

        return standard_webhook_verify(secrets=self.connection.webhook_secret_list, headers=headers, body=body)

    def webhook_changes(self, event: WebhookEvent) -> list[ContractRecord | ContractReference]:
        """What a stored event is about: full records, or references to fetch."""
        return []

    # --- outbound ---------------------------------------------------------------------
    def push(self, message: OutboxMessage) -> None:
        """Delivers one master-data change; raises ``TransientError`` to be retried."""
        raise PermanentError(f"The {self.label} connector cannot receive master data.")

    def check(self) -> Handshake:
        """Can clmsite reach the CLM, and is the CLM configured for it?"""
        return Handshake()
