"""JSON in and out of the API. Serializers only translate (STYLE.md):

- *Input* serializers parse JSON types (text, numbers, dates, yes/no) under exactly the
  services' input names, and nothing more: lengths, choices, references and every other
  rule are the services' (a 422 naming the field). A value of the wrong type is a 400.
  Unknown keys pass through to the service, which names them (``unknown_field``). Keys
  the API only shows (``created_at``, ``ownership``, …) are ignored on input, so a record
  read with GET can be sent back with PUT.
- *Output* serializers show records with references by natural key (vendor account
  number, currency code, contract type name, item number, …).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from contracts.models import Contract, ContractType, PurchaseAgreement, PurchaseAgreementLine
from contracts.services import Problem
from contracts.services.agreements import (
    HEADER_INPUT_FIELDS,
    HEADER_REFERENCES,
    HEADER_SCALARS,
    HEADER_WORKERS,
    LINE_INPUT_FIELDS,
    LINE_REFERENCES,
    WORKER,
)
from contracts.services.contracts import CONTRACT_INPUT_FIELDS, CURRENCY
from contracts.services.references import Reference

from .errors import ApiProblem

TRACKING = ("created_at", "modified_at", "changed_by")

# --- Input: JSON types only -----------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "format": "decimal"}], "nullable": True})
class DecimalInputField(serializers.DecimalField):
    """A number or a decimal string (``"12.50"``), kept exact."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, **kwargs)


def text(help_text: str = "", **kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False, help_text=help_text, **kwargs
    )


def _choices_help(model_field: models.Field) -> str:
    parts = [str(model_field.help_text)] if model_field.help_text else []
    if model_field.choices:
        parts.append("One of: " + ", ".join(str(value) for value, _ in model_field.choices) + ".")
    return " ".join(parts)


def input_field(model: type[models.Model], name: str, references: Mapping[str, Any] = ()) -> serializers.Field:
    """The parsing field for one service input name, from the model field it writes."""
    model_field = model._meta.get_field(name)
    help_text = _choices_help(model_field)
    if model_field.is_relation:
        ref = dict(references).get(name)
        key = ref.key.replace("_", " ") if ref is not None else "natural key"
        return text(f"The {model_field.related_model._meta.verbose_name} by its {key}.")
    if isinstance(model_field, models.DateTimeField):
        return serializers.DateTimeField(required=False, allow_null=True, help_text=help_text)
    if isinstance(model_field, models.DateField):
        return serializers.DateField(required=False, allow_null=True, help_text=help_text)
    if isinstance(model_field, models.DecimalField):
        return DecimalInputField(required=False, allow_null=True, help_text=help_text)
    if isinstance(model_field, models.BooleanField):
        return serializers.BooleanField(required=False, help_text=help_text)
    if isinstance(model_field, models.IntegerField):
        return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)
    return text(help_text)


def input_serializer(
    name: str,
    model: type[models.Model],
    names: Iterable[str],
    *,
    extra: Mapping[str, serializers.Field] | None = None,
    references: Mapping[str, Any] = (),
    doc: str = "",
) -> type[serializers.Serializer]:
    extra = dict(extra or {})
    fields = {**extra}
    for field_name in names:
        if field_name not in fields:
            fields[field_name] = input_field(model, field_name, references)
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc})


CONTRACT_REFERENCES = {"contract_type": Reference(ContractType, "name"), "currency": CURRENCY}

ContractInputSerializer = input_serializer(
    "ContractInputSerializer",
    Contract,
    ("legal_entity", "contract_id", *CONTRACT_INPUT_FIELDS),
    extra={
        "legal_entity": text("The legal entity's code (dataAreaId), e.g. USMF. Part of the key."),
        "contract_id": text("The id as the CLM shows it to people. Part of the key."),
    },
    references=CONTRACT_REFERENCES,
    doc="A contract as the CLM sends it; only the keys present change (SPEC §3.3).",
)

