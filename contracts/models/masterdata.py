"""Master data (SPEC §3.1): clmsite is the master, the CLM reads it.

Shared records (legal entities, countries, currencies, units, the procurement category
hierarchy) are global, as in the ERP; everything else belongs to one legal entity.
"""

from django.db import models
from django.db.models import Q

from .base import LegalEntityScoped, TrackedModel, unique_per_legal_entity


class LegalEntity(TrackedModel):
    code = models.CharField(max_length=8, unique=True, help_text="The ERP's dataAreaId, e.g. USMF.")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"

    def __str__(self):
        return self.code


class Country(TrackedModel):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "countries/regions"

    def __str__(self):
        return self.code


class Currency(TrackedModel):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[A-Z]{3}$"), name="currency_code_iso")]

    def __str__(self):
        return self.code


class UnitOfMeasure(TrackedModel):
    symbol = models.CharField(max_length=10, unique=True)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["symbol"]
        verbose_name = "unit of measure"
        verbose_name_plural = "units of measure"

    def __str__(self):
        return self.symbol


class ProcurementCategory(TrackedModel):
    """A node of the procurement category hierarchy; a node without parent is a root."""

    name = models.CharField(max_length=100, unique=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "procurement categories"
        constraints = [models.CheckConstraint(condition=~Q(parent=models.F("id")), name="category_not_own_parent")]

    def __str__(self):
        return self.name

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


class PaymentTerms(LegalEntityScoped):
    name = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)
    net_days = models.PositiveSmallIntegerField(default=30)

    class Meta:
        ordering = ["legal_entity", "name"]
        verbose_name_plural = "payment terms"
        constraints = [unique_per_legal_entity("paymentterms", "name")]

    def __str__(self):
        return self.name


class CashDiscount(LegalEntityScoped):
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)
    discount_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["legal_entity", "code"]
        constraints = [
            unique_per_legal_entity("cashdiscount", "code"),
            models.CheckConstraint(
                condition=Q(discount_percentage__gte=0, discount_percentage__lte=100),
                name="cashdiscount_percentage_range",
            ),
        ]

    def __str__(self):
        return self.code


class DeliveryTerms(LegalEntityScoped):
    code = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["legal_entity", "code"]
        verbose_name_plural = "delivery terms"
        constraints = [unique_per_legal_entity("deliveryterms", "code")]

    def __str__(self):
        return self.code


class VendorPaymentMethod(LegalEntityScoped):
    name = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["legal_entity", "name"]
        constraints = [unique_per_legal_entity("vendorpaymentmethod", "name")]

    def __str__(self):
        return self.name


class PaymentSchedule(LegalEntityScoped):
    name = models.CharField(max_length=20)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["legal_entity", "name"]
        constraints = [unique_per_legal_entity("paymentschedule", "name")]

    def __str__(self):
        return self.name


class Vendor(LegalEntityScoped):
    account_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    party_number = models.CharField(max_length=20, blank=True, db_index=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payment_terms = models.ForeignKey(PaymentTerms, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    blocked = models.BooleanField(default=False)

    class Meta:
        ordering = ["legal_entity", "account_number"]
        constraints = [unique_per_legal_entity("vendor", "account_number")]

    def __str__(self):
        return f"{self.account_number} {self.name}"


class ContactPerson(LegalEntityScoped):
    contact_person_id = models.CharField(max_length=20)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["legal_entity", "contact_person_id"]
        verbose_name_plural = "contact persons"
        constraints = [unique_per_legal_entity("contactperson", "contact_person_id")]

    def __str__(self):
        return f"{self.contact_person_id} {self.name}"


class Worker(LegalEntityScoped):
    """Employees, used to resolve requesters and responsible workers (by name, then email)."""

    personnel_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, db_index=True)
    email = models.EmailField(blank=True, db_index=True)

    class Meta:
        ordering = ["legal_entity", "personnel_number"]
        constraints = [unique_per_legal_entity("worker", "personnel_number")]

    def __str__(self):
        return self.name


class ReleasedProduct(LegalEntityScoped):
    item_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    category = models.ForeignKey(ProcurementCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["legal_entity", "item_number"]
        constraints = [unique_per_legal_entity("releasedproduct", "item_number")]

    def __str__(self):
        return f"{self.item_number} {self.name}"


class ProductVariant(LegalEntityScoped):
    product = models.ForeignKey(ReleasedProduct, on_delete=models.PROTECT, related_name="variants")
    variant_number = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["legal_entity", "variant_number"]
        constraints = [unique_per_legal_entity("productvariant", "variant_number")]

    def __str__(self):
        return self.variant_number


class Site(LegalEntityScoped):
    site_id = models.CharField(max_length=10)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["legal_entity", "site_id"]
        verbose_name = "operational site"
        constraints = [unique_per_legal_entity("site", "site_id")]

    def __str__(self):
        return self.site_id


class Warehouse(LegalEntityScoped):
    warehouse_id = models.CharField(max_length=10)
    name = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="warehouses")

    class Meta:
        ordering = ["legal_entity", "warehouse_id"]
        constraints = [unique_per_legal_entity("warehouse", "warehouse_id")]

    def __str__(self):
        return self.warehouse_id


class Project(LegalEntityScoped):
    project_id = models.CharField(max_length=20)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["legal_entity", "project_id"]
        constraints = [unique_per_legal_entity("project", "project_id")]

    def __str__(self):
        return self.project_id


class PurchaseAgreementClassification(LegalEntityScoped):
    name = models.CharField(max_length=40)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["legal_entity", "name"]
        constraints = [unique_per_legal_entity("agreementclassification", "name")]

    def __str__(self):
        return self.name


class BuyerGroup(LegalEntityScoped):
    group_id = models.CharField(max_length=10)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["legal_entity", "group_id"]
        constraints = [unique_per_legal_entity("buyergroup", "group_id")]

    def __str__(self):
        return self.group_id
