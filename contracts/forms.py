"""Forms of the browser UI and the admin. Their rules are the services' (STYLE.md).

A form only translates: it turns what a person typed into a service's input, asks the
service to check it (saving nothing), and shows every problem the service finds under the
field it names. Saving goes through the same service, as the person (``Actor.for_user``).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.forms.boundfield import BoundField
from django.utils.formats import date_format
from django.utils.text import capfirst

from contracts import services
from contracts.choices import AgreementStatus, CommitmentType, LineMatchingPolicy
from contracts.filtersets import DateInput
from contracts.models import (
    CLM_OWNED_EDITABLE_HEADER_FIELDS,
    CLM_OWNED_EDITABLE_LINE_FIELDS,
    BuyerGroup,
    CashDiscount,
    ContactPerson,
    Currency,
    LegalEntity,
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
    Warehouse,
    Worker,
)
from contracts.services import Actor, ValidationFailed
from contracts.services.agreements import HEADER_REFERENCES, LINE_REFERENCES, WORKER

# --- A service's problems on a form ---------------------------------------------------


def show_problems_on_form(form: forms.BaseForm, failure: ValidationFailed, aliases: Mapping[str, str]) -> None:
    """Shows a service's problems on a form: each under the field it names when the form
    has that field (``aliases`` maps service input names to form fields), otherwise above
    the form, prefixed with the field's name."""
    for problem in failure.problems:
        name = aliases.get(problem.field, problem.field)
        if name in form.fields:
            form.add_error(name, problem.message)
        else:
            form.add_error(None, f"{_field_label(form, name)}: {problem.message}")