ContractTypeInputSerializer = type(
    "ContractTypeInputSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A contract type (SPEC §3.2).",
        "name": text("The type's name, its key."),
        "description": text(),
        "flow": text("The registered flow that handles it: purchase_agreement, lightweight, or a custom one."),
        "is_active": serializers.BooleanField(required=False),
    },
)

_WORKER_TEXT = {
    key: text(
        f"The {worker.replace('_', ' ')}'s {'name' if key.endswith('_name') else 'email'}: the worker is looked up "
        "by name first, by email if the name finds nobody."
    )
    for worker, pair in HEADER_WORKERS.items()
    for key in pair
}
_AGREEMENT_KEYS = {
    "legal_entity": text("The buying legal entity's code, e.g. USMF. Part of the key."),
    "agreement_id": text("Part of the key; on create, leave it out to number the agreement from the sequence."),
    "contract_id": text("The linked contract's id (in contract_legal_entity, default the agreement's)."),
    "contract_legal_entity": text("The linked contract's legal entity, when it is not the agreement's."),
    **{name: text("The worker's personnel number.") for name in HEADER_WORKERS},
    **_WORKER_TEXT,
}
AgreementInputSerializer = input_serializer(
    "AgreementInputSerializer",
    PurchaseAgreement,
    ("legal_entity", "agreement_id", *HEADER_INPUT_FIELDS),
    extra=_AGREEMENT_KEYS,
    references={**HEADER_REFERENCES, **dict.fromkeys(HEADER_WORKERS, WORKER)},
    doc="A purchase agreement header (SPEC §3.4); only the keys present change.",
)

_LINE_ADDRESS = {
    "legal_entity": text("The agreement's legal entity code."),
    "agreement_id": text("The agreement, by its id…"),
    "external_contract_id": text("…or by its contract's external id (SPEC §3.4)."),
}
LineInputSerializer = input_serializer(
    "LineInputSerializer",
    PurchaseAgreementLine,
    LINE_INPUT_FIELDS,
    references=LINE_REFERENCES,
    doc="A purchase agreement line (SPEC §3.4); only the keys present change.",
)
AddressedLineInputSerializer = input_serializer(
    "AddressedLineInputSerializer",
    PurchaseAgreementLine,
    (*_LINE_ADDRESS, *LINE_INPUT_FIELDS),
    extra=_LINE_ADDRESS,
    references=LINE_REFERENCES,
    doc="A line with the agreement it belongs to, named by legal entity and agreement id or external contract id.",
)
LineAddressSerializer = input_serializer(
    "LineAddressSerializer",
    PurchaseAgreementLine,
    (*_LINE_ADDRESS, "line_number"),
    extra=_LINE_ADDRESS,
    doc="One line: its agreement (by id or external contract id) and its line number.",
)


def parse_input(
    serializer_class: type[serializers.Serializer], data, *, ignore: Iterable[str] = ()
) -> tuple[dict[str, Any], list[Problem]]:
    """Parses each known key with its field; returns the values and the type problems.

    Unknown keys are passed on as they are (the service names them); ``ignore`` lists the
    keys that are only ever shown (read-only) and are dropped.
    """
    if not isinstance(data, Mapping):
        raise ApiProblem(400, [Problem(None, "the body must be a JSON object.", "parse_error")])
    fields = serializer_class().fields
    ignore = set(ignore)
    values, problems = {}, []
    for key, value in data.items():
        if key in ignore:
            continue
        field = fields.get(key)
        if field is None:
            values[key] = value
            continue
        try:
            values[key] = field.run_validation(value)
        except serializers.ValidationError as exc:
            for message in exc.detail if isinstance(exc.detail, list) else [exc.detail]:
                problems.append(Problem(key, str(message), getattr(message, "code", "invalid")))
    return values, problems


def parse_or_400(serializer_class, data, *, ignore: Iterable[str] = ()) -> dict[str, Any]:
    values, problems = parse_input(serializer_class, data, ignore=ignore)
    if problems:
        raise ApiProblem(400, problems)
    return values


# --- Output: records with references by natural key ---------------------------------


