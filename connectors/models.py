"""Connections to external CLM systems and their navigation links (SPEC §3.5–§3.6)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from contracts.choices import (
    ConnectionStatus,
    DeadLetterKind,
    HandshakeStatus,
    NavigationAction,
    NavigationType,
    SyncRunKind,
    SyncRunStatus,
    WorkStatus,
)
from contracts.models.base import TrackedModel

from .fields import EncryptedTextField


def derive_connection_status(establishment: str, configuration: str) -> str:
    """The table of SPEC §3.5: what a connection is shown as."""
    if establishment == HandshakeStatus.SUCCESS:
        return {
            HandshakeStatus.SUCCESS: ConnectionStatus.READY,
            HandshakeStatus.ERROR: ConnectionStatus.CONFIGURATION_FAILED,
        }.get(configuration, ConnectionStatus.ESTABLISHED)
    if establishment == HandshakeStatus.ERROR:
        return ConnectionStatus.ESTABLISHMENT_FAILED
    return ConnectionStatus.NOT_STARTED


# Written only by the pull (connectors.pull), with queryset updates.
SYNC_OWNED_FIELDS = ("sync_watermark", "last_sync_at")


class Connection(TrackedModel):
    name = models.CharField(max_length=100, unique=True)
    connector = models.CharField(max_length=60, help_text="The registered connector that talks to this CLM.")
    base_url = models.URLField(max_length=500, help_text="Base URL of the CLM.")
    navigation_base_url = models.URLField(
        max_length=500, blank=True, help_text="Base URL for the View/Edit/Amend/New links; blank uses the base URL."
    )
    settings = models.JSONField(default=dict, blank=True, help_text="Connector settings that are not secret.")
    credentials = EncryptedTextField(blank=True, help_text="Stored encrypted; never shown again after entry.")
    webhook_secrets = EncryptedTextField(
        blank=True, help_text="One secret per line; all are accepted, so a new one can be added before the old goes."
    )
    enabled = models.BooleanField(default=True)
    create_unknown_contract_types = models.BooleanField(
        default=False,
        help_text="Create an unknown contract type as lightweight and flag it for review, instead of rejecting.",
    )
    poll_schedule = models.ForeignKey(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    establishment_status = models.CharField(
        max_length=10, choices=HandshakeStatus.choices, default=HandshakeStatus.NOT_STARTED
    )
    configuration_status = models.CharField(
        max_length=10, choices=HandshakeStatus.choices, default=HandshakeStatus.NOT_STARTED
    )
    status_message = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    sync_watermark = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where the next incremental pull starts, as the CLM gave it; advanced only after a pull completes.",
    )
    push_master_data = models.BooleanField(
        default=False, help_text="Deliver master-data changes to this CLM through its connector (the outbox)."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(establishment_status__in=HandshakeStatus.values)
                & Q(configuration_status__in=HandshakeStatus.values),
                name="connection_handshake_status_valid",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Pulls move the watermark with a queryset update while an admin may hold this row
        # open in a form; a plain save of that older copy must not put the old watermark back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in SYNC_OWNED_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def status(self) -> str:
        return derive_connection_status(self.establishment_status, self.configuration_status)

    @property
    def status_label(self) -> str:
        return ConnectionStatus(self.status).label

    @property
    def effective_navigation_base_url(self) -> str:
        return self.navigation_base_url or self.base_url

    @property
    def webhook_secret_list(self) -> list[str]:
        return [line.strip() for line in (self.webhook_secrets or "").splitlines() if line.strip()]


class NavigationLink(TrackedModel):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="navigation_links")
    navigation_type = models.CharField(max_length=40, choices=NavigationType.choices)
    name = models.CharField(max_length=100)
    relative_url = models.CharField(
        max_length=500, help_text="Appended to the navigation base URL, e.g. /contracts/view."
    )
    action = models.CharField(max_length=20, choices=NavigationAction.choices, default=NavigationAction.OPEN_IN_NEW_TAB)

    class Meta:
        ordering = ["connection", "navigation_type"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "navigation_type"], name="one_link_per_navigation_type"),
            models.CheckConstraint(
                condition=Q(navigation_type__in=NavigationType.values), name="navigation_type_valid"
            ),
            models.CheckConstraint(condition=Q(action__in=NavigationAction.values), name="navigation_action_valid"),
        ]

    def __str__(self):
        return f"{self.connection}: {self.get_navigation_type_display()}"


class NavigationLinkParameter(models.Model):
    """A query-string key/value; the value mixes text with ``%Model.Field%`` placeholders."""

    link = models.ForeignKey(NavigationLink, on_delete=models.CASCADE, related_name="parameters")
    key = models.CharField(max_length=100)
    value = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["link", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["link", "key"], name="navigation_parameter_key_unique")]

    def __str__(self):
        return f"{self.key}={self.value}"


class SyncRun(models.Model):
    """One pull, full resync or batch import: its progress, counts and where it stands (SPEC §9, §8.8).

    A pull keeps its position (the CLM's continuation token) here, written in the same
    transaction as the page it applied, so a worker killed mid-run resumes exactly there.
    """

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="sync_runs"
    )
    kind = models.CharField(max_length=20, choices=SyncRunKind.choices)
    status = models.CharField(max_length=30, choices=SyncRunStatus.choices, default=SyncRunStatus.QUEUED)
    requested_by = models.CharField(
        max_length=150, blank=True, help_text="Who asked for it: user, API client, schedule."
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last time a worker made progress.")
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Records expected, when known.")
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    watermark_from = models.CharField(max_length=200, blank=True)
    watermark_to = models.CharField(max_length=200, blank=True)
    next_token = models.CharField(max_length=1000, blank=True, help_text="The CLM's continuation token to read next.")
    seen_tokens = models.JSONField(default=list, blank=True, help_text="Tokens already read, to stop if one repeats.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed attempts at the current page.")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a run waiting after a transient error tries its page again."
    )
    message = models.TextField(blank=True, help_text="Why the run failed, or its last transient error.")
    package = models.ForeignKey("ImportPackage", on_delete=models.PROTECT, null=True, blank=True, related_name="runs")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "kind", "-created_at"], name="syncrun_connection_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=SyncRunStatus.active())
                & Q(kind__in=[SyncRunKind.PULL, SyncRunKind.FULL_RESYNC]),
                name="one_active_pull_per_connection",
            ),
            models.CheckConstraint(condition=Q(kind__in=SyncRunKind.values), name="syncrun_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=SyncRunStatus.values), name="syncrun_status_valid"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in SyncRunStatus.active()

    @property
    def status_colour(self) -> str:
        return SyncRunStatus.colour(self.status)


class SyncError(models.Model):
    """A record a run could not apply, with the reason and the record as received."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="errors")
    record_key = models.CharField(max_length=200, help_text="The offending record, e.g. USMF/CT-1001 or #17.")
    message = models.TextField()
    record = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self):
        return f"{self.record_key}: {self.message[:80]}"


