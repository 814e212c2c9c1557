"""Writes to connections and their navigation links (SPEC §3.5, §3.6, §8.7).

The CLM reports its connection's establishment and configuration status, and reads and
writes the navigation links with their query strings; every rule of those writes is here,
so the API (and anything else that writes them) applies the same ones.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.choices import ApiClientRole, AuditAction, HandshakeStatus, NavigationType
from contracts.models import ApiClient
from contracts.services import audit
from contracts.services.api_clients import api_client_create, api_client_rotate_key
from contracts.services.common import Actor, Problems, clean_scalars, reject_unknown_keys

from . import webhooks
from .models import Connection, NavigationLink, NavigationLinkParameter
from .navigation import navigation_value_problems

STATUS_INPUTS = ("establishment_status", "configuration_status", "message")
STATUS_FIELDS = ("establishment_status", "configuration_status", "status_message", "status_changed_at")
LINK_INPUTS = ("name", "relative_url", "action", "parameters")
PARAMETER_INPUTS = ("key", "value")


def connection_report_status(*, connection: Connection, data: Mapping[str, Any], actor: Actor) -> Connection:
    """Stores the establishment and/or configuration status the CLM reports, and its message.

    Only the values sent change. When a status changes without a message, the old message
    goes: it described the old status.
    """
    problems = Problems()
    reject_unknown_keys(data, STATUS_INPUTS, problems)
    values = clean_scalars(Connection, data, ("establishment_status", "configuration_status"), problems)
    message = data.get("message") or ""
    limit = Connection._meta.get_field("status_message").max_length
    if not isinstance(message, str):
        problems.add("message", "must be text.", "invalid")
    elif len(message) > limit:
        problems.add("message", f"has {len(message)} characters; at most {limit} are kept.", "invalid")
    problems.raise_if_any()
    changed = [name for name, value in values.items() if getattr(connection, name) != value]
    before = audit.snapshot(connection, STATUS_FIELDS)
    for name, value in values.items():
        setattr(connection, name, value)
    if "message" in data or changed:
        connection.status_message = message
    if changed:
        connection.status_changed_at = timezone.now()
    connection.changed_by = actor.label
    with transaction.atomic():
        connection.save()
        changes = audit.changes_between(Connection, before, audit.snapshot(connection, STATUS_FIELDS))
        if changes:
            audit.audit_record(actor=actor, action=AuditAction.STATUS_CHANGED, instance=connection, changes=changes)
    return connection


def navigation_link_put(
    *, connection: Connection, navigation_type: str, data: Mapping[str, Any], actor: Actor
) -> tuple[NavigationLink, bool]:
    """Creates or updates the connection's link of ``navigation_type``; returns it and whether
    it was created. Only the values sent change; ``parameters``, when sent, replace the link's
    query string in the order given, and their placeholders must be offered for the type."""
    with transaction.atomic():
        link = connection.navigation_links.select_for_update().filter(navigation_type=navigation_type).first()
        problems = Problems()
        change = _link_change(navigation_type, data, link, problems)
        problems.raise_if_any()
        return _link_save(connection, navigation_type, link, change, actor), link is None


def navigation_links_replace(*, connection: Connection, data: Mapping[str, Any], actor: Actor) -> list[NavigationLink]:
    """Makes ``data["links"]`` the connection's whole set of links: each listed one is put (as
    ``navigation_link_put``), the others are deleted. Nothing is written unless all are valid."""
    problems = Problems()
    reject_unknown_keys(data, ("links",), problems)
    links = data.get("links")
    if not isinstance(links, list):
        problems.add("links", "give the list of navigation links (an empty list removes them all).", "required")
        problems.raise_if_any()
    with transaction.atomic():
        stored = {link.navigation_type: link for link in connection.navigation_links.select_for_update()}
        changes = {}
        for index, item in enumerate(links):
            prefix = f"links.{index}"
            if not isinstance(item, Mapping):
                problems.add(prefix, "must be a navigation link (an object).", "invalid")
                continue
            navigation_type = item.get("navigation_type")
            if navigation_type not in NavigationType.values:
                problems.add(f"{prefix}.navigation_type", _type_message(navigation_type), "invalid")
                continue
            if navigation_type in changes:
                problems.add(f"{prefix}.navigation_type", f"{navigation_type} is listed twice.", "duplicate")
                continue
            values = {key: value for key, value in item.items() if key != "navigation_type"}
            changes[navigation_type] = _link_change(
                navigation_type, values, stored.get(navigation_type), problems, prefix=f"{prefix}."
            )
        problems.raise_if_any()
        for navigation_type, link in stored.items():
            if navigation_type not in changes:
                navigation_link_delete(link=link, actor=actor)
        return [
            _link_save(connection, navigation_type, stored.get(navigation_type), change, actor)
            for navigation_type, change in sorted(changes.items())
        ]


def navigation_link_delete(*, link: NavigationLink, actor: Actor) -> None:
    with transaction.atomic():
        changes = {**audit.deleted_changes(link), **_parameters_change(_stored_parameters(link), [])}
        audit.audit_record(actor=actor, action=AuditAction.DELETED, instance=link, changes=changes)
        link.delete()


def _stored_parameters(link: NavigationLink) -> list[tuple[str, str]]:
    return [(parameter.key, parameter.value) for parameter in link.parameters.all()] if link.pk else []


def _parameters_change(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> dict:
    """A link's query string as ``{"parameters": [old, new]}`` (each ``key=value``), if it differs."""
    old, new = [f"{key}={value}" for key, value in before], [f"{key}={value}" for key, value in after]
    return {"parameters": [old, new]} if old != new else {}


