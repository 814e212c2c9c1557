"""Master data for the CLM, with change tracking (SPEC §3.1, §8.4).

``GET /api/v1/master-data/<entity>/`` for every entity of ``TRACKED_ENTITIES``:

- without ``changed_since``: a full snapshot, paged by id (``next``), with ``next_cursor``:
  the change sequence when the snapshot started. Passed back as ``changed_since`` it
  gives everything changed after that (what changed during the snapshot comes again,
  which is harmless for an upsert).
- with ``changed_since=<cursor>``: every record changed after the cursor, once, at its
  latest change, in change order: the current record, or ``{"deleted": true, <key>}``
  when it no longer exists under that key; ``next_cursor`` continues from there.

Cursors are signed with ``django.core.signing``: a client can neither forge nor alter one
(400). The change log is ``contracts.models.ChangeLog``, written by ``contracts.signals``.
"""

from __future__ import annotations

from django.core import signing
from django.db.models import Exists, Max, OuterRef
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_array_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from contracts.choices import ChangeOperation
from contracts.models import TRACKED_BY_MODEL, TRACKED_ENTITIES, ChangeLog, LegalEntity, TrackedEntity

from . import schema
from .errors import problem
from .pagination import ApiCursorPagination
from .permissions import requested_legal_entity_ids
from .serializers import TRACKING
from .views import ApiView

CHANGES_SALT = "contracts.api.master-data.changed-since"
SNAPSHOT_SALT = "contracts.api.master-data.snapshot"
FOREIGN_CURSOR = "is not a cursor this API gave out (cursors are signed; they cannot be changed or made up)."


def changes_cursor(sequence: int) -> str:
    return signing.dumps({"seq": sequence}, salt=CHANGES_SALT)


def read_cursor(value: str, *, salt: str, parameter: str) -> dict:
    try:
        state = signing.loads(value, salt=salt)
    except (signing.BadSignature, ValueError):
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("seq"), int) or state["seq"] < 0:
        raise problem(400, parameter, FOREIGN_CURSOR, "invalid")
    return state


def current_sequence() -> int:
    """The latest change's sequence number; 0 before the first change."""
    return ChangeLog.objects.aggregate(sequence=Max("id"))["sequence"] or 0


# --- Serializers (built per entity) ---------------------------------------------------


@extend_schema_field(OpenApiTypes.BOOL)
class NotDeletedField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", help_text="false: the record exists.", **kwargs)

    def to_representation(self, value):
        return False


class ChangeItemsField(serializers.ListField):
    """The results of a page: records, and among changes deletions; ``deleted`` tells them apart."""

    def __init__(self, record: type[serializers.Serializer], deletion: type[serializers.Serializer], **kwargs):
        self.record, self.deletion = record, deletion
        super().__init__(read_only=True, **kwargs)


class ChangeItemsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ChangeItemsField

    def map_serializer_field(self, auto_schema, direction):
        items = [
            auto_schema.resolve_serializer(item, direction).ref for item in (self.target.record, self.target.deletion)
        ]
        return build_array_type({"anyOf": items})


def _reference_by_key(self, field_name, relation_info):
    """References by the natural key of the entity they point to (a vendor's currency by its code)."""
    related = TRACKED_BY_MODEL[relation_info.related_model]
    return serializers.SlugRelatedField, {
        "slug_field": related.key,
        "read_only": True,
        "allow_null": relation_info.model_field.null,
    }


def record_serializer(entity: TrackedEntity) -> type[serializers.ModelSerializer]:
    model = entity.model
    leading = ["legal_entity", entity.key] if entity.per_legal_entity else [entity.key]
    own = [field.name for field in model._meta.concrete_fields if field.name not in ("id", *leading, *TRACKING)]
    extra = {}
    if "parent" in own:  # the procurement category hierarchy
        extra["is_root"] = serializers.BooleanField(read_only=True, help_text="True for a root category.")
    fields = (*leading, *own, *extra, "deleted", *TRACKING)
    meta = type("Meta", (), {"model": model, "fields": fields, "read_only_fields": fields})
    return type(
        f"{model.__name__}Serializer",
        (serializers.ModelSerializer,),
        {
            "__doc__": f"A {model._meta.verbose_name}; references by their natural keys.",
            "Meta": meta,
            "deleted": NotDeletedField(),
            "build_relational_field": _reference_by_key,
            **extra,
        },
    )


