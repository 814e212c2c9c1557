"""Validation without saving (SPEC §8.3).

The same payloads as the real endpoints, run through the same service checks
(``agreement_prepare``, ``line_prepare``, ``line_delete`` in a savepoint that is rolled
back), and nothing is persisted. The answer lists every problem found — values of the
wrong type included, next to the rule violations of the other fields:
200 ``{"valid": true}`` or 422 ``{"valid": false, "errors": [...]}``.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from contracts.models import PurchaseAgreement, PurchaseAgreementLine
from contracts.services import Problem, ValidationFailed, agreement_prepare, line_delete, line_prepare

from . import schema
from .errors import ApiProblem
from .permissions import contract_link_refusals, person_may
from .serializers import (
    AGREEMENT_SHOWN_ONLY,
    TRACKING,
    AddressedLineInputSerializer,
    AgreementInputSerializer,
    LineAddressSerializer,
    ValidationResultSerializer,
    parse_input,
)
from .views import AddressedAgreementMixin, ApiView, ownership_for

RESPONSES = {
    200: OpenApiResponse(ValidationResultSerializer, description='Valid: {"valid": true}.'),
    **schema.errors(),
    422: OpenApiResponse(ValidationResultSerializer, description='{"valid": false, "errors": [every problem]}.'),
}


class _RolledBack(Exception):
    """Undoes a write that was made only to see whether the rules allow it."""


class ValidationView(AddressedAgreementMixin, ApiView):
    """Collects problems instead of stopping at the first; subclasses implement ``check``."""

    person_action = "view"  # people need the write's own permission, checked in ``check``
    serializer_class = None

    def post(self, request):
        values, problems = parse_input(self.serializer_class, request.data, ignore=TRACKING)
        wrong_type = {found.field for found in problems}
        clean = {key: value for key, value in values.items() if key not in wrong_type}
        try:
            self.check(clean)
        except (ApiProblem, ValidationFailed) as failure:
            if isinstance(failure, ApiProblem) and failure.status_code != 404:
                raise  # a record that is not found is a problem to list; a refusal is not
            # A field whose value could not be read is reported once, for its type.
            problems += [found for found in failure.problems if found.field not in wrong_type]
        if problems:
            return Response({"valid": False, "errors": [found.as_dict() for found in problems]}, status=422)
        return Response({"valid": True})

    def check(self, values: dict) -> None:
        raise NotImplementedError

    def require(self, action: str, model) -> None:
        if not person_may(self.caller, action, model):
            raise ApiProblem(403, [Problem(None, f"You need the permission to {action} this record.", "forbidden")])

    def addressed_line(self, values: dict, agreement: PurchaseAgreement) -> PurchaseAgreementLine:
        number = values.get("line_number")
        if number is None:
            raise ValidationFailed([Problem("line_number", "is required.", "required")])
        line = agreement.lines.filter(line_number=number).first()
        if line is None:
            raise ValidationFailed(
                [Problem("line_number", f"agreement {agreement.agreement_id} has no line {number}.", "not_found")]
            )
        return line


class ValidateAgreementView(ValidationView):
    """A header create, or — with legal_entity and agreement_id of an existing agreement — an update."""

    permission_model = PurchaseAgreement
    serializer_class = AgreementInputSerializer

    @extend_schema(
        operation_id="validate_purchase_agreement",
        summary="Validate a purchase agreement header create or update",
        description="The body of POST /purchase-agreements/ (create), or with legal_entity and agreement_id of an "
        "existing agreement the changes of an update. Nothing is saved.",
        request=AgreementInputSerializer,
        responses=RESPONSES,
    )
    def post(self, request):
        return super().post(request)

    def check(self, values: dict) -> None:
        for key in AGREEMENT_SHOWN_ONLY:
            values.pop(key, None)
        entity = self.entity_for_write(values.pop("legal_entity", None))
        refusals = contract_link_refusals(self.caller, values)
        agreement = None
        if values.get("agreement_id"):
            agreement = PurchaseAgreement.objects.filter(
                legal_entity=entity, agreement_id=values["agreement_id"]
            ).first()
        actor = self.caller.actor
        try:
            if agreement is not None:
                self.require("change", PurchaseAgreement)
                agreement_prepare(legal_entity=entity, data=values, actor=actor, agreement=agreement)
            else:
                self.require("add", PurchaseAgreement)
                agreement_prepare(
                    legal_entity=entity, data=values, actor=actor, ownership=ownership_for(self.caller, values)
                )
        except ValidationFailed as failure:
            raise ValidationFailed(refusals + failure.problems) from None
        if refusals:
            raise ValidationFailed(refusals)


class ValidateLineInsertView(ValidationView):
    permission_model = PurchaseAgreementLine
    serializer_class = AddressedLineInputSerializer

    @extend_schema(
        operation_id="validate_purchase_agreement_line_insert",
        summary="Validate a line insert",
        description="The body of POST /purchase-agreement-lines/. Nothing is saved.",
        request=AddressedLineInputSerializer,
        responses=RESPONSES,
    )
    def post(self, request):
        return super().post(request)

    def check(self, values: dict) -> None:
        self.require("add", PurchaseAgreementLine)
        agreement = self.addressed_agreement(values)
        line_prepare(agreement=agreement, data=values, actor=self.caller.actor)


class ValidateLineUpdateView(ValidationView):
    permission_model = PurchaseAgreementLine
    serializer_class = AddressedLineInputSerializer

    @extend_schema(
        operation_id="validate_purchase_agreement_line_update",
        summary="Validate a line update",
        description="The line (legal_entity, agreement_id or external_contract_id, line_number) and the fields to "
        "change. Nothing is saved.",
        request=AddressedLineInputSerializer,
        responses=RESPONSES,
    )
    def post(self, request):
        return super().post(request)

    def check(self, values: dict) -> None:
        self.require("change", PurchaseAgreementLine)
        agreement = self.addressed_agreement(values)
        line = self.addressed_line(values, agreement)
        line_prepare(agreement=agreement, data=values, actor=self.caller.actor, line=line)


class ValidateLineDeleteView(ValidationView):
    permission_model = PurchaseAgreementLine
    serializer_class = LineAddressSerializer

    @extend_schema(
        operation_id="validate_purchase_agreement_line_delete",
        summary="Validate a line delete",
        description="The line (legal_entity, agreement_id or external_contract_id, line_number). Checks that the "
        "caller may delete it (lines of CLM-owned agreements are protected from people). Nothing is deleted.",
        request=LineAddressSerializer,
        responses=RESPONSES,
    )
    def post(self, request):
        return super().post(request)

    def check(self, values: dict) -> None:
        self.require("delete", PurchaseAgreementLine)
        agreement = self.addressed_agreement(values)
        line = self.addressed_line(values, agreement)
        values.pop("line_number", None)
        problems = [Problem(key, "is not a field of a line delete.", "unknown_field") for key in values]
        try:
            with transaction.atomic():
                line_delete(line=line, actor=self.caller.actor)
                raise _RolledBack
        except _RolledBack:
            pass
        except ValidationFailed as failure:
            problems += failure.problems
        if problems:
            raise ValidationFailed(problems)
