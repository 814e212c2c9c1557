"""Which legal entities a person or an API client may see and change (SPEC §2).

Access is per legal entity and granted explicitly; a superuser or a user with the
``contracts.cross_company`` permission sees every legal entity.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from contracts.choices import ApiClientRole


class LegalEntityGrant(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="legal_entity_grants")
    legal_entity = models.ForeignKey("contracts.LegalEntity", on_delete=models.CASCADE, related_name="grants")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "legal_entity"]
        constraints = [models.UniqueConstraint(fields=["user", "legal_entity"], name="one_grant_per_user_and_le")]
        permissions = [("cross_company", "Can see and change every legal entity")]

    def __str__(self):
        return f"{self.user} → {self.legal_entity}"


class ApiClient(models.Model):
    """A system that calls the REST API with a key (SPEC §2, §8.1).

    Only a SHA-256 hash of the key is stored: the key is shown once, when it is created or
    rotated. The key is 32 random bytes, so a fast hash is as safe as a slow one. Access
    is per legal entity: ``legal_entities`` lists the granted ones, and ``cross_company``
    is the explicit grant of all of them.
    """

    name = models.CharField(max_length=100, unique=True, help_text="Recorded as api_client:<name> on its changes.")
    role = models.CharField(max_length=20, choices=ApiClientRole.choices, default=ApiClientRole.READ_ONLY)
    legal_entities = models.ManyToManyField("contracts.LegalEntity", blank=True, related_name="api_clients")
    cross_company = models.BooleanField(
        default=False, help_text="Grants every legal entity, present and future (SPEC §2: an explicit grant)."
    )
    connection = models.ForeignKey(
        "connectors.Connection",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_clients",
        help_text="The CLM connection this client pushes for: its new contracts remember it, and external "
        "contract ids are checked per connection.",
    )
    is_active = models.BooleanField(default=True)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Shown; not secret.")
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"
        constraints = [models.CheckConstraint(condition=Q(role__in=ApiClientRole.values), name="api_client_role_valid")]

    def __str__(self):
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def acts_for_clm(self) -> bool:
        return self.role == ApiClientRole.CLM_INTEGRATION
