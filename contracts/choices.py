"""Every enumerated value of the domain, one class per field (SPEC §3).

Code refers to ``ContractStatus.EXECUTED``, never to the string. The stored values are the
ERP's own spellings, so that the API and the compatibility face can pass them through.
"""

from django.db import models


class ContractStatus(models.TextChoices):
    DRAFT = "Draft", "Draft"
    WAITING_FOR_APPROVAL = "WaitingForApproval", "Waiting for approval"
    APPROVED = "Approved", "Approved"
    REJECTED = "Rejected", "Rejected"
    WAITING_FOR_SIGNATURES = "WaitingForSignatures", "Waiting for signatures"
    WAITING_FOR_EXTERNAL_SIGNATURES = "WaitingForExternalSignatures", "Waiting for external signatures"
    WAITING_FOR_INTERNAL_SIGNATURES = "WaitingForInternalSignatures", "Waiting for internal signatures"
    EXECUTED = "Executed", "Executed"
    TERMINATED = "Terminated", "Terminated"
    EXPIRED = "Expired", "Expired"
    ON_HOLD = "OnHold", "On hold"
    CANCELLED = "Cancelled", "Cancelled"
    WAITING_FOR_REVIEW = "WaitingForReview", "Waiting for review"
    REVIEWED = "Reviewed", "Reviewed"

    @classmethod
    def colour(cls, value: str) -> str:
        """The badge colour a status is shown with in lists and on the dashboard."""
        return _CONTRACT_STATUS_COLOURS.get(value, "grey")


_CONTRACT_STATUS_COLOURS = {
    ContractStatus.DRAFT: "grey",
    ContractStatus.WAITING_FOR_APPROVAL: "amber",
    ContractStatus.APPROVED: "teal",
    ContractStatus.REJECTED: "red",
    ContractStatus.WAITING_FOR_SIGNATURES: "blue",
    ContractStatus.WAITING_FOR_EXTERNAL_SIGNATURES: "blue",
    ContractStatus.WAITING_FOR_INTERNAL_SIGNATURES: "blue",
    ContractStatus.EXECUTED: "green",
    ContractStatus.TERMINATED: "red",
    ContractStatus.EXPIRED: "dark",
    ContractStatus.ON_HOLD: "amber",
    ContractStatus.CANCELLED: "dark",
    ContractStatus.WAITING_FOR_REVIEW: "purple",
    ContractStatus.REVIEWED: "teal",
}


class AccountType(models.TextChoices):
    VENDOR = "Vend", "Vendor"
    CUSTOMER = "Cust", "Customer"
    PARTY = "Party", "Party"


class RenewalType(models.TextChoices):
    NONE = "None", "No renewal"
    AUTOMATIC = "Automatic", "Renews automatically"
    OPTIONAL = "Optional", "Renewal by option"
    EVERGREEN = "Evergreen", "Evergreen"


class ContractFlowName(models.TextChoices):
    """The flows that ship. Further flows are registered by name (connectors.flows)."""

    PURCHASE_AGREEMENT = "purchase_agreement", "Purchase agreement (deep)"
    LIGHTWEIGHT = "lightweight", "Lightweight (All contracts only)"


class AgreementOwnership(models.TextChoices):
    SCM = "SCM", "Supply Chain Management"
    CLM = "CLM", "External contract management"


class AgreementStatus(models.TextChoices):
    ON_HOLD = "OnHold", "On hold"
    EFFECTIVE = "Effective", "Effective"
    CLOSED = "Closed", "Closed"

    @classmethod
    def colour(cls, value: str) -> str:
        return {cls.ON_HOLD: "amber", cls.EFFECTIVE: "green", cls.CLOSED: "dark"}.get(value, "grey")


class CommitmentType(models.TextChoices):
    PRODUCT_QUANTITY = "ProductQuantity", "Product quantity commitment"
    PRODUCT_VOLUME = "ProductVolume", "Product value commitment"
    PRODUCT_CATEGORY = "ProductCategory", "Product category value commitment"
    PRODUCT_ROOT_CATEGORY = "ProductRootCategory", "Value commitment"

    @classmethod
    def needs_item(cls, value: str) -> bool:
        return value in (cls.PRODUCT_QUANTITY, cls.PRODUCT_VOLUME)

    @classmethod
    def needs_category(cls, value: str) -> bool:
        return value in (cls.PRODUCT_CATEGORY, cls.PRODUCT_ROOT_CATEGORY)

    @classmethod
    def is_quantity(cls, value: str) -> bool:
        return value == cls.PRODUCT_QUANTITY


class LineMatchingPolicy(models.TextChoices):
    NOT_REQUIRED = "NotRequired", "Not required"
    TWO_WAY = "TwoWay", "Two-way matching"
    THREE_WAY = "ThreeWay", "Three-way matching"


