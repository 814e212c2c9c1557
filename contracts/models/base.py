from django.db import models


class TrackedModel(models.Model):
    """Created/modified timestamps and who or what made the last change (SPEC §3).

    ``changed_by`` holds an actor label such as ``user:alice``, ``api_client:clm`` or
    ``connector:reference-clm``; services set it from their ``actor`` argument.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    changed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


class LegalEntityScoped(TrackedModel):
    """A company-specific record: its natural key is unique within its legal entity."""

    legal_entity = models.ForeignKey("contracts.LegalEntity", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


def unique_per_legal_entity(model_name: str, field: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["legal_entity", field], name=f"{model_name}_{field}_unique_per_le")
