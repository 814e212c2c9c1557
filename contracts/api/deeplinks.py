"""POST /api/v1/deep-links/: a signed link to a vendor, contract or agreement (SPEC §8.5).

Making a link writes nothing, so read-only clients may make links too; people need the
permission to view the record's kind. The record must exist in a legal entity granted to
the caller: anything else is "not found" (404), with the very message of a missing record.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response

from contracts.choices import DeepLinkTarget
from contracts.deeplinks import KEYS, TARGETS, LinkKey, deep_link_key, deep_link_record, deep_link_token
from contracts.models import LegalEntity
from contracts.services import Problem, ValidationFailed

from . import schema
from .errors import ApiProblem
from .permissions import caller_of, person_may
from .serializers import parse_or_400, text
from .views import ApiView


class DeepLinkInputSerializer(serializers.Serializer):
    """The record to link to: its kind, its legal entity and one of its keys."""

    target = text("One of: " + ", ".join(DeepLinkTarget.values) + ".")
    legal_entity = text("The record's legal entity code, e.g. USMF.")
    account_number = text("The vendor's account number (target vendor).")
    contract_id = text("The contract id (target contract).")
    external_contract_id = text("The CLM's external contract id (target contract, or agreement by its contract).")
    agreement_id = text("The purchase agreement id (target agreement).")


class DeepLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Absolute; opens the record's page for a signed-in person allowed to see it.")


class DeepLinkPermission(permissions.BasePermission):
    """Any API client (a link changes nothing); people are checked per target kind in the view."""

    def has_permission(self, request, view) -> bool:
        return caller_of(request) is not None


class DeepLinkView(ApiView):
    permission_classes = [DeepLinkPermission]

    @extend_schema(
        operation_id="deep_links_create",
        summary="Make a signed link to a vendor, contract or purchase agreement",
        description="target vendor (by account_number), contract (by contract_id or external_contract_id) or "
        "agreement (by agreement_id or external_contract_id), in legal_entity. The link is signed, so it cannot be "
        "altered, and opening it still needs a signed-in person allowed to see that legal entity. Nothing is stored.",
        request=DeepLinkInputSerializer,
        responses={200: DeepLinkSerializer, **schema.errors(404, 422)},
    )
    def post(self, request):
        values = parse_or_400(DeepLinkInputSerializer, request.data)
        target, code = values.pop("target", None), values.pop("legal_entity", None)
        key = self.link_key(target, code, values)
        link_target = TARGETS[key.target]
        if not person_may(self.caller, "view", link_target.model):
            plural = link_target.model._meta.verbose_name_plural
            raise ApiProblem(403, [Problem(None, f"You need the permission to view {plural}.", "forbidden")])
        code = code.strip().upper()
        entity = LegalEntity.objects.filter(code=code).first()
        if not self.caller.grants(entity):
            # The very answer of a missing record: whether the legal entity holds it is not disclosed.
            raise ApiProblem(404, [key.missing(code)])
        try:
            record = deep_link_record(key, legal_entity=entity, connection=self.caller.connection)
        except ValidationFailed as failure:
            if any(found.code == "not_found" for found in failure.problems):
                raise ApiProblem(404, failure.problems) from None
            raise
        url = request.build_absolute_uri(reverse("contracts:deep_link", args=[deep_link_token(target, record)]))
        return Response({"url": url})

    def link_key(self, target, code, values: dict) -> LinkKey:
        """The checked request: every problem of the target, legal entity and keys at once (422)."""
        problems = [
            Problem(name, "is not a field of a deep link.", "unknown_field") for name in values if name not in KEYS
        ]
        if code in (None, ""):
            problems.append(Problem("legal_entity", "is required.", "required"))
        try:
            key = deep_link_key(target=target, keys={name: values[name] for name in values if name in KEYS})
        except ValidationFailed as failure:
            problems = failure.problems + problems
        if problems:
            raise ValidationFailed(problems)
        return key
