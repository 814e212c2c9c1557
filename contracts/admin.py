"""Django admin for contracts, purchase agreements and master data (SPEC §7).

Read-mostly: contracts are view-only because only the integration changes them, and
purchase agreements are checked and written by ``contracts.services``, so a person in the
admin meets exactly the rules of the browser UI and the API (SPEC §6.4).
"""

from __future__ import annotations

import calendar
import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from connectors.flows.registry import flow_choices
from contracts import services
from contracts.choices import ActorKind, AuditAction
from contracts.forms import ServiceForm
from contracts.models import (
    CLM_OWNED_EDITABLE_HEADER_FIELDS,
    CLM_OWNED_EDITABLE_LINE_FIELDS,
    TRACKED_BY_MODEL,
    AgreementNumberSequence,
    ApiClient,
    AuditEntry,
    BuyerGroup,
    CashDiscount,
    ChangeLog,
    ContactPerson,
    Contract,
    ContractStatusChange,
    ContractType,
    Country,
    Currency,
    DeliveryTerms,
    IdempotencyRecord,
    LegalEntity,
    LegalEntityGrant,
    PaymentSchedule,
    PaymentTerms,
    ProcurementCategory,
    ProductVariant,
    Project,
    PurchaseAgreement,
    PurchaseAgreementClassification,
    PurchaseAgreementLine,
    ReleasedProduct,
    Site,
    UnitOfMeasure,
    Vendor,
    VendorPaymentMethod,
    Warehouse,
    Worker,
)
from contracts.services import Actor, audit
from contracts.services.agreements import LINE_INPUT_FIELDS

TRACKING_FIELDS = ("created_at", "modified_at", "changed_by")

def status_badge(label: str, colour: str):
    """A coloured dot followed by the status label, for lists and change pages. The colour
    comes from contracts/css/admin.css by class: the Content Security Policy allows no style attribute."""
    return format_html(
        '<span class="status-badge status-{}"><span class="status-dot">&#9679;</span> {}</span>', colour, label
    )


def become_saved(obj, saved) -> None:
    """The admin carries on with its own instance (log entry, redirect, inlines), so that
    instance must become the record the service saved."""
    obj.pk = saved.pk
    obj.refresh_from_db()


class AuditedAdmin(admin.ModelAdmin):
    """Appends an audit entry for each save and delete made here, as the signed-in person's.

    For records that no service audits; master data are left to their signals
    (contracts.signals), which audit every save of theirs wherever it comes from. The entry is
    written after the related objects (many-to-many, inlines), so that ``audit_related``
    sees them as saved.
    """

    def audit_related(self, obj) -> dict:
        """Related values shown in the entry besides the record's fields, e.g. its legal entities."""
        return {}

    def _audits(self, obj) -> bool:
        return type(obj) not in TRACKED_BY_MODEL

    def _audit_state(self, obj) -> dict:
        return {**audit.snapshot(obj), **self.audit_related(obj)}

    def save_model(self, request, obj, form, change):
        if self._audits(obj):
            stored = type(obj)._base_manager.filter(pk=obj.pk).first() if change else None
            obj._admin_audit_before = self._audit_state(stored) if stored is not None else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        before = getattr(obj, "_admin_audit_before", None)
        if before is None:
            return  # saved by a service, which wrote the entry
        del obj._admin_audit_before
        changes = audit.changes_between(type(obj), before, self._audit_state(obj))
        if changes or not change:
            action = AuditAction.UPDATED if change else AuditAction.CREATED
            audit.audit_record(actor=Actor.for_user(request.user), action=action, instance=obj, changes=changes)

    def delete_model(self, request, obj):
        if self._audits(obj):
            audit.audit_record(
                actor=Actor.for_user(request.user),
                action=AuditAction.DELETED,
                instance=obj,
                changes=audit.deleted_changes(obj),
            )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        if self._audits(queryset.model()):
            actor = Actor.for_user(request.user)
            audit.audit_record_many(
                audit.audit_entry(
                    actor=actor, action=AuditAction.DELETED, instance=obj, changes=audit.deleted_changes(obj)
                )
                for obj in queryset
            )
        super().delete_queryset(request, queryset)


class TrackedAdmin(AuditedAdmin):
    """Shows when and by whom a record was last changed, and records the admin user."""

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *TRACKING_FIELDS)

    def save_model(self, request, obj, form, change):
        obj.changed_by = Actor.for_user(request.user).label
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records only the integration writes: people may look, not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Master data (SPEC §3.1) ----------------------------------------------------------


