"""The change log of master data (SPEC §8.4, §9): what changed, in one global order.

Every create, update and delete of a §3.1 record appends a row, in the transaction of the
change (``contracts.signals``). The row's id is the sequence the CLM's change tracking
reads from (``/api/v1/master-data/<entity>/?changed_since=…``), and the outbox of
master-data pushes will read from it too. A row names the record by its natural key, so
a deletion can still be told to the CLM after the record is gone.

Rows written before the log existed do not exist: a full snapshot covers such records.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Q
from django.utils import timezone

from contracts.choices import ChangeOperation

from .base import LegalEntityScoped
from .masterdata import (
    BuyerGroup,
    CashDiscount,
    ContactPerson,
    Country,
    Currency,
    DeliveryTerms,
    LegalEntity,
    PaymentSchedule,
    PaymentTerms,
    ProcurementCategory,
    ProductVariant,
    Project,
    PurchaseAgreementClassification,
    ReleasedProduct,
    Site,
    UnitOfMeasure,
    Vendor,
    VendorPaymentMethod,
    Warehouse,
    Worker,
)


@dataclass(frozen=True)
class TrackedEntity:
    """A master-data entity whose changes are logged: its API name and its natural key.

    ``key`` is unique on its own for shared records, within the legal entity for
    company-specific ones.
    """

    name: str
    model: type[models.Model]
    key: str

    @property
    def per_legal_entity(self) -> bool:
        return issubclass(self.model, LegalEntityScoped)

    @property
    def scope_fields(self) -> tuple[str, ...]:
        return ("legal_entity",) if self.per_legal_entity else ()

    def log_key(self, record) -> tuple[str, int | None]:
        """The record's natural key as the log stores it: (key value, legal entity id or None)."""
        return str(getattr(record, self.key)), record.legal_entity_id if self.per_legal_entity else None


TRACKED_ENTITIES = (
    TrackedEntity("legal-entities", LegalEntity, "code"),
    TrackedEntity("countries", Country, "code"),
    TrackedEntity("currencies", Currency, "code"),
    TrackedEntity("units", UnitOfMeasure, "symbol"),
    TrackedEntity("procurement-categories", ProcurementCategory, "name"),
    TrackedEntity("payment-terms", PaymentTerms, "name"),
    TrackedEntity("cash-discounts", CashDiscount, "code"),
    TrackedEntity("delivery-terms", DeliveryTerms, "code"),
    TrackedEntity("vendor-payment-methods", VendorPaymentMethod, "name"),
    TrackedEntity("payment-schedules", PaymentSchedule, "name"),
    TrackedEntity("vendors", Vendor, "account_number"),
    TrackedEntity("contact-persons", ContactPerson, "contact_person_id"),
    TrackedEntity("workers", Worker, "personnel_number"),
    TrackedEntity("released-products", ReleasedProduct, "item_number"),
    TrackedEntity("product-variants", ProductVariant, "variant_number"),
    TrackedEntity("sites", Site, "site_id"),
    TrackedEntity("warehouses", Warehouse, "warehouse_id"),
    TrackedEntity("projects", Project, "project_id"),
    TrackedEntity("agreement-classifications", PurchaseAgreementClassification, "name"),
    TrackedEntity("buyer-groups", BuyerGroup, "group_id"),
)
TRACKED_BY_MODEL = {entity.model: entity for entity in TRACKED_ENTITIES}


class ChangeLog(models.Model):
    """One change of one master-data record; ``id`` is the change sequence."""

    id = models.BigAutoField(primary_key=True)
    entity = models.CharField(max_length=40, help_text="The entity's API name, e.g. vendors.")
    legal_entity = models.ForeignKey(
        "contracts.LegalEntity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank for shared records (legal entities themselves, countries, currencies, units, categories).",
    )
    natural_key = models.CharField(max_length=100, help_text="The record's key value, e.g. a vendor account number.")
    object_pk = models.BigIntegerField()
    operation = models.CharField(max_length=6, choices=ChangeOperation.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = "master-data change"
        indexes = [
            models.Index(fields=["entity", "id"], name="changelog_entity_seq"),
            models.Index(fields=["entity", "legal_entity", "natural_key", "id"], name="changelog_entity_key_seq"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(operation__in=ChangeOperation.values), name="changelog_operation_valid")
        ]

    def __str__(self):
        return f"#{self.id} {self.operation} {self.entity} {self.natural_key}"
