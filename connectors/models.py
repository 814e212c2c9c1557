"""Connections to external CLM systems and their navigation links (SPEC §3.5–§3.6)."""

from django.db import models
from django.db.models import Q

from contracts.choices import ConnectionStatus, HandshakeStatus, NavigationAction, NavigationType
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
