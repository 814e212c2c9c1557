"""/api/v1/imports/: batch import for the CLM's API client (SPEC §8.8).

The client uploads a package and gets its job at once (202); a worker applies it
(``connectors.imports``). The client follows the job's progress and reads its per-record
errors; it sees only its own jobs. Mounted by ``contracts.api.urls``.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from contracts.api import schema
from contracts.api.errors import ApiProblem, problem
from contracts.api.pagination import ApiCursorPagination
from contracts.api.permissions import CallerPermission, caller_of
from contracts.api.serializers import (
    AddressedLineInputSerializer,
    AgreementInputSerializer,
    BulkUpsertTotalsSerializer,
    ContractInputSerializer,
    ErrorSerializer,
)
from contracts.api.views import ApiView
from contracts.choices import SyncRunKind, SyncRunStatus

from .imports import IMPORT_MAX_RECORDS, PackageRefused, import_package_submit, import_runs_of
from .models import SyncError, SyncRun
from .progress import sync_run_progress

RUN_ID = re.compile(r"[0-9]{1,18}")  # fits a bigint; anything else names no run
JSON_MEDIA_TYPE = re.compile(r"application/(?:[\w.+-]+\+)?json", re.IGNORECASE)


# --- JSON in and out ------------------------------------------------------------------


class ImportPackageSerializer(serializers.Serializer):
    """A batch-import package (SPEC §8.8): each section a list of records in the shape its
    endpoint takes. Applied in order: contracts, agreements, lines."""

    contracts = ContractInputSerializer(
        many=True, required=False, help_text="Contracts, each with legal_entity and contract_id (its key)."
    )
    agreements = AgreementInputSerializer(
        many=True,
        required=False,
        help_text="Purchase agreement headers, keyed by legal_entity and agreement_id, or by external_contract_id "
        "when agreement_id is left out (a new one is then numbered from the sequence).",
    )
    lines = AddressedLineInputSerializer(
        many=True,
        required=False,
        help_text="Agreement lines, keyed by their agreement (agreement_id or external_contract_id) and "
        "line_number, which a package must give.",
    )


class RunStatusField(serializers.CharField):
    """The run's status; its values are told in words, as a schema enum named "status" would
    clash with the other statuses of the API."""

    def __init__(self, **kwargs):
        values = ", ".join(SyncRunStatus.values)
        super().__init__(help_text=f"One of: {values}. completed_with_errors: some records failed.", **kwargs)


class ImportAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The job id.")
    status = RunStatusField()
    url = serializers.CharField(help_text="Where the job's progress is read.")


class ImportRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = RunStatusField()
    total = serializers.IntegerField(help_text="Records in the package.")
    processed = serializers.IntegerField(help_text="Records applied so far, failed ones included.")
    progress = serializers.SerializerMethodField(help_text="processed in percent of total, rounded down.")
    counts = BulkUpsertTotalsSerializer(
        source="*", help_text="Outcomes so far; stale counts contracts older than the stored version (ignored)."
    )
    created_at = serializers.DateTimeField(help_text="When the package was accepted.")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(allow_blank=True, help_text="Why the job failed, or its last transient error.")
    errors_url = serializers.SerializerMethodField(help_text="The per-record errors, paged.")

    def get_progress(self, run: SyncRun) -> int:
        return sync_run_progress(run)

    def get_errors_url(self, run: SyncRun) -> str:
        return reverse("api:import-errors", args=[run.pk])


class ImportErrorSerializer(serializers.ModelSerializer):
    record = serializers.JSONField(allow_null=True, help_text="The record as uploaded (its start, if very long).")

    class Meta:
        model = SyncError
        fields = ("record_key", "message", "record")
        read_only_fields = fields
        extra_kwargs = {"record_key": {"help_text": "Section, position from 0 and key, e.g. contracts[17] USMF/CT-9."}}


# --- Endpoints ------------------------------------------------------------------------


class ImportPermission(CallerPermission):
    """Imports belong to API clients: writing needs the clm_integration role, as everywhere."""

    def has_permission(self, request, view) -> bool:
        caller = caller_of(request)
        if caller is not None and caller.api_client is None:
            self.message = "Batch imports are for API clients; people follow sync runs in the admin."
            return False
        return super().has_permission(request, view)


class ImportViewMixin:
    queryset = SyncRun.objects.filter(kind=SyncRunKind.IMPORT)
    permission_model = SyncRun
    permission_classes = [ImportPermission]

    def run_or_404(self) -> SyncRun:
        """The caller's own job; another client's is "not found", like one that does not exist."""
        run_id = self.kwargs["run_id"]
        if not RUN_ID.fullmatch(run_id):
            raise Http404
        return get_object_or_404(import_runs_of(self.caller.api_client), pk=int(run_id))


RUN_ID_PATH = schema.path("run_id", "The job id the upload answered with.")
LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[202], description="The job's URL."
)


class ImportListView(ImportViewMixin, ApiView):
    @extend_schema(
        operation_id="imports_create",
        summary="Upload a batch-import package",
        description="Answers at once with the job (202); a worker applies the package, each record as its "
        "endpoint would (as this client, in its legal entities), one failing record never stopping the others. "
        "Uploading the same bytes again changes nothing: every record comes out unchanged. A body that is not a "
        f"package (not JSON, unknown sections, not lists, none or more than {IMPORT_MAX_RECORDS:,} records) is a "
        f"400; over {settings.IMPORT_MAX_BODY_BYTES:,} bytes a 413.",
        request={"application/json": ImportPackageSerializer},
        parameters=[LOCATION],
        responses={
            202: OpenApiResponse(ImportAcceptedSerializer, description="Accepted: the job is queued."),
            413: OpenApiResponse(ErrorSerializer, description="The body is larger than a package may be."),
            415: OpenApiResponse(ErrorSerializer, description="The body is not sent as application/json."),
            **schema.errors(),
        },
    )
    def post(self, request):
        if not JSON_MEDIA_TYPE.fullmatch(request.content_type.split(";")[0].strip()):
            raise problem(415, None, "send the package as application/json.", "unsupported_media_type")
        # Read raw and bounded: the body is stored as uploaded, and its checksum names it.
        content = request.read(settings.IMPORT_MAX_BODY_BYTES + 1)
        try:
            run = import_package_submit(content=content, api_client=self.caller.api_client)
        except PackageRefused as refused:
            raise ApiProblem(413 if refused.too_large else 400, refused.problems) from None
        url = reverse("api:import-detail", args=[run.pk])
        return Response(
            ImportAcceptedSerializer({"id": run.pk, "status": run.status, "url": url}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class ImportDetailView(ImportViewMixin, ApiView):
    @extend_schema(
        operation_id="imports_retrieve",
        summary="Read a batch import's progress",
        description="Status, counts so far, total, processed and progress in percent, started and finished. "
        "Only the client that uploaded the package sees its job.",
        parameters=[RUN_ID_PATH],
        responses={200: ImportRunSerializer, **schema.errors(404)},
    )
    def get(self, request, run_id):
        return Response(ImportRunSerializer(self.run_or_404()).data)


class ImportErrorListView(ImportViewMixin, ApiView):
    pagination_class = ApiCursorPagination

    @extend_schema(
        operation_id="imports_errors_list",
        summary="List a batch import's failed records",
        description="One entry per failed record, in package order, with every problem found; cursor-paged.",
        parameters=[RUN_ID_PATH],
        responses={200: ImportErrorSerializer(many=True), **schema.errors(404)},
    )
    def get(self, request, run_id):
        return self.list_response(self.run_or_404().errors.all(), ImportErrorSerializer)