@admin.register(LegalEntity)
class LegalEntityAdmin(TrackedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Country)
class CountryAdmin(TrackedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Currency)
class CurrencyAdmin(TrackedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(UnitOfMeasure)
class UnitOfMeasureAdmin(TrackedAdmin):
    list_display = ("symbol", "description")
    search_fields = ("symbol", "description")


@admin.register(ProcurementCategory)
class ProcurementCategoryAdmin(TrackedAdmin):
    list_display = ("name", "parent", "description")
    list_select_related = ("parent",)
    list_filter = (("parent", admin.EmptyFieldListFilter),)
    search_fields = ("name", "description")
    autocomplete_fields = ("parent",)


class LegalEntityScopedAdmin(TrackedAdmin):
    list_filter = ("legal_entity",)
    list_select_related = ("legal_entity",)


@admin.register(PaymentTerms)
class PaymentTermsAdmin(LegalEntityScopedAdmin):
    list_display = ("name", "legal_entity", "description", "net_days")
    search_fields = ("name", "description")


@admin.register(CashDiscount)
class CashDiscountAdmin(LegalEntityScopedAdmin):
    list_display = ("code", "legal_entity", "description", "discount_percentage", "days")
    search_fields = ("code", "description")


@admin.register(DeliveryTerms)
class DeliveryTermsAdmin(LegalEntityScopedAdmin):
    list_display = ("code", "legal_entity", "description")
    search_fields = ("code", "description")


@admin.register(VendorPaymentMethod)
class VendorPaymentMethodAdmin(LegalEntityScopedAdmin):
    list_display = ("name", "legal_entity", "description")
    search_fields = ("name", "description")


@admin.register(PaymentSchedule)
class PaymentScheduleAdmin(LegalEntityScopedAdmin):
    list_display = ("name", "legal_entity", "description")
    search_fields = ("name", "description")


@admin.register(Vendor)
class VendorAdmin(LegalEntityScopedAdmin):
    list_display = ("account_number", "name", "legal_entity", "party_number", "country", "currency", "blocked")
    list_select_related = ("legal_entity", "country", "currency")
    list_filter = ("legal_entity", "blocked", "currency")
    search_fields = ("account_number", "name", "party_number")
    autocomplete_fields = ("country",)


@admin.register(ContactPerson)
class ContactPersonAdmin(LegalEntityScopedAdmin):
    list_display = ("contact_person_id", "name", "email", "vendor", "legal_entity")
    list_select_related = ("legal_entity", "vendor")
    search_fields = ("contact_person_id", "name", "email", "vendor__account_number")
    autocomplete_fields = ("vendor",)


@admin.register(Worker)
class WorkerAdmin(LegalEntityScopedAdmin):
    list_display = ("personnel_number", "name", "email", "legal_entity")
    search_fields = ("personnel_number", "name", "email")


@admin.register(ReleasedProduct)
class ReleasedProductAdmin(LegalEntityScopedAdmin):
    list_display = ("item_number", "name", "legal_entity", "unit", "category")
    list_select_related = ("legal_entity", "unit", "category")
    search_fields = ("item_number", "name")
    autocomplete_fields = ("unit", "category")


@admin.register(ProductVariant)
class ProductVariantAdmin(LegalEntityScopedAdmin):
    list_display = ("variant_number", "name", "product", "legal_entity")
    list_select_related = ("legal_entity", "product")
    search_fields = ("variant_number", "name", "product__item_number")
    autocomplete_fields = ("product",)


@admin.register(Site)
class SiteAdmin(LegalEntityScopedAdmin):
    list_display = ("site_id", "name", "legal_entity")
    search_fields = ("site_id", "name")


@admin.register(Warehouse)
class WarehouseAdmin(LegalEntityScopedAdmin):
    list_display = ("warehouse_id", "name", "site", "legal_entity")
    list_select_related = ("legal_entity", "site")
    search_fields = ("warehouse_id", "name", "site__site_id")
    autocomplete_fields = ("site",)


@admin.register(Project)
class ProjectAdmin(LegalEntityScopedAdmin):
    list_display = ("project_id", "name", "legal_entity")
    search_fields = ("project_id", "name")


@admin.register(PurchaseAgreementClassification)
class PurchaseAgreementClassificationAdmin(LegalEntityScopedAdmin):
    list_display = ("name", "legal_entity", "description")
    search_fields = ("name", "description")


@admin.register(BuyerGroup)
class BuyerGroupAdmin(LegalEntityScopedAdmin):
    list_display = ("group_id", "legal_entity", "description")
    search_fields = ("group_id", "description")


@admin.register(LegalEntityGrant)
class LegalEntityGrantAdmin(AuditedAdmin):
    list_display = ("user", "legal_entity", "granted_at")
    list_select_related = ("user", "legal_entity")
    list_filter = ("legal_entity",)
    search_fields = ("user__username", "user__email", "legal_entity__code")
    autocomplete_fields = ("user",)


# --- Contract types and contracts (SPEC §3.2–§3.3) -----------------------------------


class ContractTypeForm(forms.ModelForm):
    # Callable choices: a flow registered after start-up is offered too.
    flow = forms.ChoiceField(choices=flow_choices, help_text=ContractType._meta.get_field("flow").help_text)

    class Meta:
        model = ContractType
        fields = ("name", "description", "flow", "is_active", "needs_review")


@admin.register(ContractType)
class ContractTypeAdmin(TrackedAdmin):
    form = ContractTypeForm
    list_display = ("name", "description", "flow", "is_active", "needs_review")
    list_filter = ("flow", "is_active", "needs_review")
    search_fields = ("name", "description")

    def get_readonly_fields(self, request, obj=None):
        # The CLM names a type by its name; renaming it here would make the CLM's next
        # push create a second type instead of updating this one.
        readonly = super().get_readonly_fields(request, obj)
        return ("name", *readonly) if obj else readonly


class ContractStatusChangeInline(ReadOnlyInline):
    model = ContractStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by", "source_modified_at")
    readonly_fields = fields
    verbose_name_plural = "status history"


class LinkedAgreementInline(ReadOnlyInline):
    model = PurchaseAgreement
    fk_name = "contract"
    fields = ("agreement_id", "legal_entity", "ownership", "status", "document_title")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "purchase agreements"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("legal_entity")


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = (
        "contract_id",
        "name",
        "contract_type",
        "status_badge",
        "party",
        "legal_entity",
        "effective_date",
        "expiration_date",
        "amendment_in_process",
        "connection",
    )
    list_select_related = ("legal_entity", "contract_type", "connection")
    list_filter = ("legal_entity", "status", "contract_type", "account_type", "amendment_in_process", "connection")
    search_fields = ("contract_id", "external_contract_id", "name", "party_name", "account_relation_id")
    # Sorted by the (legal entity, contract id) key index, not by a join, and no second
    # count of the unfiltered table: there may be a million contracts.
    ordering = ("legal_entity_id", "contract_id")
    show_full_result_count = False
    inlines = (ContractStatusChangeInline, LinkedAgreementInline)
    fieldsets = (
        (
            "Contract",
            {
                "fields": (
                    ("legal_entity", "contract_id"),
                    "external_contract_id",
                    "name",
                    "contract_type",
                    "status",
                    ("effective_date", "expiration_date"),
                    "document_url",
                )
            },
        ),
        (
            "Party",
            {
                "fields": (
                    ("account_type", "account_relation_id"),
                    "vendor",
                    ("party_number", "party_name"),
                    ("contact_person_id", "contact"),
                    ("requester_worker_name", "requester_worker_email"),
                    "requester_worker",
                )
            },
        ),
        (
            "Amendments",
            {"fields": ("latest_amendment_id", "latest_external_amendment_id", "amendment_in_process")},
        ),
        (
            "Value and renewal",
            {"fields": (("value", "currency"), "renewal_type", ("notice_period_days", "notice_date"))},
        ),
        (
            "Synchronization",
            {"fields": ("connection", "source_modified_at", "source_sequence", "last_synced_at", *TRACKING_FIELDS)},
        ),
    )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, contract):
        return status_badge(contract.get_status_display(), contract.status_colour)

    @admin.display(description="Vendor/party", ordering="account_relation_id")
    def party(self, contract):
        return f"{contract.account_relation_id} {contract.party_name}".strip()


