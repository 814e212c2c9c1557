"""Purchase agreements and their lines (SPEC §3.4)."""

from django.db import models
from django.db.models import F, Q

from contracts.choices import AgreementOwnership, AgreementStatus, CommitmentType, LineMatchingPolicy

from .base import LegalEntityScoped

# Header fields that people may still edit on a CLM-owned agreement (SPEC §6.4).
CLM_OWNED_EDITABLE_HEADER_FIELDS = (
    "vendor_reference",
    "external_document_reference",
    "line_matching_policy",
    "delivery_address",
    "payment_specification",
    "charges_group",
    "mode_of_delivery",
    "buyer_group",
    "pool",
    "shipping_carrier",
    "carrier_service",
    "carrier_group",
    "transport_mode",
    "route_plan",
    "transportation_template",
    "financial_dimensions",
)
CLM_OWNED_EDITABLE_LINE_FIELDS = ("financial_dimensions",)


class AgreementNumberSequence(models.Model):
    """Numbers new agreements per legal entity when the caller gives no id."""

    legal_entity = models.OneToOneField("contracts.LegalEntity", on_delete=models.PROTECT, related_name="+")
    prefix = models.CharField(max_length=10, default="PA-")
    next_number = models.PositiveBigIntegerField(default=1)
    width = models.PositiveSmallIntegerField(default=6)

    def __str__(self):
        return f"{self.legal_entity}: next {self.format(self.next_number)}"

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}"


