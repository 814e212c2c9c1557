"""The endpoints of /api/v1/ (SPEC §8.1–§8.3). Each one translates JSON to a service call.

Every write goes through ``contracts.services`` as the caller's actor: an API client
(``Actor.for_api_client``, acting for the CLM when its role is ``clm_integration``) or the
signed-in person (``Actor.for_user``). docs/api.md describes the endpoints for integrators.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.db import DataError, IntegrityError, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response

from contracts.choices import AgreementOwnership
from contracts.filtersets import AgreementFilterSet, ContractFilterSet
from contracts.models import (
    Contract,
    ContractType,
    LegalEntity,
    PurchaseAgreement,
    PurchaseAgreementLine,
)
from contracts.services import (
    ContractInput,
    Problem,
    UpsertOutcome,
    ValidationFailed,
    agreement_create,
    agreement_delete,
    agreement_find,
    agreement_update,
    contract_create,
    contract_delete,
    contract_type_create,
    contract_type_delete,
    contract_type_upsert,
    contract_upsert,
    contracts_upsert,
    line_create,
    line_delete,
    line_update,
)

from . import schema
from .conditional import check_if_match, check_if_none_match, etag_for, not_modified
from .errors import ApiProblem, problem
from .filters import ApiFilterBackend
from .idempotency import idempotent
from .pagination import ApiCursorPagination, LineCursorPagination, NameCursorPagination
from .permissions import (
    Caller,
    CallerPermission,
    caller_of,
    contract_link_check,
    person_may,
    requested_legal_entity_ids,
)
from .serializers import (
    AGREEMENT_SHOWN_ONLY,
    CONTRACT_ROWS,
    CONTRACT_SHOWN_ONLY,
    CONTRACT_TYPE_SHOWN_ONLY,
    LINE_SHOWN_ONLY,
    TRACKING,
    AddressedLineInputSerializer,
    AgreementInputSerializer,
    AgreementSerializer,
    BulkUpsertInputSerializer,
    BulkUpsertResponseSerializer,
    ContractInputSerializer,
    ContractSerializer,
    ContractTypeInputSerializer,
    ContractTypeSerializer,
    ContractWriteResultSerializer,
    LineInputSerializer,
    LineSerializer,
    RowReader,
    parse_input,
    parse_or_400,
)

BULK_UPSERT_LIMIT = 1000

CONTRACTS = Contract.objects.select_related(
    "legal_entity", "contract_type", "currency", "connection", "requester_worker"
)
AGREEMENTS = PurchaseAgreement.objects.select_related(
    "legal_entity",
    "contract__legal_entity",
    "classification",
    "vendor",
    "invoice_vendor",
    "primary_responsible_worker",
    "secondary_responsible_worker",
    "cash_discount",
    "contact_person",
    "currency",
    "buyer_group",
    "project",
    "payment_terms",
)
LINES = PurchaseAgreementLine.objects.select_related(
    "legal_entity",
    "agreement",
    "product",
    "product_variant",
    "category",
    "unit",
    "project",
    "receiving_site",
    "receiving_warehouse",
)


class ApiMetadata(SimpleMetadata):
    """OPTIONS answers with the endpoint's name and media types; the schema documents the rest."""

    def determine_actions(self, request, view):
        return {}


