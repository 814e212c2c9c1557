"""Which legal entities a person may see and change (SPEC §2).

Access is per legal entity and granted explicitly; a superuser or a user with the
``contracts.cross_company`` permission sees every legal entity.
"""

from django.conf import settings
from django.db import models


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
