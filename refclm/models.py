"""The reference CLM's own storage: its configuration, contracts, outbox and master data."""

from __future__ import annotations

from django.db import models
from django.db.models import F

from . import lifecycle


class DeliveryMode(models.TextChoices):
    WEBHOOK = "webhook", "Signed webhook with the contract"
    WEBHOOK_REF = "webhook-ref", "Signed webhook with the contract's id (clmsite fetches it)"
    API = "api", "PUT through clmsite's API"
    PULL = "pull", "Nothing sent; clmsite pulls"


class ContractType(models.TextChoices):
    NDA = "NDA", "NDA"
    PURCHASE = "Purchase", "Purchase"
    SERVICE = "Service", "Service"


class Config(models.Model):
    """The one row that says how to reach clmsite and how clmsite reaches this CLM."""

    clmsite_url = models.URLField(max_length=500, blank=True)
    api_key = models.CharField(max_length=200, blank=True, help_text="clmsite API client key.")
    connection = models.CharField(max_length=100, blank=True, help_text="The connection's name in clmsite.")
    webhook_secret = models.CharField(max_length=200, blank=True, help_text="whsec_… shared with clmsite.")
    pull_token = models.CharField(max_length=200, blank=True, help_text="Bearer token clmsite calls this CLM with.")
    delivery = models.CharField(max_length=20, choices=DeliveryMode.choices, default=DeliveryMode.WEBHOOK)
    public_url = models.URLField(max_length=500, blank=True, help_text="This CLM's own address, for document links.")
    master_data_synced_at = models.DateTimeField(null=True, blank=True)
    master_data_error = models.TextField(blank=True)
    modified_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"clmsite at {self.clmsite_url or '(not configured)'}"

    @classmethod
    def load(cls) -> Config:
        config, _ = cls.objects.get_or_create(pk=1)
        return config

    @property
    def reaches_clmsite(self) -> bool:
        return bool(self.clmsite_url and self.api_key)


class Counter(models.Model):
    """Named sequences: contract numbers and the global revision."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"

    @classmethod
    def next(cls, name: str) -> int:
        """The next number; call it inside a transaction (the update locks the row)."""
        cls.objects.get_or_create(name=name)
        cls.objects.filter(name=name).update(value=F("value") + 1)
        return cls.objects.values_list("value", flat=True).get(name=name)

    @classmethod
    def current(cls, name: str) -> int:
        return cls.objects.filter(name=name).values_list("value", flat=True).first() or 0


class Contract(models.Model):
    external_id = models.CharField(max_length=36, unique=True)
    contract_id = models.CharField(max_length=20, unique=True)
    legal_entity = models.CharField(max_length=8)
    contract_type = models.CharField(max_length=20, choices=ContractType.choices)
    status = models.CharField(max_length=40, choices=[(status, status) for status in lifecycle.STATUSES])
    name = models.CharField(max_length=255)
    account_type = models.CharField(max_length=10, default="Vend")
    account_relation_id = models.CharField(max_length=20, blank=True)
    party_number = models.CharField(max_length=20, blank=True)
    party_name = models.CharField(max_length=200, blank=True)
    contact_person_id = models.CharField(max_length=40, blank=True)
    requester_worker_name = models.CharField(max_length=200, blank=True)
    requester_worker_email = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    renewal_type = models.CharField(max_length=20, blank=True)
    notice_period_days = models.PositiveIntegerField(null=True, blank=True)
    amendment_in_process = models.BooleanField(default=False)
    amendment_count = models.PositiveIntegerField(default=0)
    latest_amendment_id = models.CharField(max_length=40, blank=True)
    latest_external_amendment_id = models.CharField(max_length=36, blank=True)
    # The changes of the amendment under way; they take effect when it is signed.
    pending_amendment = models.JSONField(null=True, blank=True)
    # Bumped from the global revision counter on every change: the pull API's order and
    # the contract's source_sequence in clmsite.
    revision = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField()
    lines = models.JSONField(default=list, blank=True, help_text="Agreement lines, in clmsite's field names.")
    validation = models.JSONField(null=True, blank=True, help_text="clmsite's verdict on the intended agreement.")
    agreement_id = models.CharField(max_length=40, blank=True, help_text="clmsite's purchase agreement, once known.")
    source_agreement_id = models.CharField(
        max_length=40, blank=True, help_text="The SCM-owned agreement in clmsite this contract was started from."
    )

    class Meta:
        ordering = ["-revision"]

    def __str__(self):
        return self.contract_id

    @property
    def is_final(self) -> bool:
        return self.status in lifecycle.FINAL_STATUSES

    @property
    def is_editable(self) -> bool:
        """Name, value and dates change only before execution; an executed contract is amended instead."""
        return self.status in lifecycle.BEFORE_EXECUTION and not self.amendment_in_process

    @property
    def has_agreement(self) -> bool:
        return self.contract_type != ContractType.NDA

    @property
    def next_actions(self) -> list[str]:
        return lifecycle.next_actions(self.status, self.amendment_in_process)


class ContractEvent(models.Model):
    """One action on a contract, for its history."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.action}: {self.from_status} → {self.to_status}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class DeliveryKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook with the contract"
    WEBHOOK_REF = "webhook-ref", "Webhook with the contract's id"
    API = "api", "PUT through the API"
    EXECUTION = "execution", "Executed contract and its agreement lines through the API"
    LINK = "link", "Link of the SCM agreement to the contract"
    EXPIRY = "expiry", "Expired contract and its agreement's expiration date through the API"


class Delivery(models.Model):
    """The outbox: one change for clmsite, kept until clmsite has it (or refused it)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20, choices=DeliveryKind.choices)
    revision = models.BigIntegerField(help_text="The contract revision it carries.")
    payload = models.JSONField()
    event_id = models.CharField(max_length=60, blank=True, help_text="The webhook's id, the same on every retry.")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "id"], name="refclm_delivery_status")]

    def __str__(self):
        return f"{self.kind} r{self.revision} {self.status}"


class MasterRecord(models.Model):
    """A master-data record read from clmsite, as its API shows it."""

    entity = models.CharField(max_length=40)
    legal_entity = models.CharField(max_length=8, blank=True)
    key = models.CharField(max_length=100)
    data = models.JSONField()
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity", "legal_entity", "key"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "legal_entity", "key"], name="refclm_master_record_key")
        ]

    def __str__(self):
        return f"{self.entity} {self.legal_entity}/{self.key}".replace(" /", " ")


class MasterDataCursor(models.Model):
    """Per entity, clmsite's change cursor to continue from."""

    entity = models.CharField(max_length=40, unique=True)
    cursor = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.entity


class PushReceipt(models.Model):
    """The Idempotency-Key of every master-data push accepted, so a repeat changes nothing."""

    key = models.CharField(max_length=255, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key


class Faults(models.Model):
    """The one row of fault modes the served API and the outgoing webhooks obey."""

    delay_ms = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    timeouts = models.PositiveIntegerField(default=0)
    timeout_seconds = models.PositiveIntegerField(default=15)
    rate_limits = models.PositiveIntegerField(default=0)
    repeat_ctoken = models.PositiveIntegerField(default=0)
    duplicate_webhooks = models.BooleanField(default=False)
    out_of_order_webhooks = models.BooleanField(default=False)

    def __str__(self):
        return "fault modes"

    @classmethod
    def load(cls) -> Faults:
        faults, _ = cls.objects.get_or_create(pk=1)
        return faults