def _type_message(navigation_type) -> str:
    return f'"{navigation_type}" is not a navigation type; one of {", ".join(NavigationType.values)}.'


def _link_change(
    navigation_type: str, data: Mapping[str, Any], link: NavigationLink | None, problems: Problems, prefix: str = ""
) -> dict[str, Any]:
    """The checked values for a link (``parameters`` as (key, value) pairs when sent)."""
    if navigation_type not in NavigationType.values:
        problems.add(f"{prefix}navigation_type", _type_message(navigation_type), "invalid")
        return {}
    scoped = _Prefixed(problems, prefix)
    reject_unknown_keys(data, LINK_INPUTS, scoped)
    values = clean_scalars(NavigationLink, data, ("name", "relative_url", "action"), scoped)
    if link is None:
        for name in ("name", "relative_url"):
            if not data.get(name) and not problems.has(f"{prefix}{name}"):
                scoped.add(name, "is required for a new navigation link.", "required")
    if "parameters" in data:
        values["parameters"] = _parameters(navigation_type, data["parameters"], scoped)
    return values


def _parameters(navigation_type: str, parameters, problems: _Prefixed) -> list[tuple[str, str]]:
    if parameters is None:
        return []
    if not isinstance(parameters, list):
        problems.add("parameters", 'must be a list of {"key": …, "value": …}.', "invalid")
        return []
    pairs, seen = [], set()
    for index, parameter in enumerate(parameters):
        field = f"parameters.{index}"
        if not isinstance(parameter, Mapping):
            problems.add(field, 'must be {"key": …, "value": …}.', "invalid")
            continue
        item = _Prefixed(problems, f"{field}.")
        reject_unknown_keys(parameter, PARAMETER_INPUTS, item)
        if "key" not in parameter:
            item.add("key", "is required.", "required")
        texts = {}
        for name in PARAMETER_INPUTS:
            if name in parameter and parameter[name] is not None and not isinstance(parameter[name], str):
                item.add(name, "must be text.", "invalid")
            elif name in parameter:
                texts[name] = parameter[name]
        cleaned = clean_scalars(NavigationLinkParameter, texts, PARAMETER_INPUTS, item)
        key, value = cleaned.get("key", ""), cleaned.get("value", "")
        if key and key in seen:
            item.add("key", f'"{key}" is given twice; a key appears once in a query string.', "duplicate")
        seen.add(key)
        for message in navigation_value_problems(navigation_type, value):
            item.add("value", f'"{value}": {message}', "invalid")
        pairs.append((key, value))
    return pairs