def deletion_serializer(entity: TrackedEntity) -> type[serializers.Serializer]:
    model = entity.model
    fields = {
        "deleted": serializers.BooleanField(read_only=True, help_text="true: no record exists under this key any more.")
    }
    if entity.per_legal_entity:
        fields["legal_entity"] = serializers.CharField(read_only=True)
    fields[entity.key] = serializers.CharField(read_only=True)
    doc = f"A {model._meta.verbose_name} that was deleted (or whose key changed): only its key."
    return type(f"{model.__name__}DeletionSerializer", (serializers.Serializer,), {"__doc__": doc, **fields})


def page_serializer(entity: TrackedEntity, record, deletion) -> type[serializers.Serializer]:
    return type(
        f"{entity.model.__name__}ChangesSerializer",
        (serializers.Serializer,),
        {
            "__doc__": "One page of a snapshot or of the changes since a cursor.",
            "next": serializers.URLField(
                read_only=True, allow_null=True, help_text="The next page of this answer; null on the last page."
            ),
            "next_cursor": serializers.CharField(
                read_only=True,
                help_text="Send it as changed_since to get what changed after this answer (once next is null).",
            ),
            "results": ChangeItemsField(record, deletion),
        },
    )


# --- The endpoints ------------------------------------------------------------------------

CHANGED_SINCE = OpenApiParameter(
    "changed_since",
    OpenApiTypes.STR,
    description="A next_cursor from an earlier answer: only what changed after it, deletions included, each record "
    "once at its latest change, in change order. Without it: a full snapshot.",
)
SNAPSHOT_CURSOR = OpenApiParameter(
    "cursor", OpenApiTypes.STR, description="The next page of a snapshot (taken from next; not made by clients)."
)
PAGE_SIZE = OpenApiParameter("page_size", OpenApiTypes.INT, description="Items per page, up to 1,000 (default 100).")


