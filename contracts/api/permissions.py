"""Who is calling and what it may do: role × legal entity × endpoint (SPEC §2, §8.1).

- An API client's role decides the methods: ``read_only`` clients may only read
  (GET/HEAD/OPTIONS); ``clm_integration`` clients may also write, acting for the CLM.
- People signed in to the browser use their Django permissions (``view_``/``add_``/
  ``change_``/``delete_`` of the endpoint's model). Contracts are never written by people
  (SPEC §3.3: only the integration changes them).
- Legal entities: a record of a legal entity the caller is not granted is "not found"
  (404), so its existence is not disclosed. Lists must say which legal entities they
  cover: ``?legal_entity=USMF`` (repeatable or comma-separated; each must be granted, else
  403 naming it) or ``?cross_company=true`` for every granted one; neither is a 400.
"""

from __future__ import annotations

from functools import cached_property

from django.db.models import QuerySet
from rest_framework import permissions, status

from contracts.models import ApiClient, LegalEntity
from contracts.selectors import sees_every_legal_entity, visible_legal_entities
from contracts.services import Actor, Problem, ValidationFailed

from .errors import problem

TRUE_VALUES = ("true", "1", "yes")
PERSON_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class Caller:
    """The API client or person behind a request, with its actor and its legal entities."""

    def __init__(self, *, api_client: ApiClient | None = None, user=None):
        self.api_client, self.user = api_client, user

    @cached_property
    def actor(self) -> Actor:
        if self.api_client is not None:
            return Actor.for_api_client(self.api_client.name, acts_for_clm=self.api_client.acts_for_clm)
        return Actor.for_user(self.user)

    @cached_property
    def connection(self):
        """The CLM connection an API client pushes for, if it has one."""
        return self.api_client.connection if self.api_client is not None else None

    @property
    def acts_for_clm(self) -> bool:
        return self.actor.acts_for_clm

    @cached_property
    def granted_ids(self) -> frozenset[int] | None:
        """The granted legal entities' ids; ``None`` when every legal entity is granted."""
        if self.api_client is not None:
            if hasattr(self.api_client, "granted_ids"):  # read when its key was checked
                return self.api_client.granted_ids
            if self.api_client.cross_company:
                return None
            return frozenset(self.api_client.legal_entities.values_list("pk", flat=True))
        if sees_every_legal_entity(self.user):
            return None
        return frozenset(visible_legal_entities(self.user).values_list("pk", flat=True))

    def grants(self, entity: LegalEntity | None) -> bool:
        return entity is not None and (self.granted_ids is None or entity.pk in self.granted_ids)

    def scope(self, queryset: QuerySet, entity_ids=None) -> QuerySet:
        """Narrows ``queryset`` to the granted legal entities (and to ``entity_ids`` if given)."""
        if entity_ids is not None:
            queryset = queryset.filter(legal_entity_id__in=entity_ids)
        if self.granted_ids is not None:
            queryset = queryset.filter(legal_entity_id__in=self.granted_ids)
        return queryset


def caller_of(request) -> Caller | None:
    """The caller of an authenticated request, computed once per request."""
    caller = getattr(request, "_api_caller", None)
    if caller is None:
        if isinstance(request.auth, ApiClient):
            caller = Caller(api_client=request.auth)
        elif request.user is not None and request.user.is_authenticated and request.user.is_active:
            caller = Caller(user=request.user)
        else:
            return None
        request._api_caller = caller
    return caller


class CallerPermission(permissions.BasePermission):
    """Role (API clients) or Django permissions (people) for the endpoint's model.

    A view names its model in ``permission_model``; ``people_may_write = False`` keeps
    people to reading; ``person_action`` overrides the action derived from the method
    (the validation endpoints check a write without making it).
    """

    def has_permission(self, request, view) -> bool:
        caller = caller_of(request)
        if caller is None:
            return False
        reading = request.method in permissions.SAFE_METHODS
        if caller.api_client is not None:
            if not reading and not caller.api_client.acts_for_clm:
                self.message = "This API client is read-only: it may only read (GET)."
                return False
            return True
        if not reading and not getattr(view, "people_may_write", True):
            self.message = "Only the CLM integration changes these records; people may read them."
            return False
        action = "view" if reading else getattr(view, "person_action", None) or PERSON_ACTIONS[request.method]
        model = view.permission_model._meta
        if not caller.user.has_perm(f"{model.app_label}.{action}_{model.model_name}"):
            self.message = f"You need the permission to {action} {model.verbose_name_plural}."
            return False
        return True


def person_may(caller: Caller, action: str, model) -> bool:
    """For a person, whether a Django permission allows ``action`` on ``model``; clients pass."""
    if caller.api_client is not None:
        return True
    return caller.user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")


def requested_legal_entity_ids(request, caller: Caller) -> list[int] | None:
    """The legal entities a list covers, from ``legal_entity`` or ``cross_company=true``.

    Returns the ids asked for, or ``None`` for "every granted legal entity".
    """
    codes = []
    for value in request.query_params.getlist("legal_entity"):
        codes += [code.strip().upper() for code in value.split(",") if code.strip()]
    if codes:
        found = {entity.code: entity for entity in LegalEntity.objects.filter(code__in=codes)}
        refused = [code for code in dict.fromkeys(codes) if not caller.grants(found.get(code))]
        if refused:
            # An unknown code and a code not granted get the same answer: no existence leaks.
            raise problem(
                status.HTTP_403_FORBIDDEN,
                "legal_entity",
                f"legal entity {', '.join(refused)} is not granted to you.",
                "not_granted",
            )
        return [entity.pk for entity in found.values()]
    cross_company = request.query_params.get("cross_company")
    if cross_company is not None and cross_company.strip().lower() in TRUE_VALUES:
        return None
    raise problem(
        status.HTTP_400_BAD_REQUEST,
        "legal_entity",
        "say which legal entities to list: legal_entity=<code> (repeatable or comma-separated), "
        "or cross_company=true for every legal entity granted to you.",
        "scope_required",
    )


def contract_link_refusals(caller: Caller, values: dict) -> list[Problem]:
    """An agreement may name a contract of another legal entity only when the caller is
    granted that legal entity: the link shows the contract with the agreement. A refused
    link is taken out of ``values`` and refused like any legal entity not granted (unknown
    codes alike), so that no answer tells whether the contract exists there."""
    code = values.get("contract_legal_entity")
    if code in (None, ""):
        return []
    if caller.grants(LegalEntity.objects.filter(code=str(code).strip().upper()).first()):
        return []
    values.pop("contract_id", None)
    values.pop("contract_legal_entity")
    return [Problem("contract_legal_entity", f"legal entity {code} is not granted to you.", "not_granted")]


def contract_link_check(caller: Caller, values: dict) -> None:
    refusals = contract_link_refusals(caller, values)
    if refusals:
        raise ValidationFailed(refusals)