class ApiView(GenericAPIView):
    """What every endpoint shares: the caller, legal-entity checks, lists and single records."""

    permission_classes = [CallerPermission]
    metadata_class = ApiMetadata
    permission_model = None  # whose Django permissions people need (see CallerPermission)
    people_may_write = True

    @property
    def caller(self) -> Caller:
        return caller_of(self.request)

    def get_queryset(self):
        return self.queryset.all()

    # --- Legal entities ---

    def entity_or_404(self, code) -> LegalEntity:
        """The legal entity of a record's address; one the caller is not granted is "not found"."""
        entity = LegalEntity.objects.filter(code=str(code or "").strip().upper()).first()
        if not self.caller.grants(entity):
            raise Http404
        return entity

    def entity_for_write(self, code) -> LegalEntity:
        """The legal entity a new record's body names; it must be granted (403 naming it)."""
        if code in (None, ""):
            raise ValidationFailed([Problem("legal_entity", "is required.", "required")])
        entity = LegalEntity.objects.filter(code=str(code).strip().upper()).first()
        if not self.caller.grants(entity):
            raise problem(403, "legal_entity", f"legal entity {code} is not granted to you.", "not_granted")
        return entity

    # --- Answers ---

    def list_response(self, queryset, serializer_class) -> Response:
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(serializer_class(page, many=True).data)

    def rows_response(self, queryset, reader: RowReader) -> Response:
        """``list_response`` for a big list: the serializer's answer, read as rows (``RowReader``)."""
        page = self.paginate_queryset(reader.values(self.filter_queryset(queryset)))
        return self.get_paginated_response(reader.represent(page))

    def record_response(self, instance, serializer_class, *, status_code=200, extra=None, location=None) -> Response:
        data = serializer_class(instance).data
        data.update(extra or {})
        headers = {"ETag": etag_for(instance)}
        if location:
            headers["Location"] = location
        return Response(data, status=status_code, headers=headers)

    def check_creatable(self, existing, model, *, create: bool) -> None:
        """PATCH needs an existing record; PUT creates a missing one, which people may do
        only with the add permission (the endpoint asked for change)."""
        if existing is not None:
            return
        if not create:
            raise Http404
        if not person_may(self.caller, "add", model):
            raise problem(403, None, f"You need the permission to add {model._meta.verbose_name_plural}.", "forbidden")

    def record_or_304(self, instance, serializer_class) -> Response:
        if not_modified(self.request, instance):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag_for(instance)})
        return self.record_response(instance, serializer_class)


def keys_match(values: dict, **address) -> None:
    """Takes the key fields out of a body; a value that differs from the URL's is a 422.

    Legal entity codes compare case-insensitively, as everywhere; other keys exactly.
    """
    problems = []
    for name, expected in address.items():
        if name not in values:
            continue
        given = values.pop(name)
        if name == "legal_entity":
            given = str(given or "").strip().upper()
        if given != expected:
            problems.append(
                Problem(name, f'"{given}" differs from "{expected}" in the URL; a key cannot change.', "mismatch")
            )
    if problems:
        raise ValidationFailed(problems)


def ownership_for(caller: Caller, values: dict) -> str:
    """A new agreement is CLM-owned when the CLM integration pushes it for a contract;
    everything else (people, read-only clients, agreements without a contract) is SCM."""
    return AgreementOwnership.CLM if caller.acts_for_clm and values.get("contract_id") else AgreementOwnership.SCM


def agreement_write(
    caller: Caller, *, entity: LegalEntity, agreement: PurchaseAgreement | None, values: dict
) -> PurchaseAgreement:
    """Creates the agreement (``agreement`` None; owned as ``ownership_for`` says) or updates it."""
    contract_link_check(caller, values)
    if agreement is None:
        ownership = ownership_for(caller, values)
        return agreement_create(legal_entity=entity, data=values, actor=caller.actor, ownership=ownership)
    return agreement_update(agreement=agreement, data=values, actor=caller.actor)


def line_write(
    caller: Caller,
    *,
    agreement: PurchaseAgreement,
    line: PurchaseAgreementLine | None,
    number: Decimal,
    values: dict,
) -> PurchaseAgreementLine:
    """Creates line ``number`` of the agreement (``line`` None) or updates it."""
    if line is None:
        return line_create(agreement=agreement, data={**values, "line_number": number}, actor=caller.actor)
    return line_update(line=line, data=values, actor=caller.actor)


# --- Contracts (SPEC §3.3) ------------------------------------------------------------


def contract_url(contract: Contract) -> str:
    return reverse("api:contract-detail", args=[contract.legal_entity.code, contract.contract_id])


class ContractViewMixin:
    queryset = CONTRACTS
    permission_model = Contract
    people_may_write = False  # SPEC §3.3: only the integration changes contracts

    def contract_written(self, result) -> Response:
        # Read back: an unchanged upsert stores only its stamps, so the instance may differ.
        contract = CONTRACTS.get(pk=result.contract.pk)
        created = result.outcome == UpsertOutcome.CREATED
        return self.record_response(
            contract,
            ContractWriteResultSerializer,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            extra={"outcome": str(result.outcome)},
            location=contract_url(contract) if created else None,
        )