@admin.register(ContractStatusChange)
class ContractStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("contract", "from_status", "to_status", "changed_at", "changed_by", "source_modified_at")
    list_select_related = ("contract",)
    list_filter = ("to_status", "from_status")
    search_fields = ("contract__contract_id", "changed_by")
    ordering = ("-id",)
    show_full_result_count = False


# --- Purchase agreements (SPEC §3.4, §6.4) --------------------------------------------


class PurchaseAgreementForm(ServiceForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "agreement_id" in self.fields:
            self.fields["agreement_id"].required = False
            self.fields["agreement_id"].help_text = "Leave blank to number it from the legal entity's sequence."

    def service_data(self) -> dict:
        data = {}
        for name in self.changed_data:
            value = self.cleaned_data[name]
            if name != "legal_entity":  # the service takes it as an argument of its own
                data[name] = value
        return data

    def check_with_service(self, data: dict) -> None:
        if self.instance.pk is None:
            services.agreement_prepare(legal_entity=self.cleaned_data["legal_entity"], data=data, actor=self.actor)
        else:
            services.agreement_prepare(
                legal_entity=self.instance.legal_entity, data=data, actor=self.actor, agreement=self.instance
            )


class PurchaseAgreementLineForm(ServiceForm):
    agreement: PurchaseAgreement | None = None  # the parent, set with ``actor``

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "line_number" in self.fields and self.instance.pk is None:
            self.fields["line_number"].required = False
            self.fields["line_number"].help_text = "Leave blank for the next number."

    def service_data(self) -> dict:
        # The formset's own fields (id, agreement, DELETE) are not line input.
        return {name: self.cleaned_data[name] for name in self.changed_data if name in LINE_INPUT_FIELDS}

    def check_with_service(self, data: dict) -> None:
        line = self.instance if self.instance.pk else None
        services.line_prepare(agreement=self.agreement, data=data, actor=self.actor, line=line)


class PurchaseAgreementLineInline(admin.StackedInline):
    model = PurchaseAgreementLine
    form = PurchaseAgreementLineForm
    extra = 0
    autocomplete_fields = (
        "product",
        "product_variant",
        "category",
        "project",
        "receiving_site",
        "receiving_warehouse",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("line_number", "external_contract_line_id"),
                    ("commitment_type", "committed_quantity", "committed_amount"),
                    ("effective_date", "expiration_date"),
                    ("product", "product_variant"),
                    ("category", "unit"),
                    ("price", "price_quantity"),
                    ("line_discount_amount", "line_discount_percentage"),
                    ("minimum_release_amount", "maximum_release_amount"),
                    ("is_commitment_maximum_enforced", "is_price_and_discount_fixed"),
                    ("project", "project_category_id", "project_activity_number"),
                    ("receiving_site", "receiving_warehouse"),
                    "financial_dimensions",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "product", "product_variant", "category", "unit", "project", "receiving_site", "receiving_warehouse"
            )
        )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.actor = Actor.for_user(request.user)
        formset.form.agreement = obj
        return formset

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_clm_owned:
            return [name for name in flatten_fieldsets(self.fieldsets) if name not in CLM_OWNED_EDITABLE_LINE_FIELDS]
        return super().get_readonly_fields(request, obj)

    # The CLM is the master of a CLM-owned agreement's lines (SPEC §6.4).
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_clm_owned)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_clm_owned)


