"""The audit log: who changed what, and how, for every change by a person, an API client or a
connector (docs/architecture.md, "Audit log").

Rows are only ever appended (``contracts.services.audit``); nothing updates or deletes them,
and the admin shows them read-only. The log is not the CLM's change feed (``ChangeLog``): it
keeps field values, and it covers everything, not only master data.
"""

from django.db import models
from django.utils import timezone

from contracts.choices import ActorKind, AuditAction


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=200)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model, e.g. contracts.vendor.")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField("object", max_length=200, blank=True)
    # No database constraint and nothing done on delete: the log must outlive what it names,
    # and deleting a legal entity must not rewrite millions of entries.
    legal_entity = models.ForeignKey(
        "contracts.LegalEntity",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="{field: [old, new]}; secret values are masked, never stored."
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        # Each list the admin shows is newest first: by time, by actor, by object (its history).
        indexes = [
            models.Index(fields=["at", "id"], name="audit_at"),
            models.Index(fields=["actor_name", "at", "id"], name="audit_actor"),
            models.Index(fields=["object_id", "at", "id"], name="audit_object"),
        ]

    def __str__(self):
        return f"{self.actor_kind}:{self.actor_name} {self.action} {self.object_type} {self.object_id}"

    @property
    def actor_label(self) -> str:
        return f"{self.actor_kind}:{self.actor_name}"