class MasterDataView(ApiView):
    """One master-data entity: a snapshot, or its changes since a cursor."""

    entity: TrackedEntity
    record_serializer: type[serializers.Serializer]

    def answer(self, request) -> Response:
        if "ordering" in request.query_params:
            raise problem(400, "ordering", "master data comes in a fixed order (by id, or by change).", "unsupported")
        self.entity_ids = requested_legal_entity_ids(request, self.caller) if self.entity.per_legal_entity else None
        size = ApiCursorPagination().get_page_size(request)
        changed_since, cursor = request.query_params.get("changed_since"), request.query_params.get("cursor")
        if changed_since is not None and cursor is not None:
            raise problem(400, "cursor", "give changed_since or cursor, not both.", "invalid")
        if changed_since is not None:
            since = read_cursor(changed_since, salt=CHANGES_SALT, parameter="changed_since")["seq"]
            return self.changes(since, size)
        return self.snapshot(cursor, size)

    # --- Scope: company-specific records by legal entity, legal entities by grant ---

    def scoped(self, queryset, *, pk_field: str = "pk"):
        if self.entity.per_legal_entity:
            return self.caller.scope(queryset, self.entity_ids)
        if self.entity.model is LegalEntity and self.caller.granted_ids is not None:
            return queryset.filter(**{f"{pk_field}__in": self.caller.granted_ids})
        return queryset  # shared by every legal entity

    def snapshot(self, cursor: str | None, size: int) -> Response:
        if cursor is None:
            sequence, after = current_sequence(), 0
        else:
            state = read_cursor(cursor, salt=SNAPSHOT_SALT, parameter="cursor")
            if state.get("entity") != self.entity.name or not isinstance(state.get("after"), int):
                raise problem(400, "cursor", FOREIGN_CURSOR, "invalid")
            sequence, after = state["seq"], state["after"]
        rows = list(self.scoped(self.get_queryset()).filter(pk__gt=after).order_by("pk")[: size + 1])
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            state = {"entity": self.entity.name, "seq": sequence, "after": rows[-1].pk}
            next_url = replace_query_param(
                self.request.build_absolute_uri(), "cursor", signing.dumps(state, salt=SNAPSHOT_SALT)
            )
        return self.page(self.record_serializer(rows, many=True).data, next_url, sequence)

    def changes(self, since: int, size: int) -> Response:
        upto = current_sequence()
        if since > upto:
            raise problem(
                400,
                "changed_since",
                "is ahead of the change log (was the database restored?); read a full snapshot without changed_since.",
                "invalid",
            )
        name = self.entity.name
        superseded = ChangeLog.objects.filter(entity=name, natural_key=OuterRef("natural_key"), id__gt=OuterRef("id"))
        if self.entity.per_legal_entity:
            superseded = superseded.filter(legal_entity=OuterRef("legal_entity"))
        log = self.scoped(ChangeLog.objects.filter(entity=name, id__gt=since, id__lte=upto), pk_field="object_pk")
        entries = list(log.filter(~Exists(superseded)).select_related("legal_entity").order_by("id")[: size + 1])
        next_url, reached = None, upto
        if len(entries) > size:
            entries = entries[:size]
            reached = entries[-1].id
            url = remove_query_param(self.request.build_absolute_uri(), "cursor")
            next_url = replace_query_param(url, "changed_since", changes_cursor(reached))
        return self.page(self.change_items(entries), next_url, reached)

    def change_items(self, entries: list[ChangeLog]) -> list[dict]:
        """Each entry as the record it names now, or as a deletion when none exists under its key."""
        upserted = [entry.object_pk for entry in entries if entry.operation == ChangeOperation.UPSERT]
        records = self.get_queryset().in_bulk(upserted)
        items = []
        for entry in entries:
            record = records.get(entry.object_pk) if entry.operation == ChangeOperation.UPSERT else None
            if record is not None and self.entity.log_key(record) == (entry.natural_key, entry.legal_entity_id):
                items.append(self.record_serializer(record).data)
                continue
            deletion = {"deleted": True}
            if self.entity.per_legal_entity:
                deletion["legal_entity"] = entry.legal_entity.code
            deletion[self.entity.key] = entry.natural_key
            items.append(deletion)
        return items

    def page(self, results: list, next_url: str | None, sequence: int) -> Response:
        return Response({"next": next_url, "next_cursor": changes_cursor(sequence), "results": results})


def master_data_view(entity: TrackedEntity) -> type[MasterDataView]:
    record = record_serializer(entity)
    label = entity.model._meta.verbose_name_plural
    if entity.per_legal_entity:
        scope = "Scoped to legal entities (legal_entity=… or cross_company=true). "
    elif entity.model is LegalEntity:
        scope = "The legal entities granted to the caller. "
    else:
        scope = "Shared by every legal entity: no legal_entity needed. "

    @extend_schema(
        operation_id=f"master_data_{entity.name.replace('-', '_')}_list",
        summary=f"List {label}, or what changed since a cursor",
        description=f"{scope}Without changed_since: every record, paged by id, and next_cursor to continue "
        "incrementally from. With changed_since: what changed after it (each record once, at its latest change, in "
        'change order; a deleted record as {"deleted": true, <key>}) and next_cursor for the next call (SPEC §8.4).',
        parameters=[*(schema.SCOPE if entity.per_legal_entity else []), CHANGED_SINCE, SNAPSHOT_CURSOR, PAGE_SIZE],
        responses={200: page_serializer(entity, record, deletion_serializer(entity)), **schema.errors()},
    )
    def get(self, request):
        return self.answer(request)

    relations = [field.name for field in entity.model._meta.concrete_fields if field.is_relation]
    return type(
        f"{entity.model.__name__}MasterDataView",
        (MasterDataView,),
        {
            "entity": entity,
            "record_serializer": record,
            "permission_model": entity.model,
            "queryset": entity.model.objects.select_related(*relations),
            "get": get,
        },
    )


VIEWS = {entity.name: master_data_view(entity) for entity in TRACKED_ENTITIES}