class ContractListView(ContractViewMixin, ApiView):
    filterset_class = ContractFilterSet
    filter_backends = [ApiFilterBackend]
    pagination_class = ApiCursorPagination

    @extend_schema(
        operation_id="contracts_list",
        summary="List contracts",
        description="The filters of All contracts (the UI's ContractFilterSet), scoped to legal entities; "
        "cursor-paged by id.",
        parameters=schema.SCOPE,
        responses={200: ContractSerializer(many=True), **schema.errors()},
    )
    def get(self, request):
        entity_ids = requested_legal_entity_ids(request, self.caller)
        return self.rows_response(self.caller.scope(self.get_queryset(), entity_ids), CONTRACT_ROWS)

    @extend_schema(
        operation_id="contracts_create",
        summary="Create a contract",
        description="409 if the contract exists; use PUT on its URL to create or update.",
        request=ContractInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: ContractWriteResultSerializer, **schema.errors(409, 422)},
    )
    @idempotent
    def post(self, request):
        values = parse_or_400(ContractInputSerializer, request.data, ignore=CONTRACT_SHOWN_ONLY)
        entity = self.entity_for_write(values.pop("legal_entity", None))
        result = contract_create(
            legal_entity=entity,
            contract_id=values.pop("contract_id", None),
            data=values,
            actor=self.caller.actor,
            connection=self.caller.connection,
        )
        return self.contract_written(result)