class PurchaseAgreement(LegalEntityScoped):
    """``legal_entity`` is the buying legal entity (``BuyingLegalEntityId``)."""

    agreement_id = models.CharField(max_length=30)
    external_contract_id = models.CharField(max_length=100, blank=True, db_index=True)
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="agreements"
    )
    ownership = models.CharField(max_length=3, choices=AgreementOwnership.choices, default=AgreementOwnership.SCM)
    status = models.CharField(max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.ON_HOLD)
    amendment_in_process = models.BooleanField(
        default=False, help_text="The linked contract is being amended in the CLM."
    )
    document_title = models.CharField(max_length=255, blank=True)
    classification = models.ForeignKey(
        "contracts.PurchaseAgreementClassification", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    default_effective_date = models.DateField(null=True, blank=True)
    default_expiration_date = models.DateField(null=True, blank=True)
    vendor = models.ForeignKey("contracts.Vendor", on_delete=models.PROTECT, related_name="agreements")
    invoice_vendor = models.ForeignKey(
        "contracts.Vendor", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vendor_reference = models.CharField(max_length=60, blank=True)
    primary_responsible_worker = models.ForeignKey(
        "contracts.Worker", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    secondary_responsible_worker = models.ForeignKey(
        "contracts.Worker", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cash_discount = models.ForeignKey(
        "contracts.CashDiscount", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact_person = models.ForeignKey(
        "contracts.ContactPerson", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = models.ForeignKey("contracts.Currency", on_delete=models.PROTECT, related_name="+")
    default_commitment_type = models.CharField(
        max_length=20, choices=CommitmentType.choices, default=CommitmentType.PRODUCT_QUANTITY
    )
    buyer_group = models.ForeignKey(
        "contracts.BuyerGroup", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey("contracts.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payment_terms = models.ForeignKey(
        "contracts.PaymentTerms", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Still editable by people on CLM-owned agreements (SPEC §6.4).
    external_document_reference = models.CharField(max_length=60, blank=True)
    line_matching_policy = models.CharField(max_length=12, choices=LineMatchingPolicy.choices, blank=True)
    delivery_address = models.TextField(blank=True)
    payment_specification = models.CharField(max_length=30, blank=True)
    charges_group = models.CharField(max_length=20, blank=True)
    mode_of_delivery = models.CharField(max_length=20, blank=True)
    pool = models.CharField(max_length=20, blank=True)
    shipping_carrier = models.CharField(max_length=30, blank=True)
    carrier_service = models.CharField(max_length=30, blank=True)
    carrier_group = models.CharField(max_length=30, blank=True)
    transport_mode = models.CharField(max_length=30, blank=True)
    route_plan = models.CharField(max_length=30, blank=True)
    transportation_template = models.CharField(max_length=30, blank=True)
    financial_dimensions = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["legal_entity", "agreement_id"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "agreement_id"], name="agreement_id_unique_per_le"),
            models.CheckConstraint(
                condition=Q(default_expiration_date__isnull=True)
                | Q(default_effective_date__isnull=True)
                | Q(default_expiration_date__gte=F("default_effective_date")),
                name="agreement_expires_after_effective",
            ),
            models.CheckConstraint(
                condition=Q(ownership__in=AgreementOwnership.values), name="agreement_ownership_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=AgreementStatus.values), name="agreement_status_valid"),
            models.CheckConstraint(
                condition=Q(ownership=AgreementOwnership.SCM) | Q(contract__isnull=False),
                name="clm_agreement_has_contract",
            ),
        ]
        indexes = [
            models.Index(fields=["legal_entity", "status"], name="agreement_le_status"),
            models.Index(fields=["legal_entity", "ownership"], name="agreement_le_ownership"),
            models.Index(fields=["vendor", "status"], name="agreement_vendor_status"),
        ]

    def __str__(self):
        return f"{self.agreement_id} {self.document_title}".strip()

    @property
    def is_clm_owned(self) -> bool:
        return self.ownership == AgreementOwnership.CLM


class PurchaseAgreementLine(LegalEntityScoped):
    agreement = models.ForeignKey(PurchaseAgreement, on_delete=models.CASCADE, related_name="lines")
    line_number = models.DecimalField(max_digits=12, decimal_places=2)
    external_contract_line_id = models.CharField(max_length=100, blank=True)
    commitment_type = models.CharField(max_length=20, choices=CommitmentType.choices)
    committed_quantity = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    committed_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    effective_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True)
    product = models.ForeignKey(
        "contracts.ReleasedProduct", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product_variant = models.ForeignKey(
        "contracts.ProductVariant", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey(
        "contracts.ProcurementCategory", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    price = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    price_quantity = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    line_discount_amount = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    line_discount_percentage = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    minimum_release_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    maximum_release_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    is_commitment_maximum_enforced = models.BooleanField(default=False)
    is_price_and_discount_fixed = models.BooleanField(default=False)
    unit = models.ForeignKey(
        "contracts.UnitOfMeasure", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    project = models.ForeignKey("contracts.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    project_category_id = models.CharField(max_length=30, blank=True)
    project_activity_number = models.CharField(max_length=30, blank=True)
    receiving_site = models.ForeignKey(
        "contracts.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    receiving_warehouse = models.ForeignKey(
        "contracts.Warehouse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    financial_dimensions = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["agreement", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "line_number"], name="agreement_line_number_unique"),
            models.CheckConstraint(condition=Q(line_number__gt=0), name="line_number_positive"),
            models.CheckConstraint(
                condition=Q(commitment_type__in=CommitmentType.values), name="line_commitment_type_valid"
            ),
            # Quantity commitments carry a quantity and no amount; the other three the reverse.
            models.CheckConstraint(
                condition=(
                    Q(commitment_type=CommitmentType.PRODUCT_QUANTITY, committed_amount__isnull=True)
                    | (~Q(commitment_type=CommitmentType.PRODUCT_QUANTITY) & Q(committed_quantity__isnull=True))
                ),
                name="line_commitment_quantity_or_amount",
            ),
            models.CheckConstraint(
                condition=~Q(commitment_type__in=[CommitmentType.PRODUCT_QUANTITY, CommitmentType.PRODUCT_VOLUME])
                | Q(product__isnull=False),
                name="line_product_commitment_has_item",
            ),
            models.CheckConstraint(
                condition=~Q(
                    commitment_type__in=[CommitmentType.PRODUCT_CATEGORY, CommitmentType.PRODUCT_ROOT_CATEGORY]
                )
                | Q(category__isnull=False),
                name="line_category_commitment_has_category",
            ),
            models.CheckConstraint(
                condition=Q(commitment_type=CommitmentType.PRODUCT_QUANTITY)
                | Q(price__isnull=True, price_quantity__isnull=True, line_discount_amount__isnull=True),
                name="line_price_only_for_quantity",
            ),
            models.CheckConstraint(
                condition=Q(line_discount_percentage__isnull=True)
                | Q(line_discount_percentage__gte=0, line_discount_percentage__lte=100),
                name="line_discount_percentage_range",
            ),
            models.CheckConstraint(
                condition=Q(minimum_release_amount__isnull=True)
                | Q(maximum_release_amount__isnull=True)
                | Q(maximum_release_amount__gte=F("minimum_release_amount")),
                name="line_release_min_not_above_max",
            ),
            models.CheckConstraint(
                condition=Q(expiration_date__isnull=True)
                | Q(effective_date__isnull=True)
                | Q(expiration_date__gte=F("effective_date")),
                name="line_expires_after_effective",
            ),
        ]

    def __str__(self):
        return f"{self.agreement.agreement_id}/{self.line_number}"
