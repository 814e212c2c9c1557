"""API clients and their keys (SPEC §2, §8.1).

A key is ``<prefix>.<secret>``: the prefix (8 characters, shown in the admin and stored in
clear) finds the client, and the secret (32 random bytes) proves it. Only a SHA-256 hash of
the whole key is stored, and the plaintext is returned once, by :func:`api_client_create`
and :func:`api_client_rotate_key`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from contracts.choices import ApiClientRole, AuditAction
from contracts.models import ApiClient, LegalEntity

from . import audit
from .common import Actor, Problems

KEY_PREFIX_LENGTH = 8
KEY_SECRET_BYTES = 32
# ``last_used_at`` is refreshed at most this often, so that reads do not each write a row.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def api_client_create(
    *,
    name: str,
    role: str,
    actor: Actor,
    legal_entities: Iterable[LegalEntity] = (),
    cross_company: bool = False,
    connection=None,
) -> tuple[ApiClient, str]:
    """Creates a client and returns it with its plaintext key, which is not kept anywhere."""
    problems = Problems()
    name = (name or "").strip()
    if not name:
        problems.add("name", "is required.", "required")
    elif ApiClient.objects.filter(name=name).exists():
        problems.add("name", f'an API client "{name}" already exists.', "conflict")
    if role not in ApiClientRole.values:
        problems.add("role", f'"{role}" is not a role; use one of {", ".join(ApiClientRole.values)}.')
    problems.raise_if_any()
    key, prefix, key_hash = _new_key()
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name,
            role=role,
            cross_company=cross_company,
            connection=connection,
            key_prefix=prefix,
            key_hash=key_hash,
        )
        client.legal_entities.set(legal_entities)
        changes = {**audit.created_changes(client), **_entities_change([], client.legal_entities.all())}
        audit.audit_record(actor=actor, action=AuditAction.CREATED, instance=client, changes=changes)
    return client, key


def api_client_rotate_key(*, client: ApiClient, actor: Actor) -> str:
    """Gives the client a new key; the old one stops working at once. A revoked client
    gets its access back only through a new key, so rotating also lifts the revocation."""
    key, prefix, key_hash = _new_key()
    values = {"key_prefix": prefix, "key_hash": key_hash, "revoked_at": None}
    with transaction.atomic():
        changes = audit.changes_for(client, values)
        client.key_prefix, client.key_hash, client.revoked_at = prefix, key_hash, None
        client.save(update_fields=["key_prefix", "key_hash", "revoked_at"])
        audit.audit_record(actor=actor, action=AuditAction.KEY_ROTATED, instance=client, changes=changes)
    return key


def api_client_revoke(*, client: ApiClient, actor: Actor) -> ApiClient:
    """Stops the client's key from working, keeping the client and its history."""
    if client.revoked_at is None:
        with transaction.atomic():
            client.revoked_at = timezone.now()
            client.save(update_fields=["revoked_at"])
            changes = {"revoked_at": [None, client.revoked_at.isoformat()]}
            audit.audit_record(actor=actor, action=AuditAction.KEY_REVOKED, instance=client, changes=changes)
    return client


def _entities_change(before: Iterable[LegalEntity], after: Iterable[LegalEntity]) -> dict:
    """The client's legal entities as ``{"legal_entities": [old codes, new codes]}``, if they differ."""
    old, new = sorted(entity.code for entity in before), sorted(entity.code for entity in after)
    return {"legal_entities": [old, new]} if old != new else {}


def api_client_authenticate(key: str) -> ApiClient | None:
    """The active, unrevoked client whose key this is, or ``None``.

    The hash comparison is constant-time; an unknown prefix costs the same hash, so timing
    tells an attacker nothing about which prefixes exist.
    """
    prefix, _, secret = (key or "").strip().partition(".")
    presented_hash = _hash(key.strip()) if key else _hash("")
    client = None
    if prefix and secret and len(prefix) == KEY_PREFIX_LENGTH:
        client = ApiClient.objects.select_related("connection").filter(key_prefix=prefix).first()
    stored_hash = client.key_hash if client is not None else _hash("unknown-prefix")
    if not hmac.compare_digest(presented_hash, stored_hash) or client is None:
        return None
    if not client.is_active or client.revoked_at is not None:
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client


def _new_key() -> tuple[str, str, str]:
    while True:
        prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
        if not ApiClient.objects.filter(key_prefix=prefix).exists():
            break
    key = f"{prefix}.{secrets.token_urlsafe(KEY_SECRET_BYTES)}"
    return key, prefix, _hash(key)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