class RecordSerializer(serializers.ModelSerializer):
    """An output serializer whose schema admits every value a stored record may hold.

    DRF drops ``allow_blank`` from read-only fields, and a reference shown by its key is
    null when the record has none; without both, the schema promised non-blank choices,
    URLs and emails and non-null references, and real records broke it (found by
    schemathesis, contracts/tests/api/test_schema_fuzz.py).
    """

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            try:
                model_field = self.Meta.model._meta.get_field(field.source or name)
            except FieldDoesNotExist:
                continue  # a dotted source or a computed value: declared as it is
            if getattr(model_field, "blank", False) and hasattr(field, "allow_blank"):
                field.allow_blank = True
            if getattr(model_field, "null", False):
                field.allow_null = True
        return fields


def key_of(slug_field: str, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field=slug_field, read_only=True, **kwargs)


class ContractSerializer(RecordSerializer):
    legal_entity = key_of("code")
    contract_type = key_of("name")
    currency = key_of("code")
    connection = key_of("name", help_text="The CLM connection the contract came from.")
    requester_worker = key_of("personnel_number", help_text="The worker the requester name/email resolved to.")

    class Meta:
        model = Contract
        fields = (
            "legal_entity",
            "contract_id",
            *CONTRACT_INPUT_FIELDS,
            "requester_worker",
            "connection",
            "last_synced_at",
            *TRACKING,
        )
        read_only_fields = fields