# Set by the integration (the flow, the CLM), never typed in the admin.
INTEGRATION_HEADER_FIELDS = ("ownership", "contract", "contract_status", "external_contract_id", "amendment_in_process")


@admin.register(PurchaseAgreement)
class PurchaseAgreementAdmin(admin.ModelAdmin):
    form = PurchaseAgreementForm
    inlines = (PurchaseAgreementLineInline,)
    list_display = (
        "agreement_id",
        "document_title",
        "legal_entity",
        "ownership",
        "status",
        "vendor",
        "linked_contract_id",
        "contract_status",
        "default_effective_date",
        "default_expiration_date",
    )
    list_select_related = ("legal_entity", "vendor", "contract")
    list_filter = ("legal_entity", "ownership", "status", "amendment_in_process", "default_commitment_type")
    search_fields = (
        "agreement_id",
        "document_title",
        "external_contract_id",
        "vendor_reference",
        "vendor__account_number",
        "vendor__name",
        "contract__contract_id",
    )
    ordering = ("legal_entity_id", "agreement_id")
    show_full_result_count = False
    autocomplete_fields = (
        "vendor",
        "invoice_vendor",
        "contact_person",
        "primary_responsible_worker",
        "secondary_responsible_worker",
        "project",
    )
    fieldsets = (
        (
            "Agreement",
            {
                "fields": (
                    ("legal_entity", "agreement_id"),
                    "document_title",
                    "classification",
                    "status",
                    ("default_effective_date", "default_expiration_date"),
                    "default_commitment_type",
                )
            },
        ),
        ("Contract", {"fields": INTEGRATION_HEADER_FIELDS}),
        (
            "Vendor",
            {
                "fields": (
                    "vendor",
                    "invoice_vendor",
                    "vendor_reference",
                    "contact_person",
                    "currency",
                    "payment_terms",
                    "cash_discount",
                )
            },
        ),
        (
            "Responsibility",
            {"fields": ("primary_responsible_worker", "secondary_responsible_worker", "buyer_group", "project")},
        ),
        (
            "Delivery and invoicing",
            {
                "fields": (
                    "external_document_reference",
                    "line_matching_policy",
                    "delivery_address",
                    "payment_specification",
                    "charges_group",
                    "mode_of_delivery",
                    "pool",
                    ("shipping_carrier", "carrier_service", "carrier_group"),
                    "transport_mode",
                    "route_plan",
                    "transportation_template",
                    "financial_dimensions",
                )
            },
        ),
        ("Change tracking", {"fields": TRACKING_FIELDS}),
    )

    @admin.display(description="Contract ID", ordering="contract__contract_id")
    def linked_contract_id(self, agreement):
        return agreement.contract.contract_id if agreement.contract else ""

    @admin.display(description="Contract status", ordering="contract__status")
    def contract_status(self, agreement):
        contract = agreement.contract
        return status_badge(contract.get_status_display(), contract.status_colour) if contract else ""

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return (*INTEGRATION_HEADER_FIELDS, *TRACKING_FIELDS)
        if obj.is_clm_owned:
            fields = flatten_fieldsets(self.fieldsets)
            return [name for name in fields if name not in CLM_OWNED_EDITABLE_HEADER_FIELDS]
        return ("legal_entity", "agreement_id", *INTEGRATION_HEADER_FIELDS, *TRACKING_FIELDS)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = Actor.for_user(request.user)
        return form

    def get_inline_instances(self, request, obj=None):
        # Lines are added once the header exists: their rules depend on it.
        return super().get_inline_instances(request, obj) if obj else []

    def has_delete_permission(self, request, obj=None):
        # Also asked per selected row by the bulk delete action, which then refuses them all.
        return super().has_delete_permission(request, obj) and not (obj and obj.is_clm_owned)

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return  # only the lines were touched, if anything
        actor = Actor.for_user(request.user)
        if change:
            saved = services.agreement_update(agreement=obj, data=form.service_data(), actor=actor)
        else:
            saved = services.agreement_create(
                legal_entity=form.cleaned_data["legal_entity"], data=form.service_data(), actor=actor
            )
        become_saved(obj, saved)

    def save_formset(self, request, form, formset, change):
        actor = Actor.for_user(request.user)
        formset.save(commit=False)  # writes nothing; fills new/changed/deleted_objects for the history message
        for line in formset.deleted_objects:
            services.line_delete(line=line, actor=actor)
        deleted_forms = formset.deleted_forms
        for line_form in formset.forms:
            if line_form in deleted_forms or not line_form.has_changed():
                continue
            line = line_form.instance
            if line.pk is None:
                saved = services.line_create(agreement=formset.instance, data=line_form.service_data(), actor=actor)
            else:
                saved = services.line_update(line=line, data=line_form.service_data(), actor=actor)
            become_saved(line, saved)

    def delete_model(self, request, obj):
        services.agreement_delete(agreement=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        actor = Actor.for_user(request.user)
        for agreement in queryset:
            services.agreement_delete(agreement=agreement, actor=actor)


@admin.register(AgreementNumberSequence)
class AgreementNumberSequenceAdmin(AuditedAdmin):
    list_display = ("legal_entity", "prefix", "next_number", "width")
    list_select_related = ("legal_entity",)


# --- API clients (SPEC §2, §8.1) ----------------------------------------------------------


def show_key_once(request, client: ApiClient, key: str) -> None:
    """The only time a key is shown: it is stored as a hash and cannot be read back."""
    messages.warning(
        request,
        format_html(
            "API key for <strong>{}</strong>: <code>{}</code> — copy it now; it will not be shown again.",
            client.name,
            key,
        ),
    )


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdmin):
    list_display = (
        "name",
        "key_prefix",
        "role",
        "entities",
        "is_active",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("role", "is_active", "cross_company", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "key_prefix")
    filter_horizontal = ("legal_entities",)
    fields = (
        "name",
        "role",
        "legal_entities",
        "cross_company",
        "connection",
        "is_active",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("key_prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("rotate_keys", "revoke_keys")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("legal_entities")

    def audit_related(self, obj) -> dict:
        return {"legal_entities": sorted(entity.code for entity in obj.legal_entities.all())}

    @admin.display(description="Legal entities")
    def entities(self, client):
        if client.cross_company:
            return "All (cross-company)"
        return ", ".join(entity.code for entity in client.legal_entities.all()) or "—"

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        client, key = services.api_client_create(
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            legal_entities=form.cleaned_data["legal_entities"],
            cross_company=form.cleaned_data["cross_company"],
            connection=form.cleaned_data["connection"],
            actor=Actor.for_user(request.user),
        )
        if not form.cleaned_data["is_active"]:
            ApiClient.objects.filter(pk=client.pk).update(is_active=False)
        become_saved(obj, client)
        show_key_once(request, client, key)

    @admin.action(description="Rotate the key of the selected clients (shows each new key once)")
    def rotate_keys(self, request, queryset):
        actor = Actor.for_user(request.user)
        for client in queryset:
            show_key_once(request, client, services.api_client_rotate_key(client=client, actor=actor))

    @admin.action(description="Revoke the key of the selected clients")
    def revoke_keys(self, request, queryset):
        actor = Actor.for_user(request.user)
        for client in queryset:
            services.api_client_revoke(client=client, actor=actor)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


# --- Integration bookkeeping (read-only) -------------------------------------------------


@admin.register(ChangeLog)
class ChangeLogAdmin(ReadOnlyAdmin):
    """The master-data change log behind ``changed_since`` (SPEC §8.4)."""

    list_display = ("id", "entity", "legal_entity", "natural_key", "operation", "changed_at")
    list_filter = ("entity", "operation", "legal_entity")
    list_select_related = ("legal_entity",)
    search_fields = ("natural_key",)
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    """First answers to POSTs sent with an Idempotency-Key, replayed on a repeat."""

    list_display = ("key", "api_client", "user", "method", "path", "response_status", "created_at")
    list_filter = ("method", "response_status")
    list_select_related = ("api_client", "user")
    search_fields = ("key", "path")
    ordering = ("-created_at",)
    exclude = ("response_body",)


# --- Audit log (docs/architecture.md, "Audit log") ------------------------------------------


class NoCountPaginator(Paginator):
    """Pages a list too long to count: reads the page asked for and one row more, so it
    knows whether an older page exists, and never runs COUNT(*) over millions of rows.

    ``count`` is the rows up to that extra one, enough for the admin to page; the list's
    template shows Newer/Older links instead of page numbers and a total.
    """

    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(page_number, 1)

    @cached_property
    def _window(self) -> tuple[int, list]:
        offset = (self.page_number - 1) * self.per_page
        return offset, list(self.object_list[offset : offset + self.per_page + 1])

    @cached_property
    def count(self) -> int:
        offset, rows = self._window
        return offset + len(rows)

    def page(self, number):
        number = self.validate_number(number)
        if number != self.page_number:
            return super().page(number)
        return self._get_page(self._window[1][: self.per_page], number, self)


class AuditChangeList(ChangeList):
    """The audit list's paging and date drill-down, both without scanning the table."""

    def get_results(self, request):
        super().get_results(request)
        if not self.multi_page:
            # The paginator has read this page's rows already; the admin would read them again.
            self.result_list = self.paginator.page(self.page_num).object_list

    @property
    def newer_url(self) -> str | None:
        return self.get_query_string({"p": self.page_num - 1}) if self.page_num > 1 else None

    @property
    def older_url(self) -> str | None:
        more = self.result_count > self.page_num * self.list_per_page
        return self.get_query_string({"p": self.page_num + 1}) if more else None

    def date_choices(self) -> dict:
        """Django's date hierarchy lists the years, months and days that have entries with a
        DISTINCT over every row; this offers the calendar between the first and last entry
        instead (two index lookups), so a period may turn out empty."""
        lookups = [self.params.get(f"at__{part}") for part in ("year", "month", "day")]
        try:
            year, month, day = (int(value) if value else None for value in lookups)
        except ValueError:
            return {"show": False}

        def link(**parts) -> str:
            return self.get_query_string({f"at__{name}": value for name, value in parts.items()}, ["at__"])

        if year and month and day:
            title = datetime.date(year, month, day).strftime("%B %-d, %Y")
            back = {"link": link(year=year, month=month), "title": datetime.date(year, month, 1).strftime("%B %Y")}
            return {"show": True, "back": back, "choices": [{"title": title}]}
        if year and month:
            days = range(1, calendar.monthrange(year, month)[1] + 1)
            choices = [{"link": link(year=year, month=month, day=number), "title": str(number)} for number in days]
            return {"show": True, "back": {"link": link(year=year), "title": str(year)}, "choices": choices}
        if year:
            choices = [
                {"link": link(year=year, month=number), "title": datetime.date(year, number, 1).strftime("%B %Y")}
                for number in range(1, 13)
            ]
            return {"show": True, "back": {"link": link(), "title": "All dates"}, "choices": choices}
        if self.page_num == 1 and not self.result_list:
            return {"show": False}  # nothing to drill into, and no need to look for the span
        span = self.queryset.aggregate(first=Min("at"), last=Max("at"))
        if span["first"] is None:
            return {"show": False}
        first, last = (timezone.localtime(span[name]).year for name in ("first", "last"))
        choices = [{"link": link(year=number), "title": str(number)} for number in range(last, first - 1, -1)]
        return {"show": True, "back": None, "choices": choices}


class ObjectTypeFilter(admin.SimpleListFilter):
    """The kinds of record that can appear, from the models themselves: asking the table
    for its distinct types would read every row."""

    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        models = [model for model in admin.site._registry if model is not AuditEntry]
        return sorted(
            ((model._meta.label_lower, model._meta.verbose_name.capitalize()) for model in models),
            key=lambda choice: choice[1],
        )

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Every change by a person, an API client or a connector; append-only, so read-only
    here for everyone. Built for millions of rows: no count, exact search by index."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "object_repr", "legal_entity")
    list_select_related = ("legal_entity",)
    list_filter = ("actor_kind", "action", ObjectTypeFilter, "legal_entity")
    date_hierarchy = "at"
    search_fields = ("actor_name", "object_id")
    search_help_text = "An actor's name (e.g. alice) or an object's id, exactly as shown."
    ordering = ("-at", "-id")
    sortable_by = ()
    show_full_result_count = False
    list_max_show_all = 0  # "Show all" would read every row
    fields = (
        "at",
        ("actor_kind", "actor_name"),
        "action",
        ("object_type", "object_id"),
        "object_repr",
        "legal_entity",
        "changes_table",
    )
    readonly_fields = flatten_fieldsets([(None, {"fields": fields})])

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get("p", 1))
        except ValueError:
            page_number = 1
        return NoCountPaginator(queryset, per_page, page_number=page_number, orphans=orphans)

    def get_search_results(self, request, queryset, search_term):
        """Entries of the actor or the object named exactly, so that an index answers (a
        LIKE '%…%' would read every row). An OR of both would make PostgreSQL walk the
        whole list for a rare term; usually only one side exists, and then it is asked alone."""
        term = search_term.strip()
        if not term:
            return queryset, False
        by_actor, by_object = queryset.filter(actor_name=term), queryset.filter(object_id=term)
        actor_exists, object_exists = by_actor.exists(), by_object.exists()
        if actor_exists and object_exists:
            either = by_actor.order_by().values("pk").union(by_object.order_by().values("pk"))
            return queryset.filter(pk__in=either), False
        return (by_actor if actor_exists else by_object), False

    @admin.display(description="Actor", ordering="actor_name")
    def actor(self, entry):
        kind = ActorKind(entry.actor_kind).label if entry.actor_kind in ActorKind.values else entry.actor_kind
        return f"{kind}: {entry.actor_name}"

    @admin.display(description="Changes")
    def changes_table(self, entry):
        if not entry.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((name, _shown_value(values, 0), _shown_value(values, 1)) for name, values in entry.changes.items()),
        )
        return format_html(
            '<table class="audit-changes"><thead><tr><th>Field</th><th>Old</th><th>New</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )


def _shown_value(values, index: int) -> str:
    value = values[index] if isinstance(values, list) and len(values) > index else values
    return "—" if value in (None, "", []) else str(value)