def _field_label(form: forms.BaseForm, name: str) -> str:
    model = getattr(getattr(form, "_meta", None), "model", None) or getattr(form, "model", None)
    try:
        return capfirst(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return capfirst(name.replace("_", " "))


class ServiceCheckedMixin:
    """``clean`` asks the service to check the form's input (saving nothing) and shows its
    problems on the form. Subclasses say what the input is and which service checks it."""

    actor: Actor | None = None
    # Service input names that are not form field names.
    problem_fields: Mapping[str, str] = {}

    def service_data(self) -> dict:
        raise NotImplementedError

    def check_with_service(self, data: dict) -> None:
        raise NotImplementedError

    def needs_service_check(self) -> bool:
        # Values the fields already refused would only confuse the service; an untouched
        # form or a line marked for deletion has nothing to check.
        return not self.errors and self.has_changed() and not self.cleaned_data.get("DELETE")

    def clean(self):
        cleaned_data = super().clean()
        if self.needs_service_check():
            try:
                self.check_with_service(self.service_data())
            except ValidationFailed as failure:
                show_problems_on_form(self, failure, self.problem_fields)
        return cleaned_data


class ServiceForm(ServiceCheckedMixin, forms.ModelForm):
    """A model form whose rules are a service's; the admin saves through the service with
    ``service_data()``. The admin sets ``actor`` per request on the form class it builds."""


# --- Purchase agreements in the browser UI (SPEC §3.4, §6.3, §6.4) --------------------


class ServiceBoundField(BoundField):
    """A field that knows whether the person may change it, and how its value reads when not."""

    @property
    def read_only(self) -> bool:
        return self.name in self.form.read_only

    @property
    def display_value(self) -> str:
        return self.form.display_value(self.name)

    @property
    def datalist(self) -> list[tuple[str, str]]:
        return self.form.datalists.get(self.name, [])


def text_field(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, widget=forms.TextInput(attrs=attrs))


def choice_field(label: str, choices=(), help_text: str = "", *, blank: str = "—") -> forms.CharField:
    """A select whose value goes to the service as typed: the service, not the form, says
    when a value names nothing (a crafted request, or a record deleted meanwhile)."""
    options = [("", blank), *choices] if blank is not None else list(choices)
    return forms.CharField(label=label, required=False, help_text=help_text, widget=forms.Select(choices=options))


def date_field(label: str) -> forms.CharField:
    return forms.CharField(label=label, required=False, widget=DateInput)


def number_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class AgreementServiceForm(ServiceCheckedMixin, forms.Form):
    """A form whose fields are named after a service's input, so that every problem the
    service reports lands on its field.

    Fields are text (or selects of text) and go to the service unconverted, so the service
    is the one place that parses, resolves references and checks. ``read_only`` fields are
    shown but not offered for change; a crafted request that sends one anyway passes it on,
    and the service refuses it when it is protected.
    """

    model: type[Model]
    bound_field_class = ServiceBoundField
    fieldsets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    datalist_fields: tuple[str, ...] = ()
    key_field: str  # a stored record's key: shown, never changed
    clm_owned_editable: tuple[str, ...]  # what people may still change when the CLM owns the agreement
    references: Mapping[str, services.agreements.Reference]  # fields that name a record by natural key

    def __init__(self, *args, actor: Actor, instance: Model | None, clm_owned: bool, **kwargs):
        read_only = set()
        if instance is not None:
            read_only.add(self.key_field)
            if clm_owned:
                read_only.update(name for name in self.base_fields if name not in self.clm_owned_editable)
            kwargs["initial"] = natural_key_initial(instance, self.base_fields, self.references)
        super().__init__(*args, **kwargs)
        self.actor, self.instance, self.read_only = actor, instance, frozenset(read_only)
        self.datalists: dict[str, list[tuple[str, str]]] = {}
        for name in self.datalist_fields:
            self.fields[name].widget.attrs["list"] = f"{self[name].auto_id}-options"

    @property
    def creating(self) -> bool:
        return self.instance is None

    def editable(self, name: str) -> bool:
        return name not in self.read_only

    def needs_service_check(self) -> bool:
        return not self.errors  # an unchanged form is checked too: saving it must not fail

    def service_data(self) -> dict[str, Any]:
        """What the person sent, as the service's input. A new record leaves blank fields
        out, so that the service's defaults apply (the vendor's currency, the next number)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if name in self.read_only and name not in self.data:
                continue  # shown, not sent: unchanged
            if self.creating and value in ("", None, False):
                continue
            data[name] = value
        return data

    def save(self):
        """Writes through the service; raises ``ValidationFailed`` if the rules refuse it now."""
        raise NotImplementedError

    def offer(self, options: Mapping[str, Callable[[], list[tuple[str, str]]]]) -> None:
        """Fills the options of the fields the person may change (read-only ones need none),
        as a select's choices or as suggestions (a datalist) for a typed natural key."""
        for name, build in options.items():
            if not self.editable(name):
                continue
            if name in self.datalist_fields:
                self.datalists[name] = build()
            else:
                self.fields[name].widget.choices = [("", "—"), *build()]

    def fieldset_rows(self) -> list[tuple[str, list[BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldsets]

    def display_value(self, name: str) -> str:
        """How a read-only field's stored value reads on the page."""
        value = getattr(self.instance, name, None) if self.instance is not None else None
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, datetime.date):
            return date_format(value, "j M Y")
        if isinstance(value, Decimal):
            return f"{value.normalize():f}"
        choices = dict(self.model._meta.get_field(name).flatchoices)
        return str(choices.get(value, value))


def natural_key_initial(instance: Model, fields, references: Mapping[str, services.agreements.Reference]) -> dict:
    """A form's initial values from a stored record: plain values as stored, references by
    their natural key (what the service takes)."""
    initial = {}
    for name in fields:
        value = getattr(instance, name)
        if name in references:
            value = getattr(value, references[name].key) if value is not None else ""
        initial[name] = "" if value is None else value
    return initial


def _options(queryset, key: str, label: Callable[[Any], str]) -> list[tuple[str, str]]:
    return [(getattr(record, key), label(record)) for record in queryset]


def _described(record, key: str) -> str:
    code = getattr(record, key)
    return f"{code} — {record.description}" if record.description else code


HEADER_FORM_REFERENCES = {
    **HEADER_REFERENCES,
    "primary_responsible_worker": WORKER,
    "secondary_responsible_worker": WORKER,
}


class AgreementForm(AgreementServiceForm):
    """A purchase agreement's header, new or stored, in one legal entity. On a CLM-owned
    agreement only the fields of SPEC §6.4 are offered for change; the agreement id is the
    key of a stored agreement and stays as it is."""

    model = PurchaseAgreement
    fieldsets = (
        (
            "Agreement",
            (
                "agreement_id",
                "document_title",
                "classification",
                "status",
                "default_effective_date",
                "default_expiration_date",
                "default_commitment_type",
            ),
        ),
        (
            "Vendor",
            (
                "vendor",
                "invoice_vendor",
                "vendor_reference",
                "contact_person",
                "currency",
                "payment_terms",
                "cash_discount",
            ),
        ),
        ("Responsibility", ("primary_responsible_worker", "secondary_responsible_worker", "buyer_group", "project")),
        (
            "Delivery and invoicing",
            (
                "external_document_reference",
                "line_matching_policy",
                "delivery_address",
                "payment_specification",
                "charges_group",
                "mode_of_delivery",
                "pool",
                "shipping_carrier",
                "carrier_service",
                "carrier_group",
                "transport_mode",
                "route_plan",
                "transportation_template",
                "financial_dimensions",
            ),
        ),
    )
    datalist_fields = ("vendor", "invoice_vendor", "contact_person")
    key_field = "agreement_id"
    clm_owned_editable = CLM_OWNED_EDITABLE_HEADER_FIELDS
    references = HEADER_FORM_REFERENCES

    agreement_id = text_field("Agreement ID", "Leave blank to number it from the legal entity's sequence.")
    document_title = text_field("Title")
    classification = choice_field("Classification")
    status = choice_field("Status", AgreementStatus.choices, blank=None)
    default_effective_date = date_field("Effective date")
    default_expiration_date = date_field("Expiration date")
    default_commitment_type = choice_field(
        "Default commitment type", CommitmentType.choices, "New lines start with it.", blank=None
    )
    vendor = text_field("Vendor account", "The vendor's account number, e.g. V-1001.", autocomplete="off")
    invoice_vendor = text_field("Invoice account", "Blank: the vendor itself.", autocomplete="off")
    vendor_reference = text_field("Vendor reference")
    contact_person = text_field("Contact person", "The ID of one of the vendor's contacts.", autocomplete="off")
    currency = choice_field("Currency", help_text="Blank: the vendor's currency.")
    payment_terms = choice_field("Payment terms", help_text="Blank: the vendor's payment terms.")
    cash_discount = choice_field("Cash discount")
    primary_responsible_worker = choice_field("Primary responsible")
    secondary_responsible_worker = choice_field("Secondary responsible")
    buyer_group = choice_field("Buyer group")
    project = choice_field("Project")
    external_document_reference = text_field("External document reference")
    line_matching_policy = choice_field("Line matching policy", LineMatchingPolicy.choices)
    delivery_address = forms.CharField(
        label="Delivery address", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    payment_specification = text_field("Payment specification")
    charges_group = text_field("Charges group")
    mode_of_delivery = text_field("Mode of delivery")
    pool = text_field("Pool")
    shipping_carrier = text_field("Shipping carrier")
    carrier_service = text_field("Carrier service")
    carrier_group = text_field("Carrier group")
    transport_mode = text_field("Mode")
    route_plan = text_field("Route plan")
    transportation_template = text_field("Transportation template")
    financial_dimensions = text_field("Financial dimensions", "e.g. BusinessUnit-CostCenter-Department.")

    def __init__(self, *args, legal_entity: LegalEntity, agreement: PurchaseAgreement | None = None, **kwargs):
        if agreement is None:
            kwargs.setdefault("initial", {"status": AgreementStatus.ON_HOLD})
        clm_owned = agreement is not None and agreement.is_clm_owned
        super().__init__(*args, instance=agreement, clm_owned=clm_owned, **kwargs)
        self.legal_entity = legal_entity
        in_entity = {"legal_entity": legal_entity}
        vendors = functools.cache(
            lambda: _options(Vendor.objects.filter(**in_entity, blocked=False), "account_number", lambda v: v.name)
        )
        workers = functools.cache(
            lambda: _options(
                Worker.objects.filter(**in_entity).order_by("name"),
                "personnel_number",
                lambda w: f"{w.name} ({w.personnel_number})",
            )
        )
        self.offer(
            {
                "classification": lambda: _options(
                    PurchaseAgreementClassification.objects.filter(**in_entity), "name", lambda c: _described(c, "name")
                ),
                "vendor": vendors,
                "invoice_vendor": vendors,
                "contact_person": lambda: _options(
                    ContactPerson.objects.filter(**in_entity).select_related("vendor"),
                    "contact_person_id",
                    lambda c: f"{c.name} ({c.vendor.account_number})",
                ),
                "currency": lambda: _options(Currency.objects.all(), "code", lambda c: f"{c.code} {c.name}"),
                "payment_terms": lambda: _options(
                    PaymentTerms.objects.filter(**in_entity), "name", lambda t: _described(t, "name")
                ),
                "cash_discount": lambda: _options(
                    CashDiscount.objects.filter(**in_entity), "code", lambda d: _described(d, "code")
                ),
                "primary_responsible_worker": workers,
                "secondary_responsible_worker": workers,
                "buyer_group": lambda: _options(
                    BuyerGroup.objects.filter(**in_entity), "group_id", lambda g: _described(g, "group_id")
                ),
                "project": lambda: _options(
                    Project.objects.filter(**in_entity), "project_id", lambda p: f"{p.project_id} {p.name}"
                ),
            }
        )

    def check_with_service(self, data: dict) -> None:
        services.agreement_prepare(legal_entity=self.legal_entity, data=data, actor=self.actor, agreement=self.instance)

    def save(self) -> PurchaseAgreement:
        if self.creating:
            return services.agreement_create(legal_entity=self.legal_entity, data=self.service_data(), actor=self.actor)
        return services.agreement_update(agreement=self.instance, data=self.service_data(), actor=self.actor)


class AgreementLineForm(AgreementServiceForm):
    """One line of a purchase agreement, new or stored. On a CLM-owned agreement only the
    line's financial dimensions are offered for change (SPEC §6.4); the line number is the
    key of a stored line and stays as it is."""

    model = PurchaseAgreementLine
    fieldsets = (
        (
            "Commitment",
            (
                "line_number",
                "commitment_type",
                "committed_quantity",
                "committed_amount",
                "effective_date",
                "expiration_date",
            ),
        ),
        ("Product", ("product", "product_variant", "category", "unit")),
        (
            "Price and release",
            (
                "price",
                "price_quantity",
                "line_discount_amount",
                "line_discount_percentage",
                "minimum_release_amount",
                "maximum_release_amount",
                "is_commitment_maximum_enforced",
                "is_price_and_discount_fixed",
            ),
        ),
        (
            "Project and delivery",
            (
                "project",
                "project_category_id",
                "project_activity_number",
                "receiving_site",
                "receiving_warehouse",
                "financial_dimensions",
            ),
        ),
    )
    datalist_fields = ("product", "product_variant")
    key_field = "line_number"
    clm_owned_editable = CLM_OWNED_EDITABLE_LINE_FIELDS
    references = LINE_REFERENCES

    line_number = number_field("Line number", "Leave blank for the next number.")
    commitment_type = choice_field("Commitment type", CommitmentType.choices, blank=None)
    committed_quantity = number_field("Committed quantity", "Product quantity commitments.")
    committed_amount = number_field("Committed amount", "Value commitments (the other three types).")
    effective_date = date_field("Effective date")
    expiration_date = date_field("Expiration date")
    product = text_field("Item number", "Required for product quantity and product value commitments.")
    product_variant = text_field("Variant number")
    category = choice_field(
        "Procurement category", help_text="Required for category commitments; a root one for value commitments."
    )
    unit = choice_field("Unit", help_text="Blank on a quantity commitment: the item's unit.")
    price = number_field("Unit price", "Product quantity commitments only.")
    price_quantity = number_field("Price quantity", "How many units the price is for.")
    line_discount_amount = number_field("Discount amount", "Product quantity commitments only.")
    line_discount_percentage = number_field("Discount percentage")
    minimum_release_amount = number_field("Minimum release amount")
    maximum_release_amount = number_field("Maximum release amount")
    is_commitment_maximum_enforced = forms.BooleanField(label="Maximum is enforced", required=False)
    is_price_and_discount_fixed = forms.BooleanField(label="Price and discount are fixed", required=False)
    project = choice_field("Project")
    project_category_id = text_field("Project category")
    project_activity_number = text_field("Project activity")
    receiving_site = choice_field("Receiving site")
    receiving_warehouse = choice_field("Receiving warehouse", help_text="Blank site: the warehouse's site.")
    financial_dimensions = text_field("Financial dimensions", "e.g. BusinessUnit-CostCenter-Department.")

    def __init__(self, *args, agreement: PurchaseAgreement, line: PurchaseAgreementLine | None = None, **kwargs):
        if line is None:
            kwargs.setdefault("initial", {"commitment_type": agreement.default_commitment_type})
        super().__init__(*args, instance=line, clm_owned=agreement.is_clm_owned, **kwargs)
        self.agreement = agreement
        in_entity = {"legal_entity_id": agreement.legal_entity_id}
        self.offer(
            {
                "product": lambda: _options(
                    ReleasedProduct.objects.filter(**in_entity), "item_number", lambda p: f"{p.item_number} {p.name}"
                ),
                "product_variant": lambda: _options(
                    ProductVariant.objects.filter(**in_entity).select_related("product"),
                    "variant_number",
                    lambda v: f"{v.product.item_number} {v.name}".strip(),
                ),
                "unit": lambda: _options(UnitOfMeasure.objects.all(), "symbol", lambda u: _described(u, "symbol")),
                "project": lambda: _options(
                    Project.objects.filter(**in_entity), "project_id", lambda p: f"{p.project_id} {p.name}"
                ),
                "receiving_site": lambda: _options(
                    Site.objects.filter(**in_entity), "site_id", lambda s: f"{s.site_id} {s.name}"
                ),
                "receiving_warehouse": lambda: _options(
                    Warehouse.objects.filter(**in_entity).select_related("site"),
                    "warehouse_id",
                    lambda w: f"{w.warehouse_id} {w.name} (site {w.site.site_id})",
                ),
            }
        )
        if self.editable("category"):
            self.fields["category"].widget.choices = [("", "—"), *_category_choices()]

    def check_with_service(self, data: dict) -> None:
        services.line_prepare(agreement=self.agreement, data=data, actor=self.actor, line=self.instance)

    def save(self) -> PurchaseAgreementLine:
        if self.creating:
            return services.line_create(agreement=self.agreement, data=self.service_data(), actor=self.actor)
        return services.line_update(line=self.instance, data=self.service_data(), actor=self.actor)


def _category_choices() -> list:
    """The category hierarchy as option groups, one per root: the root itself first (value
    commitments take a root), then every category below it."""
    categories = {category.pk: category for category in ProcurementCategory.objects.order_by("name")}

    def root_of(category: ProcurementCategory) -> ProcurementCategory:
        seen = set()
        while category.parent_id is not None and category.parent_id in categories and category.pk not in seen:
            seen.add(category.pk)
            category = categories[category.parent_id]
        return category

    below: dict[int, list[ProcurementCategory]] = {}
    for category in categories.values():
        if category.parent_id is not None:
            below.setdefault(root_of(category).pk, []).append(category)
    roots = [category for category in categories.values() if category.parent_id is None]
    return [
        (root.name, [(root.name, f"{root.name} (root)"), *((c.name, c.name) for c in below.get(root.pk, ()))])
        for root in roots
    ]
