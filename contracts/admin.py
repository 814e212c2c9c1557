"""Django admin for contracts, purchase agreements and master data (SPEC §7).

Read-mostly: contracts are view-only because only the integration changes them, and
purchase agreements are checked and written by ``contracts.services``, so a person in the
admin meets exactly the rules of the browser UI and the API (SPEC §6.4).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.html import format_html

from connectors.flows.registry import flow_choices
from contracts import services
from contracts.forms import ServiceForm
from contracts.models import (
    CLM_OWNED_EDITABLE_HEADER_FIELDS,
    CLM_OWNED_EDITABLE_LINE_FIELDS,
    AgreementNumberSequence,
    ApiClient,
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
from contracts.services import Actor
from contracts.services.agreements import LINE_INPUT_FIELDS

TRACKING_FIELDS = ("created_at", "modified_at", "changed_by")

# The colour names of ``ContractStatus.colour`` (and of other statuses) as the admin paints them.
BADGE_COLOURS = {
    "grey": "#6c757d",
    "amber": "#d39e00",
    "teal": "#20a39e",
    "red": "#c62828",
    "blue": "#1e66c9",
    "green": "#2e7d32",
    "dark": "#343a40",
    "purple": "#6f42c1",
}


def status_badge(label: str, colour: str):
    """A coloured dot followed by the status label, for lists and change pages."""
    return format_html(
        '<span class="status-badge status-{}"><span style="color: {}">&#9679;</span> {}</span>',
        colour,
        BADGE_COLOURS.get(colour, BADGE_COLOURS["grey"]),
        label,
    )


def become_saved(obj, saved) -> None:
    """The admin carries on with its own instance (log entry, redirect, inlines), so that
    instance must become the record the service saved."""
    obj.pk = saved.pk
    obj.refresh_from_db()


class TrackedAdmin(admin.ModelAdmin):
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
class LegalEntityGrantAdmin(admin.ModelAdmin):
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
class AgreementNumberSequenceAdmin(admin.ModelAdmin):
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
class ApiClientAdmin(admin.ModelAdmin):
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