class HandshakeStatus(models.TextChoices):
    """Establishment and configuration status of a connection (SPEC §3.5)."""

    NOT_STARTED = "NotStarted", "Not started"
    SUCCESS = "Success", "Success"
    ERROR = "Error", "Error"


class ConnectionStatus(models.TextChoices):
    """What a connection is shown as, derived from its two handshake statuses."""

    NOT_STARTED = "NotStarted", "Not started"
    ESTABLISHMENT_FAILED = "EstablishmentFailed", "Connection establishment failed"
    ESTABLISHED = "Established", "Connection established"
    CONFIGURATION_FAILED = "ConfigurationFailed", "Configuration failed"
    READY = "Ready", "Ready"

    @classmethod
    def colour(cls, value: str) -> str:
        return _CONNECTION_STATUS_COLOURS.get(value, "grey")


_CONNECTION_STATUS_COLOURS = {
    ConnectionStatus.NOT_STARTED: "grey",
    ConnectionStatus.ESTABLISHMENT_FAILED: "red",
    ConnectionStatus.ESTABLISHED: "blue",
    ConnectionStatus.CONFIGURATION_FAILED: "red",
    ConnectionStatus.READY: "green",
}


class NavigationType(models.TextChoices):
    NEW_CONTRACT = "NewContract", "New contract"
    NEW_CONTRACT_FROM_PURCH_AGREEMENT = "NewContractFromPurchAgreement", "New contract from purchase agreement"
    EDIT_CONTRACT = "EditContract", "Edit contract"
    AMEND_CONTRACT = "AmendContract", "Amend contract"
    VIEW_CONTRACT = "ViewContract", "View contract"


class NavigationAction(models.TextChoices):
    OPEN_IN_NEW_TAB = "OpenInNewTab", "Open in a new tab"
    OPEN_IN_EXISTING_TAB = "OpenInExistingTab", "Open in the existing tab"


class ActorKind(models.TextChoices):
    """Who or what made a change: every record keeps it (SPEC §3)."""

    USER = "user", "User"
    API_CLIENT = "api_client", "API client"
    CONNECTOR = "connector", "Connector"
    SYSTEM = "system", "System"


class ApiClientRole(models.TextChoices):
    """What an API client may do (SPEC §2, §8.1); its legal entities say where."""

    CLM_INTEGRATION = "clm_integration", "CLM integration (reads and writes, acts for the CLM)"
    READ_ONLY = "read_only", "Read only"


class ChangeOperation(models.TextChoices):
    """What happened to a master-data record, as its change log tells the CLM (SPEC §8.4)."""

    UPSERT = "upsert", "Created or changed"
    DELETE = "delete", "Deleted"


class DeepLinkTarget(models.TextChoices):
    """What a deep link opens (SPEC §8.5)."""

    VENDOR = "vendor", "Vendor"
    CONTRACT = "contract", "Contract"
    AGREEMENT = "agreement", "Purchase agreement"


class SyncRunKind(models.TextChoices):
    """What a sync run does (SPEC §9, §8.8)."""

    PULL = "pull", "Incremental pull"
    FULL_RESYNC = "full_resync", "Full resync"
    IMPORT = "import", "Batch import"


class SyncRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors", "Completed with record errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def active(cls) -> tuple[str, ...]:
        return (cls.QUEUED.value, cls.RUNNING.value)

    @classmethod
    def colour(cls, value: str) -> str:
        return _SYNC_RUN_STATUS_COLOURS.get(value, "grey")


_SYNC_RUN_STATUS_COLOURS = {
    SyncRunStatus.RUNNING: "blue",
    SyncRunStatus.SUCCEEDED: "green",
    SyncRunStatus.COMPLETED_WITH_ERRORS: "amber",
    SyncRunStatus.FAILED: "red",
}


class WorkStatus(models.TextChoices):
    """Where an inbound event or an outbound message stands."""

    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    DEAD = "dead", "Dead letter"
    DISCARDED = "discarded", "Discarded"


class DeadLetterKind(models.TextChoices):
    INBOUND_EVENT = "inbound_event", "Inbound webhook event"
    OUTBOX_MESSAGE = "outbox_message", "Outbound master-data change"
    SYNC_RUN = "sync_run", "Sync run"


class AuditAction(models.TextChoices):
    """What a change recorded in the audit log did (contracts.models.audit)."""

    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    DELETED = "deleted", "Deleted"
    STATUS_CHANGED = "status_changed", "Status changed"
    KEY_ROTATED = "key_rotated", "Key rotated"
    KEY_REVOKED = "key_revoked", "Key revoked"
    PAIRED = "paired", "Paired"
    RETRIED = "retried", "Retried"
    DISCARDED = "discarded", "Discarded"
