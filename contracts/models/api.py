"""What the REST API keeps between requests (SPEC §8.1)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``.

    A repeat of the same request (same caller, key, method, path and body) gets this
    answer again and writes nothing. Records are honoured for 24 hours
    (``contracts.api.idempotency.RETENTION``); older ones are ignored and may be purged.
    """

    api_client = models.ForeignKey(
        "contracts.ApiClient", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body as canonical JSON.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_client", "key"], condition=Q(api_client__isnull=False), name="idempotency_key_per_client"
            ),
            models.UniqueConstraint(
                fields=["user", "key"], condition=Q(user__isnull=False), name="idempotency_key_per_user"
            ),
            models.CheckConstraint(
                condition=Q(api_client__isnull=True, user__isnull=False)
                | Q(api_client__isnull=False, user__isnull=True),
                name="idempotency_one_caller",
            ),
        ]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"
