"""The filters of every list, one filterset per list, shared by the browser UI and the API (STYLE.md).

A filterset narrows the queryset it is given and never scopes by legal entity itself:
callers pass a queryset from ``contracts.selectors`` (already limited to the user's legal
entities). The optional ``request`` is used for one thing only: offering the user just the
legal entities it may see as choices.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django_filters.constants import EMPTY_VALUES

from connectors.models import Connection
from contracts.choices import AgreementOwnership, AgreementStatus, ContractStatus
from contracts.models import Contract, ContractType, LegalEntity, PurchaseAgreement, Vendor
from contracts.selectors import visible_legal_entities

EXPIRING_WITHIN_MAX_DAYS = 3650
# Without a chosen sort, the most recently updated first: the index on ``modified_at`` serves
# it, so the first page of a big list needs no sort of the whole list.
DEFAULT_CONTRACT_ORDERING = ("-modified_at", "-pk")
# Agreements by their key, which its unique index serves; agreement ids are numbered in order.
DEFAULT_AGREEMENT_ORDERING = ("legal_entity_id", "agreement_id")
# Vendors as the master data lists them: by legal entity, then account number.
DEFAULT_VENDOR_ORDERING = ("legal_entity__code", "account_number", "pk")
YES_NO_ANY = (("", "Any"), ("true", "Yes"), ("false", "No"))


def _legal_entity_choices(request):
    if request is None:
        return LegalEntity.objects.all()
    return visible_legal_entities(request.user)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class NaturalKeyMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Names records by their natural key in the URL (``?type=NDA``) and filters on the foreign key."""

    def get_filter_predicate(self, v):
        return {self.field_name: v}


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen columns, then by primary key, so that pages never overlap or skip rows.

    Blank values of ``nulls_last`` fields (an open-ended expiration date) sort after every
    date in both directions, as a spreadsheet would show them.
    """

    def __init__(self, *args, nulls_last=(), **kwargs):
        self.nulls_last = set(nulls_last)
        super().__init__(*args, **kwargs)

    def get_ordering_value(self, param):
        descending = param.startswith("-")
        field_name = self.param_map[param.lstrip("-")]
        if field_name in self.nulls_last:
            expression = F(field_name)
            return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        return super().get_ordering_value(param)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "pk")


def search_filter(help_text: str) -> django_filters.CharFilter:
    """``?q=``, the search box of a list; the filterset's ``search`` method says what it matches."""
    return django_filters.CharFilter(method="search", label="Search", help_text=help_text, widget=forms.SearchInput)


def date_range_filters(field_name: str, label: str) -> tuple[django_filters.DateFilter, django_filters.DateFilter]:
    """Two filters on one date field, "<label> from" and "<label> to", both ends included."""
    return (
        django_filters.DateFilter(field_name=field_name, lookup_expr="gte", label=f"{label} from", widget=DateInput),
        django_filters.DateFilter(field_name=field_name, lookup_expr="lte", label=f"{label} to", widget=DateInput),
    )


def legal_entity_filter() -> NaturalKeyMultipleChoiceFilter:
    """``?legal_entity=USMF&legal_entity=DEMF``, offering only the user's legal entities."""
    return NaturalKeyMultipleChoiceFilter(
        field_name="legal_entity",
        to_field_name="code",
        queryset=_legal_entity_choices,
        label="Legal entity",
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )


class DefaultOrderingFilterSet(django_filters.FilterSet):
    """A list that comes in ``default_ordering`` until a person chooses a sort."""

    default_ordering: tuple[str, ...] = ("pk",)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by(*self.default_ordering)
        return queryset


