"""Connection management by the CLM (SPEC §3.5, §3.6, §8.7), thin over connectors.services.

- ``GET/PATCH /connections/{name}/status/``: the establishment and configuration status
  the CLM reports, with an optional message; the answer carries the derived status.
- ``GET/PUT /connections/{name}/navigation-links/``: the connection's whole set of links.
- ``GET/PUT/DELETE /connections/{name}/navigation-links/{navigation_type}/``: one link.

A ``clm_integration`` client manages only the connection it pushes for (its
``ApiClient.connection``); any other is not found (404). ``read_only`` clients may read
every connection. People need the Django permissions of connections / navigation links.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from connectors.models import Connection, NavigationLink, NavigationLinkParameter
from connectors.services import (
    connection_report_status,
    navigation_link_delete,
    navigation_link_put,
    navigation_links_replace,
)
from contracts.choices import ConnectionStatus, HandshakeStatus, NavigationType
from contracts.services import Problem

from . import schema
from .conditional import check_if_match, check_if_none_match, etag_for, not_modified
from .errors import ApiProblem, problem
from .permissions import person_may
from .serializers import TRACKING, parse_input, parse_or_400, text
from .views import ApiView, keys_match

# --- Serializers ----------------------------------------------------------------------------


class ConnectionStatusSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=ConnectionStatus.choices, read_only=True, help_text="Derived from the two reported statuses."
    )
    status_label = serializers.CharField(read_only=True, help_text="How clmsite shows the status, e.g. Ready.")
    message = serializers.CharField(source="status_message", read_only=True)

    class Meta:
        model = Connection
        fields = (
            "name",
            "establishment_status",
            "configuration_status",
            "message",
            "status",
            "status_label",
            "status_changed_at",
            *TRACKING,
        )
        read_only_fields = fields


STATUS_SHOWN_ONLY = ("status", "status_label", "status_changed_at", *TRACKING)


class ConnectionStatusInputSerializer(serializers.Serializer):
    """What the CLM reports; only the values sent change."""

    name = text("The connection's name; if given, it must be the URL's.")
    establishment_status = text("One of: " + ", ".join(HandshakeStatus.values) + ".")
    configuration_status = text("One of: " + ", ".join(HandshakeStatus.values) + ".")
    message = text("Shown with the status; when a status changes without one, the old message is cleared.")


class NavigationParameterSerializer(serializers.ModelSerializer):
    class Meta:
        model = NavigationLinkParameter
        fields = ("key", "value")
        read_only_fields = fields


class NavigationLinkSerializer(serializers.ModelSerializer):
    parameters = NavigationParameterSerializer(many=True, read_only=True, help_text="The query string, in order.")

    class Meta:
        model = NavigationLink
        fields = ("navigation_type", "name", "relative_url", "action", "parameters", *TRACKING)
        read_only_fields = fields


class NavigationLinksSerializer(serializers.Serializer):
    links = NavigationLinkSerializer(many=True, read_only=True)


class NavigationParameterInputSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The query-string key.")
    value = serializers.CharField(
        allow_blank=True, help_text="Text with %Model.Field% placeholders offered for the link's navigation type."
    )


@extend_schema_field(NavigationParameterInputSerializer(many=True))
class ParameterListField(serializers.Field):
    """A list of objects; the services check each key and value (422 naming it)."""

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise serializers.ValidationError('must be a list of {"key": …, "value": …} objects.', code="invalid")
        return data


def link_input_fields(navigation_type_help: str) -> dict:
    return {
        "navigation_type": text(navigation_type_help),
        "name": text("Required for a new link."),
        "relative_url": text("Appended to the connection's navigation base URL; required for a new link."),
        "action": text("OpenInNewTab (the default) or OpenInExistingTab."),
        "parameters": ParameterListField(
            required=False, help_text="Replaces the query string when sent; left as it is when not."
        ),
    }


NavigationLinkInputSerializer = type(
    "NavigationLinkInputSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "A navigation link; only the values sent change.",
        **link_input_fields("Optional; if given, it must be the URL's."),
    },
)
ListedLinkInputSerializer = type(
    "ListedLinkInputSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "One link of the set; links already stored keep what is not sent.",
        **link_input_fields("One of: " + ", ".join(NavigationType.values) + "."),
    },
)


@extend_schema_field(ListedLinkInputSerializer(many=True))
class LinkListField(serializers.Field):
    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise serializers.ValidationError("must be a list of navigation links (objects).", code="invalid")
        return data


class NavigationLinksInputSerializer(serializers.Serializer):
    links = LinkListField(help_text="Every link the connection is to have; links of other types are deleted.")


LINK_SHOWN_ONLY = TRACKING

# --- Views ----------------------------------------------------------------------------------

CONNECTION_NAME_PATH = schema.path("name", "The connection's name.")
NAVIGATION_TYPE_PATH = OpenApiParameter(
    "navigation_type",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=NavigationType.values,
    description="The navigation type (SPEC §3.6); a connection has at most one link of each.",
)
LINKS = NavigationLink.objects.select_related("connection").prefetch_related("parameters")


class ConnectionViewMixin:
    def connection_or_404(self, *, lock: bool = False) -> Connection:
        """The connection of the URL; a CLM client's other connections are "not found"."""
        connections = Connection.objects.select_for_update() if lock else Connection.objects.all()
        connection = connections.filter(name=self.kwargs["name"]).first()
        client = self.caller.api_client
        if connection is None or (client is not None and client.acts_for_clm and client.connection_id != connection.pk):
            raise Http404
        return connection


