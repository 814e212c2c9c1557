"""Contract types and the synchronized, read-only contracts of All contracts (SPEC §3.2–§3.3)."""

from django.db import models
from django.db.models import Q

from contracts.choices import AccountType, ContractFlowName, ContractStatus, RenewalType

from .base import LegalEntityScoped, TrackedModel


class ContractType(TrackedModel):
    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    flow = models.CharField(
        max_length=60,
        default=ContractFlowName.LIGHTWEIGHT,
        help_text="The registered flow that turns contracts of this type into their effects.",
    )
    is_active = models.BooleanField(default=True)
    needs_review = models.BooleanField(
        default=False, help_text="Created automatically for an unknown type; an admin should check it."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Contract(LegalEntityScoped):
    """A contract as the CLM last reported it. Only the integration changes it."""

    contract_id = models.CharField(max_length=60, help_text="The id as the CLM shows it to people.")
    external_contract_id = models.CharField(
        max_length=100, blank=True, help_text="The CLM's system-generated id, unique per connection."
    )
    connection = models.ForeignKey(
        "connectors.Connection", on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    contract_type = models.ForeignKey(ContractType, on_delete=models.PROTECT, related_name="contracts")
    status = models.CharField(max_length=40, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    name = models.CharField(max_length=255)
    effective_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True, help_text="Blank when open-ended.")

    requester_worker_name = models.CharField(max_length=200, blank=True)
    requester_worker_email = models.EmailField(blank=True)
    requester_worker = models.ForeignKey(
        "contracts.Worker", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    account_type = models.CharField(max_length=5, choices=AccountType.choices, default=AccountType.VENDOR)
    account_relation_id = models.CharField(max_length=20, blank=True)
    vendor = models.ForeignKey(
        "contracts.Vendor", on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    party_number = models.CharField(max_length=20, blank=True)
    party_name = models.CharField(max_length=200, blank=True)
    contact_person_id = models.CharField(max_length=20, blank=True)
    contact = models.ForeignKey(
        "contracts.ContactPerson",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The contact person that contact_person_id names, when it exists.",
    )

    latest_amendment_id = models.CharField(max_length=60, blank=True)
    latest_external_amendment_id = models.CharField(max_length=100, blank=True)
    amendment_in_process = models.BooleanField(default=False)

    value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.ForeignKey(
        "contracts.Currency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    renewal_type = models.CharField(max_length=20, choices=RenewalType.choices, blank=True)
    notice_period_days = models.PositiveIntegerField(null=True, blank=True)
    notice_date = models.DateField(null=True, blank=True)
    document_url = models.URLField(max_length=1000, blank=True)

    source_modified_at = models.DateTimeField(
        null=True, blank=True, help_text="The source's own last-modified stamp of the version stored here."
    )
    source_sequence = models.BigIntegerField(
        null=True, blank=True, help_text="The source's version number, where it has one; breaks ties."
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["legal_entity", "contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "contract_id"], name="contract_id_unique_per_le"),
            models.UniqueConstraint(
                fields=["connection", "external_contract_id"],
                condition=~Q(external_contract_id="") & Q(connection__isnull=False),
                name="contract_external_id_unique_per_connection",
            ),
            models.CheckConstraint(
                condition=Q(expiration_date__isnull=True)
                | Q(effective_date__isnull=True)
                | Q(expiration_date__gte=models.F("effective_date")),
                name="contract_expires_after_effective",
            ),
            models.CheckConstraint(condition=Q(status__in=ContractStatus.values), name="contract_status_valid"),
            models.CheckConstraint(
                condition=Q(account_type__in=AccountType.values), name="contract_account_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0), name="contract_value_not_negative"
            ),
        ]
        indexes = [
            # The filters of All contracts (SPEC §6.1), each led by the legal entity that
            # every query is scoped to.
            models.Index(fields=["legal_entity", "status"], name="contract_le_status"),
            models.Index(fields=["legal_entity", "contract_type"], name="contract_le_type"),
            models.Index(fields=["legal_entity", "expiration_date"], name="contract_le_expiration"),
            models.Index(fields=["legal_entity", "effective_date"], name="contract_le_effective"),
            models.Index(fields=["legal_entity", "account_relation_id"], name="contract_le_party"),
            models.Index(fields=["legal_entity", "amendment_in_process"], name="contract_le_amendment"),
            models.Index(fields=["vendor", "status"], name="contract_vendor_status"),
            models.Index(fields=["modified_at"], name="contract_modified"),
            # Sorting All contracts by title or by expiry: the first page reads the index in order
            # instead of sorting every visible contract (1.4 s at 1,000,000). The pk that breaks
            # ties is sorted within each run of equal values (incremental sort). Open-ended
            # contracts come last in both directions, so the latest expiry first needs an index
            # of its own, DESC NULLS LAST: migration 0006 makes it on PostgreSQL only, as SQLite
            # cannot declare one (and holds no list big enough to need it).
            models.Index(fields=["name"], name="contract_name"),
            models.Index(fields=["expiration_date"], name="contract_expiration"),
        ]

    def __str__(self):
        return f"{self.contract_id} {self.name}"

    @property
    def status_colour(self) -> str:
        return ContractStatus.colour(self.status)


class ContractStatusChange(models.Model):
    """One row per status transition: from, to, when and by which source."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=40, choices=ContractStatus.choices, blank=True)
    to_status = models.CharField(max_length=40, choices=ContractStatus.choices)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.CharField(max_length=200, blank=True)
    source_modified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contract", "changed_at", "id"]
        indexes = [
            models.Index(fields=["contract", "changed_at"], name="statuschange_contract_at"),
            # The dashboard's latest changes across contracts, newest first (scanned backwards).
            models.Index(fields=["changed_at", "id"], name="statuschange_latest"),
        ]

    def __str__(self):
        return f"{self.from_status or '—'} → {self.to_status}"