class ContractFilterSet(DefaultOrderingFilterSet):
    """All contracts (SPEC §6.1): search, filters and sorting, as query parameters.

    Every filter follows a single-valued relation, so no filter needs ``DISTINCT``.
    """

    q = search_filter("Contract ID, title or party name; every word must match.")
    type = NaturalKeyMultipleChoiceFilter(
        field_name="contract_type",
        to_field_name="name",
        queryset=ContractType.objects.all(),
        label="Type",
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    status = django_filters.MultipleChoiceFilter(
        choices=ContractStatus.choices, label="Status", widget=forms.CheckboxSelectMultiple, distinct=False
    )
    party = django_filters.CharFilter(
        method="filter_party", label="Vendor / party account", help_text="Account number or party number."
    )
    legal_entity = legal_entity_filter()
    connection_id = django_filters.ModelChoiceFilter(
        field_name="connection", queryset=Connection.objects.all(), label="Connection", empty_label="Any"
    )
    effective_from, effective_to = date_range_filters("effective_date", "Effective")
    expiration_from, expiration_to = date_range_filters("expiration_date", "Expires")
    expiring_within = django_filters.NumberFilter(
        method="filter_expiring_within",
        label="Expiring within (days)",
        help_text="From today; open-ended contracts never expire.",
        min_value=0,
        max_value=EXPIRING_WITHIN_MAX_DAYS,
        widget=forms.NumberInput(attrs={"min": 0, "max": EXPIRING_WITHIN_MAX_DAYS, "step": 1}),
    )
    amendment_in_process = django_filters.BooleanFilter(
        label="Amendment in process", widget=forms.Select(choices=YES_NO_ANY)
    )
    ordering = StableOrderingFilter(
        fields=(
            ("contract_id", "contract_id"),
            ("name", "name"),
            ("contract_type__name", "type"),
            ("status", "status"),
            ("party_name", "party"),
            ("legal_entity__code", "legal_entity"),
            ("effective_date", "effective_date"),
            ("expiration_date", "expiration_date"),
            ("amendment_in_process", "amendment_in_process"),
            ("connection__name", "connection"),
        ),
        nulls_last=("effective_date", "expiration_date", "connection__name"),
        label="Sort by",
    )

    default_ordering = DEFAULT_CONTRACT_ORDERING

    class Meta:
        model = Contract
        fields = []

    def search(self, queryset, name, value):
        for term in value.split():
            queryset = queryset.filter(
                Q(contract_id__icontains=term)
                | Q(name__icontains=term)
                | Q(party_name__icontains=term)
                | Q(vendor__name__icontains=term)
            )
        return queryset

    def filter_party(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(account_relation_id__iexact=value) | Q(party_number__iexact=value))

    def filter_expiring_within(self, queryset, name, value):
        today = timezone.localdate()
        return queryset.filter(
            expiration_date__gte=today, expiration_date__lte=today + datetime.timedelta(days=int(value))
        )


class VendorFilterSet(DefaultOrderingFilterSet):
    """Vendors (SPEC §6.5): search, filters and sorting, as query parameters.

    ``under_nda`` filters on the annotation of ``selectors.with_nda_standing``: pass a
    queryset annotated by it.
    """

    q = search_filter("Account number, name or party number; every word must match.")
    legal_entity = legal_entity_filter()
    under_nda = django_filters.BooleanFilter(label="Under NDA", widget=forms.Select(choices=YES_NO_ANY))
    blocked = django_filters.BooleanFilter(label="Blocked", widget=forms.Select(choices=YES_NO_ANY))
    ordering = StableOrderingFilter(
        fields=(("account_number", "account"), ("name", "name"), ("legal_entity__code", "legal_entity")),
        label="Sort by",
    )

    default_ordering = DEFAULT_VENDOR_ORDERING

    class Meta:
        model = Vendor
        fields = []

    def search(self, queryset, name, value):
        for term in value.split():
            queryset = queryset.filter(
                Q(account_number__icontains=term) | Q(name__icontains=term) | Q(party_number__icontains=term)
            )
        return queryset


class AgreementFilterSet(DefaultOrderingFilterSet):
    """Purchase agreements (SPEC §6.3): search, filters and sorting, as query parameters.

    Like ``ContractFilterSet``, every filter follows a single-valued relation (the vendor,
    the legal entity, the linked contract), so no filter needs ``DISTINCT``.
    """

    q = search_filter("Agreement ID, title, vendor, vendor reference or contract ID; every word must match.")
    ownership = django_filters.MultipleChoiceFilter(
        choices=AgreementOwnership.choices, label="Ownership", widget=forms.CheckboxSelectMultiple, distinct=False
    )
    status = django_filters.MultipleChoiceFilter(
        choices=AgreementStatus.choices, label="Status", widget=forms.CheckboxSelectMultiple, distinct=False
    )
    contract_status = django_filters.MultipleChoiceFilter(
        field_name="contract__status",
        choices=ContractStatus.choices,
        label="Contract status",
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    vendor = django_filters.CharFilter(
        field_name="vendor__account_number", lookup_expr="iexact", label="Vendor account", help_text="Account number."
    )
    contract_id = django_filters.CharFilter(
        field_name="contract__contract_id", lookup_expr="iexact", label="Contract ID"
    )
    legal_entity = legal_entity_filter()
    amendment_in_process = django_filters.BooleanFilter(
        label="Amendment in process", widget=forms.Select(choices=YES_NO_ANY)
    )
    effective_from, effective_to = date_range_filters("default_effective_date", "Effective")
    expiration_from, expiration_to = date_range_filters("default_expiration_date", "Expires")
    ordering = StableOrderingFilter(
        fields=(
            ("agreement_id", "agreement_id"),
            ("document_title", "title"),
            ("contract__contract_id", "contract_id"),
            ("contract__status", "contract_status"),
            ("ownership", "ownership"),
            ("status", "status"),
            ("vendor__account_number", "vendor"),
            ("legal_entity__code", "legal_entity"),
            ("default_effective_date", "effective_date"),
            ("default_expiration_date", "expiration_date"),
        ),
        nulls_last=("contract__contract_id", "contract__status", "default_effective_date", "default_expiration_date"),
        label="Sort by",
    )

    default_ordering = DEFAULT_AGREEMENT_ORDERING

    class Meta:
        model = PurchaseAgreement
        fields = []

    def search(self, queryset, name, value):
        for term in value.split():
            queryset = queryset.filter(
                Q(agreement_id__icontains=term)
                | Q(document_title__icontains=term)
                | Q(vendor__account_number__icontains=term)
                | Q(vendor__name__icontains=term)
                | Q(vendor_reference__icontains=term)
                | Q(contract__contract_id__icontains=term)
            )
        return queryset