class _Prefixed:
    """Problems of a nested object, named by their path (``links.0.parameters.1.value``)."""

    def __init__(self, problems: Problems | _Prefixed, prefix: str):
        self.problems, self.prefix = problems, prefix

    def add(self, field_name: str, message: str, code: str = "invalid") -> None:
        self.problems.add(f"{self.prefix}{field_name}", message, code)


def _link_save(
    connection: Connection, navigation_type: str, link: NavigationLink | None, change: dict, actor: Actor
) -> NavigationLink:
    parameters = change.pop("parameters", None)
    creating = link is None
    if creating:
        link = NavigationLink(connection=connection, navigation_type=navigation_type)
    before = {} if creating else audit.snapshot(link)
    stored_parameters = [] if creating or parameters is None else _stored_parameters(link)
    for name, value in change.items():
        setattr(link, name, value)
    link.changed_by = actor.label
    link.save()  # also when only the parameters change: the link's modified_at is its version
    if parameters is not None:
        link.parameters.all().delete()
        NavigationLinkParameter.objects.bulk_create(
            NavigationLinkParameter(link=link, key=key, value=value, position=position)
            for position, (key, value) in enumerate(parameters)
        )
    changes = audit.changes_between(NavigationLink, before, audit.snapshot(link))
    changes.update(_parameters_change(stored_parameters, parameters if parameters is not None else stored_parameters))
    if creating or changes:
        action = AuditAction.CREATED if creating else AuditAction.UPDATED
        audit.audit_record(actor=actor, action=action, instance=link, changes=changes, object_repr=_link_repr(link))
    return link


def _link_repr(link: NavigationLink) -> str:
    return f"{link.connection.name}: {link.get_navigation_type_display()}"


@dataclass(frozen=True)
class ClmPairing:
    """What a CLM speaking the reference protocol needs to talk to clmsite, and clmsite to it.

    The API key and the secrets are shown here once: clmsite keeps the key's hash and the
    rest encrypted.
    """

    clmsite_url: str
    connection: str
    api_key: str
    webhook_secret: str
    pull_token: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def connection_pair(*, connection: Connection, clm_url: str, clmsite_url: str, actor: Actor) -> ClmPairing:
    """Sets up both directions between clmsite and the CLM at ``clm_url`` in one step.

    The connection gets the CLM's address, a new bearer token for pulling from it, a new
    webhook secret (replacing the old ones: pairing again starts over) and master-data push;
    the connection's API client (``<connection> integration``, role ``clm_integration``, every
    legal entity) is created, or given a new key. Each call invalidates the previous pairing.
    """
    pull_token = secrets.token_urlsafe(32)
    webhook_secret = webhooks.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    with transaction.atomic():
        before = audit.snapshot(connection)
        connection.base_url = clm_url
        connection.credentials = pull_token
        connection.webhook_secrets = webhook_secret
        connection.push_master_data = True
        connection.enabled = True
        # New credentials: whether the CLM can use them is unknown until it reports or is checked.
        connection.establishment_status = HandshakeStatus.NOT_STARTED
        connection.configuration_status = HandshakeStatus.NOT_STARTED
        connection.status_message = f"Paired with the CLM at {clm_url}; waiting for it to report."
        connection.status_changed_at = timezone.now()
        connection.changed_by = actor.label
        connection.save()
        # The secrets go in masked (as every secret): the entry says that they changed, not to what.
        changes = audit.changes_between(Connection, before, audit.snapshot(connection))
        audit.audit_record(actor=actor, action=AuditAction.PAIRED, instance=connection, changes=changes)
        client = ApiClient.objects.filter(connection=connection, role=ApiClientRole.CLM_INTEGRATION).first()
        if client is None:
            client, api_key = api_client_create(
                name=f"{connection.name} integration",
                role=ApiClientRole.CLM_INTEGRATION,
                actor=actor,
                cross_company=True,
                connection=connection,
            )
        else:
            api_key = api_client_rotate_key(client=client, actor=actor)
    return ClmPairing(
        clmsite_url=clmsite_url.rstrip("/"),
        connection=connection.name,
        api_key=api_key,
        webhook_secret=webhook_secret,
        pull_token=pull_token,
    )