class ContractDetailView(ContractViewMixin, ApiView):
    def locked(self, entity) -> Contract | None:
        return (
            Contract.objects.select_for_update()
            .filter(legal_entity=entity, contract_id=self.kwargs["contract_id"])
            .first()
        )

    @extend_schema(
        operation_id="contracts_retrieve",
        summary="Read a contract",
        parameters=[schema.LEGAL_ENTITY_PATH, schema.CONTRACT_ID_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: ContractSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, legal_entity, contract_id):
        entity = self.entity_or_404(legal_entity)
        return self.record_or_304(
            get_object_or_404(self.get_queryset(), legal_entity=entity, contract_id=contract_id), ContractSerializer
        )

    @extend_schema(
        operation_id="contracts_upsert",
        summary="Create or update a contract by its key",
        description="201 when created, 200 otherwise; `outcome` says created, updated, unchanged or stale (an "
        "update older than the stored version, by source_modified_at / source_sequence, is ignored). Only the "
        "fields sent change.",
        request=ContractInputSerializer,
        parameters=[
            schema.LEGAL_ENTITY_PATH,
            schema.CONTRACT_ID_PATH,
            schema.IF_MATCH,
            schema.IF_NONE_MATCH_PUT,
            schema.ETAG,
        ],
        responses={
            200: ContractWriteResultSerializer,
            201: ContractWriteResultSerializer,
            **schema.errors(404, 409, 412, 422),
        },
    )
    def put(self, request, legal_entity, contract_id):
        return self.write(create=True)

    @extend_schema(
        operation_id="contracts_partial_update",
        summary="Update a contract",
        description="Like PUT, but the contract must exist (404 otherwise).",
        request=ContractInputSerializer,
        parameters=[schema.LEGAL_ENTITY_PATH, schema.CONTRACT_ID_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: ContractWriteResultSerializer, **schema.errors(404, 409, 412, 422)},
    )
    def patch(self, request, legal_entity, contract_id):
        return self.write(create=False)

    def write(self, *, create: bool) -> Response:
        entity = self.entity_or_404(self.kwargs["legal_entity"])
        values = parse_or_400(ContractInputSerializer, self.request.data, ignore=CONTRACT_SHOWN_ONLY)
        keys_match(values, legal_entity=entity.code, contract_id=self.kwargs["contract_id"])
        with transaction.atomic():
            contract = self.locked(entity)
            self.check_creatable(contract, Contract, create=create)
            check_if_match(self.request, contract)
            check_if_none_match(self.request, contract)
            result = contract_upsert(
                legal_entity=entity,
                contract_id=self.kwargs["contract_id"],
                data=values,
                actor=self.caller.actor,
                connection=self.caller.connection,
            )
        return self.contract_written(result)

    @extend_schema(
        operation_id="contracts_destroy",
        summary="Delete a contract",
        description="Refused (409, code in_use) while a purchase agreement references the contract.",
        parameters=[schema.LEGAL_ENTITY_PATH, schema.CONTRACT_ID_PATH, schema.IF_MATCH],
        responses={204: None, **schema.errors(404, 409, 412)},
    )
    def delete(self, request, legal_entity, contract_id):
        entity = self.entity_or_404(legal_entity)
        with transaction.atomic():
            contract = self.locked(entity)
            if contract is None:
                raise Http404
            check_if_match(request, contract)
            contract_delete(contract=contract, actor=self.caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContractBulkUpsertView(ContractViewMixin, ApiView):
    @extend_schema(
        operation_id="contracts_bulk_upsert",
        summary="Create or update up to 1,000 contracts",
        description="Each record is checked on its own before anything is written, so one failing record "
        "never blocks the others. The answer lists every record in input order with its outcome or its errors, "
        f"and totals. More than {BULK_UPSERT_LIMIT:,} records is a 400 (code too_many).",
        request=BulkUpsertInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={200: BulkUpsertResponseSerializer, **schema.errors(422)},
    )
    @idempotent
    def post(self, request):
        body = request.data
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise problem(400, "records", 'send {"records": [ … ]}, a list of contracts.', "parse_error")
        if len(records) > BULK_UPSERT_LIMIT:
            raise problem(
                400,
                "records",
                f"at most {BULK_UPSERT_LIMIT:,} records per request; this one has {len(records):,}. Split it.",
                "too_many",
            )
        with transaction.atomic():
            results = ContractBatch(self.caller).upsert_all(records)
        totals = dict.fromkeys(UpsertOutcome.values, 0) | {"failed": 0}
        for result in results:
            totals[result.get("outcome", "failed")] += 1
        return Response({"results": results, "totals": totals})


class ContractBatch:
    """Writes the records of one bulk upsert as one batch (``contracts_upsert``).

    Here each record is parsed and its legal entity checked against the caller's grants
    (looked up once per code); the service checks everything else before it writes, so a
    failing record never blocks the others and needs no savepoint of its own.
    """

    def __init__(self, caller: Caller):
        self.caller = caller
        self.entities: dict[str, LegalEntity | None] = {}
        # Built once: a new serializer deep-copies its fields, which costs more than parsing a record.
        self.contract_input = ContractInputSerializer()

    def upsert_all(self, records: list) -> list[dict]:
        """The answer for each record, in input order: ``{"outcome": …}`` or ``{"errors": […]}``."""
        answers, inputs, positions = [], [], []
        for index, record in enumerate(records):
            answer, contract_input = self.prepare(index, record)
            answers.append(answer)
            if contract_input is not None:
                inputs.append(contract_input)
                positions.append(index)
        results = contracts_upsert(records=inputs, actor=self.caller.actor, connection=self.caller.connection)
        for index, result in zip(positions, results, strict=True):
            if isinstance(result, ValidationFailed):
                answers[index]["errors"] = result.as_list()
            else:
                answers[index]["outcome"] = str(result.outcome)
        return answers

    def upsert(self, index: int, record) -> dict:
        """One record's answer: a batch of one."""
        return self.upsert_all([record])[0] | {"index": index}

    def prepare(self, index: int, record) -> tuple[dict, ContractInput | None]:
        """The record's answer so far, and what goes to the service (``None`` when it failed here)."""
        answer = {"index": index, "legal_entity": None, "contract_id": None}
        if not isinstance(record, dict):
            not_an_object = Problem(None, "a record must be a JSON object.", "parse_error")
            return answer | {"errors": [not_an_object.as_dict()]}, None
        for key in ("legal_entity", "contract_id"):
            if isinstance(record.get(key), str):
                answer[key] = record[key]
        values, problems = parse_input(lambda: self.contract_input, record, ignore=CONTRACT_SHOWN_ONLY)
        entity = self.entity(values.pop("legal_entity", None), problems)
        if problems:
            return answer | {"errors": [found.as_dict() for found in problems]}, None
        return answer, ContractInput(entity, values.pop("contract_id", None), values)

    def saved(self, write: Callable[[], str]) -> dict:
        """Runs one record's write in its own savepoint: ``{"outcome": …}`` or ``{"errors": […]}``."""
        try:
            with transaction.atomic():
                return {"outcome": str(write())}
        except ValidationFailed as failure:
            return {"errors": failure.as_list()}
        except (IntegrityError, DataError):
            # A constraint the services do not check first, or a concurrent write of the same key.
            refused = Problem(None, "the database refused the record; it clashes with a stored one.", "conflict")
            return {"errors": [refused.as_dict()]}

    def entity(self, code, problems: list[Problem]) -> LegalEntity | None:
        if code in (None, ""):
            problems.append(Problem("legal_entity", "is required.", "required"))
            return None
        code = str(code).strip().upper()
        if code not in self.entities:
            entity = LegalEntity.objects.filter(code=code).first()
            self.entities[code] = entity if self.caller.grants(entity) else None
        if self.entities[code] is None:
            problems.append(Problem("legal_entity", f"legal entity {code} is not granted to you.", "not_granted"))
        return self.entities[code]


# --- Contract types (SPEC §3.2) -------------------------------------------------------

CONTRACT_TYPE_INPUTS = ("name", "description", "flow", "is_active")


def contract_type_values(request, name: str | None = None) -> dict:
    values = parse_or_400(ContractTypeInputSerializer, request.data, ignore=CONTRACT_TYPE_SHOWN_ONLY)
    unknown = [key for key in values if key not in CONTRACT_TYPE_INPUTS]
    if unknown:
        raise ValidationFailed(
            Problem(key, "is not a field that can be written here.", "unknown_field") for key in unknown
        )
    if name is not None:
        keys_match(values, name=name)
    return values


class ContractTypeViewMixin:
    queryset = ContractType.objects.all()
    permission_model = ContractType


class ContractTypeListView(ContractTypeViewMixin, ApiView):
    pagination_class = NameCursorPagination

    @extend_schema(
        operation_id="contract_types_list",
        summary="List contract types",
        responses={200: ContractTypeSerializer(many=True), **schema.errors()},
    )
    def get(self, request):
        return self.list_response(self.get_queryset(), ContractTypeSerializer)

    @extend_schema(
        operation_id="contract_types_create",
        summary="Create a contract type",
        description="409 if it exists. Without a flow, the type is lightweight.",
        request=ContractTypeInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: ContractTypeSerializer, **schema.errors(409, 422)},
    )
    @idempotent
    def post(self, request):
        values = contract_type_values(request)
        contract_type = contract_type_create(actor=self.caller.actor, **{"name": None, **values})
        location = reverse("api:contract-type-detail", args=[contract_type.name])
        return self.record_response(
            contract_type, ContractTypeSerializer, status_code=status.HTTP_201_CREATED, location=location
        )


class ContractTypeDetailView(ContractTypeViewMixin, ApiView):
    @extend_schema(
        operation_id="contract_types_retrieve",
        summary="Read a contract type",
        parameters=[schema.TYPE_NAME_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: ContractTypeSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, name):
        return self.record_or_304(get_object_or_404(self.get_queryset(), name=name), ContractTypeSerializer)

    @extend_schema(
        operation_id="contract_types_upsert",
        summary="Create or update a contract type by its name",
        request=ContractTypeInputSerializer,
        parameters=[schema.TYPE_NAME_PATH, schema.IF_MATCH, schema.IF_NONE_MATCH_PUT, schema.ETAG],
        responses={200: ContractTypeSerializer, 201: ContractTypeSerializer, **schema.errors(404, 412, 422)},
    )
    def put(self, request, name):
        return self.write(name, create=True)

    @extend_schema(
        operation_id="contract_types_partial_update",
        summary="Update a contract type",
        request=ContractTypeInputSerializer,
        parameters=[schema.TYPE_NAME_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: ContractTypeSerializer, **schema.errors(404, 412, 422)},
    )
    def patch(self, request, name):
        return self.write(name, create=False)

    def write(self, name: str, *, create: bool) -> Response:
        values = contract_type_values(self.request, name)
        with transaction.atomic():
            existing = ContractType.objects.select_for_update().filter(name=name).first()
            self.check_creatable(existing, ContractType, create=create)
            check_if_match(self.request, existing)
            check_if_none_match(self.request, existing)
            contract_type = contract_type_upsert(name=name, actor=self.caller.actor, **values)
        created = existing is None
        return self.record_response(
            contract_type,
            ContractTypeSerializer,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            location=reverse("api:contract-type-detail", args=[contract_type.name]) if created else None,
        )

    @extend_schema(
        operation_id="contract_types_destroy",
        summary="Delete a contract type",
        description="Refused (409, code in_use) while contracts are of this type.",
        parameters=[schema.TYPE_NAME_PATH, schema.IF_MATCH],
        responses={204: None, **schema.errors(404, 409, 412)},
    )
    def delete(self, request, name):
        with transaction.atomic():
            contract_type = ContractType.objects.select_for_update().filter(name=name).first()
            if contract_type is None:
                raise Http404
            check_if_match(request, contract_type)
            contract_type_delete(contract_type=contract_type, actor=self.caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Purchase agreements (SPEC §3.4) --------------------------------------------------


def agreement_url(agreement: PurchaseAgreement) -> str:
    return reverse("api:agreement-detail", args=[agreement.legal_entity.code, agreement.agreement_id])


def line_url(line: PurchaseAgreementLine) -> str:
    number = format(line.line_number.normalize(), "f")
    return reverse("api:line-detail", args=[line.legal_entity.code, line.agreement.agreement_id, number])


class AgreementViewMixin:
    queryset = AGREEMENTS
    permission_model = PurchaseAgreement

    def agreement_or_404(self, *, lock: bool = False) -> PurchaseAgreement:
        entity = self.entity_or_404(self.kwargs["legal_entity"])
        agreements = PurchaseAgreement.objects.select_for_update() if lock else AGREEMENTS
        return get_object_or_404(agreements, legal_entity=entity, agreement_id=self.kwargs["agreement_id"])

    def agreement_written(self, agreement, *, created: bool) -> Response:
        agreement = AGREEMENTS.get(pk=agreement.pk)
        return self.record_response(
            agreement,
            AgreementSerializer,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            location=agreement_url(agreement) if created else None,
        )


class AgreementListView(AgreementViewMixin, ApiView):
    filterset_class = AgreementFilterSet
    filter_backends = [ApiFilterBackend]
    pagination_class = ApiCursorPagination

    @extend_schema(
        operation_id="purchase_agreements_list",
        summary="List purchase agreement headers",
        description="The filters of the purchase agreement list (the UI's AgreementFilterSet), scoped to legal "
        "entities; cursor-paged by id.",
        parameters=schema.SCOPE,
        responses={200: AgreementSerializer(many=True), **schema.errors()},
    )
    def get(self, request):
        entity_ids = requested_legal_entity_ids(request, self.caller)
        return self.list_response(self.caller.scope(self.get_queryset(), entity_ids), AgreementSerializer)

    @extend_schema(
        operation_id="purchase_agreements_create",
        summary="Create a purchase agreement header",
        description="Without agreement_id the agreement is numbered from its legal entity's sequence. Ownership: "
        "CLM when the CLM integration pushes it with a contract_id, SCM otherwise (SPEC §3.4, §6.4).",
        request=AgreementInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: AgreementSerializer, **schema.errors(409, 422)},
    )
    @idempotent
    def post(self, request):
        values = parse_or_400(AgreementInputSerializer, request.data, ignore=AGREEMENT_SHOWN_ONLY)
        entity = self.entity_for_write(values.pop("legal_entity", None))
        contract_link_check(self.caller, values)
        agreement = agreement_create(
            legal_entity=entity, data=values, actor=self.caller.actor, ownership=ownership_for(self.caller, values)
        )
        return self.agreement_written(agreement, created=True)


class AgreementDetailView(AgreementViewMixin, ApiView):
    @extend_schema(
        operation_id="purchase_agreements_retrieve",
        summary="Read a purchase agreement header",
        parameters=[schema.LEGAL_ENTITY_PATH, schema.AGREEMENT_ID_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: AgreementSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, legal_entity, agreement_id):
        return self.record_or_304(self.agreement_or_404(), AgreementSerializer)

    @extend_schema(
        operation_id="purchase_agreements_upsert",
        summary="Create or update a purchase agreement header by its key",
        description="201 when created, 200 when updated. Only the fields sent change. On a CLM-owned agreement, "
        "people may change only the fields of SPEC §6.4 (422, code protected).",
        request=AgreementInputSerializer,
        parameters=[
            schema.LEGAL_ENTITY_PATH,
            schema.AGREEMENT_ID_PATH,
            schema.IF_MATCH,
            schema.IF_NONE_MATCH_PUT,
            schema.ETAG,
        ],
        responses={200: AgreementSerializer, 201: AgreementSerializer, **schema.errors(404, 409, 412, 422)},
    )
    def put(self, request, legal_entity, agreement_id):
        return self.write(create=True)

    @extend_schema(
        operation_id="purchase_agreements_partial_update",
        summary="Update a purchase agreement header",
        request=AgreementInputSerializer,
        parameters=[schema.LEGAL_ENTITY_PATH, schema.AGREEMENT_ID_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: AgreementSerializer, **schema.errors(404, 409, 412, 422)},
    )
    def patch(self, request, legal_entity, agreement_id):
        return self.write(create=False)

    def write(self, *, create: bool) -> Response:
        entity = self.entity_or_404(self.kwargs["legal_entity"])
        values = parse_or_400(AgreementInputSerializer, self.request.data, ignore=AGREEMENT_SHOWN_ONLY)
        keys_match(values, legal_entity=entity.code, agreement_id=self.kwargs["agreement_id"])
        with transaction.atomic():
            agreement = (
                PurchaseAgreement.objects.select_for_update()
                .filter(legal_entity=entity, agreement_id=self.kwargs["agreement_id"])
                .first()
            )
            self.check_creatable(agreement, PurchaseAgreement, create=create)
            check_if_match(self.request, agreement)
            check_if_none_match(self.request, agreement)
            if agreement is None:
                values["agreement_id"] = self.kwargs["agreement_id"]
            saved = agreement_write(self.caller, entity=entity, agreement=agreement, values=values)
        return self.agreement_written(saved, created=agreement is None)

    @extend_schema(
        operation_id="purchase_agreements_destroy",
        summary="Delete a purchase agreement with its lines",
        description="People cannot delete a CLM-owned agreement (422, code protected).",
        parameters=[schema.LEGAL_ENTITY_PATH, schema.AGREEMENT_ID_PATH, schema.IF_MATCH],
        responses={204: None, **schema.errors(404, 412, 422)},
    )
    def delete(self, request, legal_entity, agreement_id):
        with transaction.atomic():
            agreement = self.agreement_or_404(lock=True)
            check_if_match(request, agreement)
            agreement_delete(agreement=agreement, actor=self.caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Purchase agreement lines (SPEC §3.4) ---------------------------------------------


def parse_line_number(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise Http404 from None
    if not number.is_finite():
        raise Http404
    return number


class LineViewMixin(AgreementViewMixin):
    queryset = LINES
    permission_model = PurchaseAgreementLine

    def line_written(self, line, *, created: bool) -> Response:
        line = LINES.get(pk=line.pk)
        return self.record_response(
            line,
            LineSerializer,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            location=line_url(line) if created else None,
        )


LINE_ADDRESS = [schema.LEGAL_ENTITY_PATH, schema.AGREEMENT_ID_PATH]


class AgreementLineListView(LineViewMixin, ApiView):
    pagination_class = LineCursorPagination

    @extend_schema(
        operation_id="purchase_agreement_lines_list",
        summary="List an agreement's lines",
        parameters=LINE_ADDRESS,
        responses={200: LineSerializer(many=True), **schema.errors(404)},
    )
    def get(self, request, legal_entity, agreement_id):
        return self.list_response(LINES.filter(agreement=self.agreement_or_404()), LineSerializer)

    @extend_schema(
        operation_id="purchase_agreement_lines_create",
        summary="Add a line to an agreement",
        description="Without line_number the line gets the next whole number.",
        request=LineInputSerializer,
        parameters=[*LINE_ADDRESS, schema.IDEMPOTENCY_KEY],
        responses={201: LineSerializer, **schema.errors(404, 409, 422)},
    )
    @idempotent
    def post(self, request, legal_entity, agreement_id):
        values = parse_or_400(LineInputSerializer, request.data, ignore=LINE_SHOWN_ONLY)
        line = line_create(agreement=self.agreement_or_404(), data=values, actor=self.caller.actor)
        return self.line_written(line, created=True)


class AgreementLineDetailView(LineViewMixin, ApiView):
    def line_or_none(self, agreement, *, lock: bool = False) -> PurchaseAgreementLine | None:
        lines = PurchaseAgreementLine.objects.select_for_update() if lock else LINES
        return lines.filter(agreement=agreement, line_number=parse_line_number(self.kwargs["line_number"])).first()

    @extend_schema(
        operation_id="purchase_agreement_lines_retrieve",
        summary="Read a line",
        parameters=[*LINE_ADDRESS, schema.LINE_NUMBER_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: LineSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, legal_entity, agreement_id, line_number):
        line = self.line_or_none(self.agreement_or_404())
        if line is None:
            raise Http404
        return self.record_or_304(line, LineSerializer)

    @extend_schema(
        operation_id="purchase_agreement_lines_upsert",
        summary="Create or update a line by its number",
        request=LineInputSerializer,
        parameters=[*LINE_ADDRESS, schema.LINE_NUMBER_PATH, schema.IF_MATCH, schema.IF_NONE_MATCH_PUT, schema.ETAG],
        responses={200: LineSerializer, 201: LineSerializer, **schema.errors(404, 409, 412, 422)},
    )
    def put(self, request, legal_entity, agreement_id, line_number):
        return self.write(create=True)

    @extend_schema(
        operation_id="purchase_agreement_lines_partial_update",
        summary="Update a line",
        request=LineInputSerializer,
        parameters=[*LINE_ADDRESS, schema.LINE_NUMBER_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: LineSerializer, **schema.errors(404, 409, 412, 422)},
    )
    def patch(self, request, legal_entity, agreement_id, line_number):
        return self.write(create=False)

    def write(self, *, create: bool) -> Response:
        agreement = self.agreement_or_404()
        number = parse_line_number(self.kwargs["line_number"])
        values = parse_or_400(LineInputSerializer, self.request.data, ignore=LINE_SHOWN_ONLY)
        keys_match(values, line_number=number)
        with transaction.atomic():
            line = self.line_or_none(agreement, lock=True)
            self.check_creatable(line, PurchaseAgreementLine, create=create)
            check_if_match(self.request, line)
            check_if_none_match(self.request, line)
            saved = line_write(self.caller, agreement=agreement, line=line, number=number, values=values)
        return self.line_written(saved, created=line is None)

    @extend_schema(
        operation_id="purchase_agreement_lines_destroy",
        summary="Delete a line",
        description="People cannot delete lines of a CLM-owned agreement (422, code protected).",
        parameters=[*LINE_ADDRESS, schema.LINE_NUMBER_PATH, schema.IF_MATCH],
        responses={204: None, **schema.errors(404, 412, 422)},
    )
    def delete(self, request, legal_entity, agreement_id, line_number):
        agreement = self.agreement_or_404()
        with transaction.atomic():
            line = self.line_or_none(agreement, lock=True)
            if line is None:
                raise Http404
            check_if_match(request, line)
            line_delete(line=line, actor=self.caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddressedAgreementMixin:
    """Finds the agreement that a body names by legal entity and agreement id or external
    contract id (SPEC §3.4). One of a legal entity the caller is not granted is not found,
    with the very message of one that does not exist."""

    def addressed_agreement(self, values: dict) -> PurchaseAgreement:
        code = values.pop("legal_entity", None)
        agreement_id = values.pop("agreement_id", None)
        external_contract_id = values.pop("external_contract_id", None)
        if code in (None, ""):
            raise ValidationFailed([Problem("legal_entity", "is required.", "required")])
        code = str(code).strip().upper()
        entity = LegalEntity.objects.filter(code=code).first()
        if not self.caller.grants(entity):
            if not (agreement_id or external_contract_id):
                raise ValidationFailed(
                    [Problem("agreement_id", "give agreement_id or external_contract_id.", "required")]
                )
            field, value = (
                ("agreement_id", agreement_id) if agreement_id else ("external_contract_id", external_contract_id)
            )
            raise problem(404, field, f'no purchase agreement "{value}" exists in legal entity {code}.', "not_found")
        try:
            return agreement_find(
                legal_entity=entity, agreement_id=agreement_id, external_contract_id=external_contract_id
            )
        except ValidationFailed as failure:
            if any(found.code == "not_found" for found in failure.problems):
                raise ApiProblem(404, failure.problems) from None
            raise


class LineCreateView(AddressedAgreementMixin, LineViewMixin, ApiView):
    @extend_schema(
        operation_id="purchase_agreement_lines_create_addressed",
        summary="Add a line to the agreement named in the body",
        description="The agreement is named by legal_entity and agreement_id, or by the external_contract_id of "
        "its contract (SPEC §3.4).",
        request=AddressedLineInputSerializer,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={201: LineSerializer, **schema.errors(404, 409, 422)},
    )
    @idempotent
    def post(self, request):
        values = parse_or_400(AddressedLineInputSerializer, request.data, ignore=TRACKING)
        agreement = self.addressed_agreement(values)
        line = line_create(agreement=agreement, data=values, actor=self.caller.actor)
        return self.line_written(line, created=True)