class ConnectionStatusView(ConnectionViewMixin, ApiView):
    permission_model = Connection

    @extend_schema(
        operation_id="connection_status_retrieve",
        summary="Read a connection's status",
        parameters=[CONNECTION_NAME_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: ConnectionStatusSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, name):
        return self.record_or_304(self.connection_or_404(), ConnectionStatusSerializer)

    @extend_schema(
        operation_id="connection_status_report",
        summary="Report a connection's establishment and configuration status",
        description="Each status is NotStarted, Success or Error; the derived status comes back (SPEC §3.5): "
        "NotStarted → Not started; Error → Connection establishment failed; Success with configuration NotStarted "
        "→ Connection established, Error → Configuration failed, Success → Ready.",
        request=ConnectionStatusInputSerializer,
        parameters=[CONNECTION_NAME_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: ConnectionStatusSerializer, **schema.errors(404, 412, 422)},
    )
    def patch(self, request, name):
        values = parse_or_400(ConnectionStatusInputSerializer, request.data, ignore=STATUS_SHOWN_ONLY)
        keys_match(values, name=name)
        with transaction.atomic():
            connection = self.connection_or_404(lock=True)
            check_if_match(request, connection)
            connection = connection_report_status(connection=connection, data=values, actor=self.caller.actor)
        return self.record_response(connection, ConnectionStatusSerializer)


def links_version(connection: Connection, links) -> SimpleNamespace:
    """The version of a connection's set of links, for its ETag: how many, and the latest change."""
    latest = max((link.modified_at for link in links), default=connection.created_at)
    return SimpleNamespace(pk=f"{connection.pk}.{len(links)}", modified_at=latest)


class NavigationLinkListView(ConnectionViewMixin, ApiView):
    permission_model = NavigationLink

    def links_response(self, connection: Connection) -> Response:
        links = list(LINKS.filter(connection=connection).order_by("navigation_type"))
        version = links_version(connection, links)
        if self.request.method == "GET" and not_modified(self.request, version):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag_for(version)})
        data = {"links": NavigationLinkSerializer(links, many=True).data}
        return Response(data, headers={"ETag": etag_for(version)})

    @extend_schema(
        operation_id="navigation_links_list",
        summary="Read a connection's navigation links",
        parameters=[CONNECTION_NAME_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: NavigationLinksSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, name):
        return self.links_response(self.connection_or_404())

    @extend_schema(
        operation_id="navigation_links_replace",
        summary="Replace a connection's navigation links",
        description="The links sent become the connection's whole set: each is created or updated (what a stored "
        "link is not sent keeps its value), links of other types are deleted. Placeholders in parameter values must "
        "be offered for the link's navigation type (422 naming the value). Nothing is written unless all are valid.",
        request=NavigationLinksInputSerializer,
        parameters=[CONNECTION_NAME_PATH, schema.IF_MATCH, schema.ETAG],
        responses={200: NavigationLinksSerializer, **schema.errors(404, 412, 422)},
    )
    def put(self, request, name):
        values = parse_or_400(NavigationLinksInputSerializer, request.data)
        values["links"] = self.parsed_links(values.get("links"))
        for action in ("add", "delete"):  # replacing the set may create and delete links
            if not person_may(self.caller, action, NavigationLink):
                raise problem(403, None, f"You need the permission to {action} navigation links.", "forbidden")
        with transaction.atomic():
            connection = self.connection_or_404(lock=True)
            check_if_match(request, links_version(connection, list(connection.navigation_links.all())))
            navigation_links_replace(connection=connection, data=values, actor=self.caller.actor)
        return self.links_response(connection)

    def parsed_links(self, links):
        """Each link parsed like a single one; a problem names its place (``links.0.name``)."""
        if links is None:
            return None
        parsed, problems = [], []
        for index, item in enumerate(links):
            values, found = parse_input(ListedLinkInputSerializer, item, ignore=LINK_SHOWN_ONLY)
            problems += [Problem(f"links.{index}.{one.field}", one.message, one.code) for one in found]
            parsed.append(values)
        if problems:
            raise ApiProblem(400, problems)
        return parsed


class NavigationLinkDetailView(ConnectionViewMixin, ApiView):
    permission_model = NavigationLink

    def navigation_type(self) -> str:
        navigation_type = self.kwargs["navigation_type"]
        if navigation_type not in NavigationType.values:
            raise problem(
                404,
                "navigation_type",
                f'there is no navigation type "{navigation_type}"; one of {", ".join(NavigationType.values)}.',
                "not_found",
            )
        return navigation_type

    def link_or_none(self, connection: Connection, *, lock: bool = False) -> NavigationLink | None:
        links = NavigationLink.objects.select_for_update() if lock else LINKS
        return links.filter(connection=connection, navigation_type=self.navigation_type()).first()

    @extend_schema(
        operation_id="navigation_links_retrieve",
        summary="Read one navigation link",
        parameters=[CONNECTION_NAME_PATH, NAVIGATION_TYPE_PATH, schema.IF_NONE_MATCH_GET, schema.ETAG],
        responses={200: NavigationLinkSerializer, 304: None, **schema.errors(404)},
    )
    def get(self, request, name, navigation_type):
        link = self.link_or_none(self.connection_or_404())
        if link is None:
            raise Http404
        return self.record_or_304(link, NavigationLinkSerializer)

    @extend_schema(
        operation_id="navigation_links_upsert",
        summary="Create or update one navigation link",
        description="201 when created (name and relative_url are then required), 200 otherwise. Only the values "
        "sent change; parameters, when sent, replace the query string in their order. Placeholders in values must be "
        "offered for the navigation type (422 naming the value).",
        request=NavigationLinkInputSerializer,
        parameters=[
            CONNECTION_NAME_PATH,
            NAVIGATION_TYPE_PATH,
            schema.IF_MATCH,
            schema.IF_NONE_MATCH_PUT,
            schema.ETAG,
        ],
        responses={
            200: NavigationLinkSerializer,
            201: NavigationLinkSerializer,
            **schema.errors(404, 412, 422),
        },
    )
    def put(self, request, name, navigation_type):
        navigation_type = self.navigation_type()
        values = parse_or_400(NavigationLinkInputSerializer, request.data, ignore=LINK_SHOWN_ONLY)
        keys_match(values, navigation_type=navigation_type)
        with transaction.atomic():
            connection = self.connection_or_404(lock=True)
            existing = self.link_or_none(connection, lock=True)
            self.check_creatable(existing, NavigationLink, create=True)
            check_if_match(request, existing)
            check_if_none_match(request, existing)
            link, created = navigation_link_put(
                connection=connection, navigation_type=navigation_type, data=values, actor=self.caller.actor
            )
        return self.record_response(
            LINKS.get(pk=link.pk),
            NavigationLinkSerializer,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            location=reverse("api:navigation-link-detail", args=[connection.name, navigation_type])
            if created
            else None,
        )

    @extend_schema(
        operation_id="navigation_links_destroy",
        summary="Delete one navigation link",
        description="Its button disappears from the browser UI.",
        parameters=[CONNECTION_NAME_PATH, NAVIGATION_TYPE_PATH, schema.IF_MATCH],
        responses={204: None, **schema.errors(404, 412)},
    )
    def delete(self, request, name, navigation_type):
        with transaction.atomic():
            link = self.link_or_none(self.connection_or_404(lock=True), lock=True)
            if link is None:
                raise Http404
            check_if_match(request, link)
            navigation_link_delete(link=link, actor=self.caller.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