class ImportPackage(models.Model):
    """A batch-import package as uploaded (SPEC §8.8); its checksum names it."""

    sha256 = models.CharField(max_length=64, unique=True)
    content = models.JSONField()
    size = models.PositiveIntegerField(help_text="Bytes as uploaded.")
    uploaded_by = models.CharField(max_length=150, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"package {self.sha256[:12]}"


class RetriedWork(models.Model):
    """What an inbound event and an outbound message share: attempts, backoff, dead letters."""

    status = models.CharField(max_length=10, choices=WorkStatus.choices, default=WorkStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class InboundEvent(RetriedWork):
    """A webhook event, stored under its id before the CLM gets its 2xx (SPEC §9)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="inbound_events")
    event_id = models.CharField(max_length=255, help_text="The sender's webhook-id; a repeat changes nothing.")
    event_type = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True, help_text="What applying it did, e.g. USMF/CT-1: updated.")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="inbound_due")]
        constraints = [
            models.UniqueConstraint(fields=["connection", "event_id"], name="inbound_event_once"),
            models.CheckConstraint(condition=Q(status__in=WorkStatus.values), name="inbound_status_valid"),
        ]

    def __str__(self):
        return f"{self.connection}: {self.event_id}"


class OutboxMessage(RetriedWork):
    """A master-data change waiting to be delivered to one CLM, in order per record (SPEC §9).

    Written by ``contracts.signals`` in the transaction of the change itself.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox_messages")
    change = models.ForeignKey("contracts.ChangeLog", on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=40)
    legal_entity_code = models.CharField(max_length=10, blank=True)
    natural_key = models.CharField(max_length=100)
    operation = models.CharField(max_length=6)
    payload = models.JSONField(default=dict, blank=True, help_text="The record as it was when it changed.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["connection", "status", "next_attempt_at", "id"], name="outbox_due"),
            models.Index(
                fields=["connection", "entity", "legal_entity_code", "natural_key", "id"], name="outbox_record"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["connection", "change"], name="outbox_change_once"),
            models.CheckConstraint(condition=Q(status__in=WorkStatus.values), name="outbox_status_valid"),
        ]

    def __str__(self):
        return f"{self.connection}: {self.operation} {self.entity} {self.natural_key}"

    @property
    def record_key(self) -> str:
        return "/".join(part for part in (self.entity, self.legal_entity_code, self.natural_key) if part)


class DeadLetter(models.Model):
    """The one list of work that ran out of attempts (SPEC §7): admins retry or discard it."""

    kind = models.CharField(max_length=20, choices=DeadLetterKind.choices)
    object_id = models.BigIntegerField(help_text="The dead inbound event, outbox message or sync run.")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    summary = models.CharField(max_length=300)
    error = models.TextField()
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="dead_letter_once"),
            models.CheckConstraint(condition=Q(kind__in=DeadLetterKind.values), name="dead_letter_kind_valid"),
        ]

    def __str__(self):
        return self.summary