class RowReader:
    """What an output serializer shows, read from ``values()`` rows instead of model instances.

    A list of 100 contracts through ``ContractSerializer`` builds 562 model instances with
    ``select_related`` and runs 3,200 DRF field lookups; most of its time (docs/performance.md).
    This reads only the shown columns, references by their key through the join, and formats
    each value with the serializer's own field where the value needs formatting (dates,
    decimals), so the answer is the serializer's, key for key.
    """

    # Fields whose representation of a non-null database value is that value.
    _AS_STORED = (serializers.CharField, serializers.ChoiceField, serializers.BooleanField, serializers.IntegerField)

    def __init__(self, serializer_class: type[serializers.ModelSerializer]):
        self.columns: list[tuple[str, str, serializers.Field | None]] = []
        for name, field in serializer_class().fields.items():
            if isinstance(field, serializers.SlugRelatedField):
                lookup, formatter = f"{field.source}__{field.slug_field}", None
            elif "." not in field.source:
                lookup, formatter = field.source, None if isinstance(field, self._AS_STORED) else field
            else:
                raise ValueError(f"{serializer_class.__name__}.{name}: a dotted source is not a column")
            self.columns.append((name, lookup, formatter))
        # The primary key too: cursor pagination reads its position from each row.
        self.lookups = ("pk", *(lookup for _, lookup, _ in self.columns))

    def values(self, queryset: models.QuerySet) -> models.QuerySet:
        return queryset.values(*self.lookups)

    def represent(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        columns = [(name, lookup, _converter(field)) for name, lookup, field in self.columns]
        return [
            {
                name: value if convert is None or value is None else convert(value)
                for name, lookup, convert in columns
                for value in (row[lookup],)
            }
            for row in rows
        ]


def _converter(field: serializers.Field | None):
    """``field.to_representation``, or an equivalent that is quicker over many rows.

    A ``DateTimeField`` looks up the current time zone for every value (400 per page of
    contracts, a sixth of the request's time); here the zone is looked up once per page.
    """
    if field is None:
        return None
    iso = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if type(field) is not serializers.DateTimeField or hasattr(field, "timezone") or iso != ISO_8601:
        return field.to_representation
    zone = field.default_timezone()
    if zone is None:
        return field.to_representation

    def aware_iso(value):
        if value.tzinfo is None:
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return f"{text[:-6]}Z" if text.endswith("+00:00") else text

    return aware_iso


class ContractWriteResultSerializer(ContractSerializer):
    outcome = serializers.ChoiceField(
        choices=("created", "updated", "unchanged", "stale"),
        read_only=True,
        help_text="created, updated, unchanged (same as stored) or stale (older than the stored version: ignored).",
    )

    class Meta(ContractSerializer.Meta):
        fields = (*ContractSerializer.Meta.fields, "outcome")
        read_only_fields = fields


CONTRACT_ROWS = RowReader(ContractSerializer)
CONTRACT_SHOWN_ONLY = ("requester_worker", "connection", "last_synced_at", *TRACKING, "outcome")


class ContractTypeSerializer(RecordSerializer):
    class Meta:
        model = ContractType
        fields = ("name", "description", "flow", "is_active", "needs_review", *TRACKING)
        read_only_fields = fields


CONTRACT_TYPE_SHOWN_ONLY = ("needs_review", *TRACKING)


class AgreementSerializer(RecordSerializer):
    legal_entity = key_of("code", help_text="The buying legal entity.")
    contract_id = serializers.CharField(source="contract.contract_id", read_only=True, allow_null=True)
    contract_legal_entity = serializers.CharField(source="contract.legal_entity.code", read_only=True, allow_null=True)

    class Meta:
        model = PurchaseAgreement
        fields = (
            "legal_entity",
            "agreement_id",
            "ownership",
            "contract_id",
            "contract_legal_entity",
            *HEADER_SCALARS,
            *HEADER_REFERENCES,
            *(name for worker, pair in HEADER_WORKERS.items() for name in (worker, *pair)),
            *TRACKING,
        )
        read_only_fields = fields

    def build_relational_field(self, field_name, relation_info):
        ref = HEADER_REFERENCES.get(field_name) or (WORKER if field_name in HEADER_WORKERS else None)
        if ref is not None:
            return serializers.SlugRelatedField, {"slug_field": ref.key, "read_only": True}
        return super().build_relational_field(field_name, relation_info)

    def build_unknown_field(self, field_name, model_class):
        # The responsible workers' names and emails, shown next to their personnel numbers.
        for worker, pair in HEADER_WORKERS.items():
            if field_name in pair:
                attribute = "name" if field_name.endswith("_name") else "email"
                return serializers.CharField, {"source": f"{worker}.{attribute}", "allow_null": True}
        return super().build_unknown_field(field_name, model_class)


AGREEMENT_SHOWN_ONLY = ("ownership", *TRACKING)


class LineSerializer(RecordSerializer):
    legal_entity = key_of("code")
    agreement_id = serializers.CharField(source="agreement.agreement_id", read_only=True)
    line_number = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, normalize_output=True)

    class Meta:
        model = PurchaseAgreementLine
        fields = ("legal_entity", "agreement_id", *LINE_INPUT_FIELDS, *TRACKING)
        read_only_fields = fields

    def build_relational_field(self, field_name, relation_info):
        ref = LINE_REFERENCES.get(field_name)
        if ref is not None:
            return serializers.SlugRelatedField, {"slug_field": ref.key, "read_only": True}
        return super().build_relational_field(field_name, relation_info)


LINE_SHOWN_ONLY = ("legal_entity", "agreement_id", *TRACKING)


# --- Errors, validation answers and bulk upsert -------------------------------------


class ProblemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The input field, header or parameter; null if none.")
    message = serializers.CharField()
    code = serializers.CharField(help_text="required, invalid, not_found, conflict, protected, date_order, …")


class ErrorSerializer(serializers.Serializer):
    errors = ProblemSerializer(many=True)


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ProblemSerializer(many=True, required=False, help_text="Every problem found; only when not valid.")


class BulkUpsertInputSerializer(serializers.Serializer):
    records = ContractInputSerializer(many=True, help_text="Up to 1,000 contracts, each with its key.")


class BulkUpsertResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The record's position in the request, from 0.")
    legal_entity = serializers.CharField(allow_null=True)
    contract_id = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=("created", "updated", "unchanged", "stale"), required=False)
    errors = ProblemSerializer(many=True, required=False)


class BulkUpsertTotalsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    stale = serializers.IntegerField()
    failed = serializers.IntegerField()


class BulkUpsertResponseSerializer(serializers.Serializer):
    results = BulkUpsertResultSerializer(many=True)
    totals = BulkUpsertTotalsSerializer()
