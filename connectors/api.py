"""The webhook endpoint of /api/v1/ (SPEC §9): ``POST /connections/{name}/webhook/``.

The signature is the authentication: no API key or session is asked for, and (as for
every DRF view) no CSRF token. The raw body is read here, bounded by
WEBHOOK_MAX_BODY_BYTES, because the signature covers the exact bytes sent; reading the
stream directly also keeps DATA_UPLOAD_MAX_MEMORY_SIZE out of it.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clmsite.security import WebhookThrottle
from contracts.api import schema
from contracts.api.errors import problem
from contracts.api.serializers import ErrorSerializer

from .base import WebhookRejected
from .cache import webhook_connection
from .webhooks import inbound_event_receive

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTION_CODES = {400: "invalid", 401: "authentication_failed", 503: "unavailable"}


class WebhookAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The stored event's number in clmsite.")
    # Text rather than a choice: an enum named after "status" would clash with the API's other ones.
    status = serializers.CharField(
        help_text=f"{ACCEPTED}: stored now, to be applied by a worker; {DUPLICATE}: this webhook-id was stored before."
    )


def _header(name: str, description: str, kind=OpenApiTypes.STR) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.HEADER, required=True, description=description)


WEBHOOK_HEADERS = [
    _header("webhook-id", "The event's unique id: a repeated id is answered 200 duplicate and changes nothing."),
    _header(
        "webhook-timestamp",
        "When the event was sent, in unix seconds; refused (401) when further from clmsite's clock than "
        "WEBHOOK_TIMESTAMP_TOLERANCE (default 300 s).",
        OpenApiTypes.INT,
    ),
    _header(
        "webhook-signature",
        "Space-separated v1,<base64 HMAC-SHA256> signatures of {webhook-id}.{webhook-timestamp}.{body}, "
        "keyed with a secret of the connection (whsec_<base64 key>); one match with any secret is enough.",
    ),
]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class ConnectionWebhookView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]

    @extend_schema(
        operation_id="connection_webhook_receive",
        summary="Deliver a webhook event from the CLM",
        description="Standard Webhooks (https://www.standardwebhooks.com): the signature on the raw body is checked "
        "against the connection's secrets, the event is stored under its webhook-id, and the answer comes once it is "
        "stored; a worker applies it afterwards. No API key: the signature is the authentication.",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[schema.path("name", "The connection's name."), *WEBHOOK_HEADERS],
        responses={
            202: OpenApiResponse(WebhookAnswerSerializer, description="Stored; it will be applied by a worker."),
            200: OpenApiResponse(
                WebhookAnswerSerializer, description="Stored before under this webhook-id; nothing changed."
            ),
            400: _error("The body is not a JSON object (or not UTF-8), or cannot be stored."),
            401: _error(
                "A webhook header is missing, the timestamp is out of tolerance, no signature matches, or "
                "the connection has no webhook secret."
            ),
            404: _error("No enabled connection has this name."),
            413: _error("The body is larger than WEBHOOK_MAX_BODY_BYTES (default 1 MiB)."),
            429: _error("More than WEBHOOK_RATE_LIMIT events for this connection; retry after Retry-After seconds."),
            503: _error("The connection's connector is not available; deliver the event again later."),
        },
        auth=[],
    )
    def post(self, request, name):
        body = _bounded_body(request)
        served = webhook_connection(name)
        if served is None:
            raise problem(404, None, f'there is no enabled connection "{name}".', "not_found")
        connection, nudges = served
        try:
            event, created = inbound_event_receive(
                connection=connection, headers=request.headers, body=body, nudges=nudges
            )
        except WebhookRejected as rejected:
            code = REJECTION_CODES.get(rejected.status, "invalid")
            raise problem(rejected.status, None, str(rejected), code) from None
        if created:
            return Response({"id": event.pk, "status": ACCEPTED}, status=status.HTTP_202_ACCEPTED)
        return Response({"id": event.pk, "status": DUPLICATE})


def _bounded_body(request) -> bytes:
    """The raw body, refused (413) when its declared or actual length is over the limit."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_large = problem(413, None, f"the body is larger than the {limit} bytes a webhook may have.", "too_large")
    if declared > limit:
        raise too_large
    body = request.stream.read(limit + 1) if request.stream is not None else b""
    if len(body) > limit:
        raise too_large
    return body
