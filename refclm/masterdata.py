"""Master data read from clmsite (SPEC §3.1, §8.4): pulled with change tracking, or pushed by clmsite.

The CLM keeps the entities it draws contracts from. Company-specific ones are read across
every legal entity granted to its API key (``cross_company=true``); each entity's change
cursor is kept, so the next read asks only for what changed since, deletions included.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from .clmsite import ClmsiteClient, ClmsiteRefused
from .models import Config, MasterDataCursor, MasterRecord, PushReceipt

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    per_legal_entity: bool


ENTITIES = (
    Entity("legal-entities", "code", False),
    Entity("currencies", "code", False),
    Entity("units", "symbol", False),
    Entity("procurement-categories", "name", False),
    Entity("vendors", "account_number", True),
    Entity("workers", "personnel_number", True),
    Entity("released-products", "item_number", True),
)
ENTITIES_BY_NAME = {entity.name: entity for entity in ENTITIES}


class MasterDataInvalid(ValueError):
    """A pushed master-data change that names no entity or key."""


def master_data_sync(*, client: ClmsiteClient | None = None) -> dict[str, int]:
    """Reads every entity from clmsite: a snapshot the first time, the changes afterwards.

    Returns the number of records upserted or deleted per entity. Raises ``ClmsiteError``
    when clmsite cannot be read; what was read of earlier entities is kept.
    """
    client = client or ClmsiteClient()
    counts = {}
    try:
        for entity in ENTITIES:
            counts[entity.name] = _entity_sync(client, entity)
    except Exception as error:
        Config.objects.filter(pk=client.config.pk).update(master_data_error=str(error)[:1000])
        raise
    Config.objects.filter(pk=client.config.pk).update(master_data_synced_at=timezone.now(), master_data_error="")
    return counts


def _entity_sync(client: ClmsiteClient, entity: Entity) -> int:
    saved = MasterDataCursor.objects.filter(entity=entity.name).first()
    params = {"page_size": PAGE_SIZE}
    if entity.per_legal_entity:
        params["cross_company"] = "true"
    if saved and saved.cursor:
        params["changed_since"] = saved.cursor
    try:
        pages = list(_pages(client, entity, params))
    except ClmsiteRefused as refused:
        if "changed_since" not in params or refused.status != 400:
            raise
        # A cursor clmsite no longer knows (its database was restored): read a snapshot.
        logger.warning("master data %s: cursor refused (%s); reading a full snapshot", entity.name, refused)
        params.pop("changed_since")
        pages = list(_pages(client, entity, params))
    snapshot = "changed_since" not in params
    items = [item for page in pages for item in page["results"]]
    with transaction.atomic():
        seen = set()
        for item in items:
            seen.add(_record_apply(entity, item))
        if snapshot:
            stale = MasterRecord.objects.filter(entity=entity.name)
            for legal_entity, key in stale.values_list("legal_entity", "key"):
                if (legal_entity, key) not in seen:
                    stale.filter(legal_entity=legal_entity, key=key).delete()
        MasterDataCursor.objects.update_or_create(
            entity=entity.name, defaults={"cursor": pages[-1]["next_cursor"], "synced_at": timezone.now()}
        )
    return len(items)


def _pages(client: ClmsiteClient, entity: Entity, params: dict):
    answer = client.api("GET", f"/master-data/{entity.name}/", params=params)
    while True:
        body = answer.body if isinstance(answer.body, dict) else {}
        yield {"results": body.get("results") or [], "next_cursor": body.get("next_cursor") or ""}
        if not body.get("next"):
            return
        answer = client.call("GET", body["next"])


def _record_apply(entity: Entity, item: dict) -> tuple[str, str]:
    """Upserts or deletes one record as clmsite shows it; returns its (legal entity, key)."""
    legal_entity = str(item.get("legal_entity") or "") if entity.per_legal_entity else ""
    key = str(item.get(entity.key) or "")
    if not key:
        raise MasterDataInvalid(f"a {entity.name} record without its key {entity.key}.")
    if item.get("deleted"):
        MasterRecord.objects.filter(entity=entity.name, legal_entity=legal_entity, key=key).delete()
    else:
        MasterRecord.objects.update_or_create(
            entity=entity.name, legal_entity=legal_entity, key=key, defaults={"data": item}
        )
    return legal_entity, key


def master_data_push_apply(*, change: dict, idempotency_key: str) -> bool:
    """Applies one change clmsite pushed (the reference protocol's ``POST /api/master-data/``).

    Returns False when a change with this Idempotency-Key was applied before (nothing changes).
    Entities this CLM does not draw from are kept too, so what clmsite sends is never lost.
    """
    name = str(change.get("entity") or "").strip()
    key = str(change.get("key") or "").strip()
    if not name:
        raise MasterDataInvalid("entity: is required.")
    if not key:
        raise MasterDataInvalid("key: is required.")
    record = change.get("record")
    if record is not None and not isinstance(record, dict):
        raise MasterDataInvalid("record: must be a JSON object.")
    record = record or {}
    deleted = change.get("operation") == "delete" or record.get("deleted") is True
    legal_entity = str(change.get("legal_entity") or record.get("legal_entity") or "")
    entity = ENTITIES_BY_NAME.get(name, Entity(name, "key", bool(legal_entity)))
    item = {**record, "legal_entity": legal_entity, entity.key: key, "deleted": deleted}
    try:
        with transaction.atomic():
            if idempotency_key:
                PushReceipt.objects.create(key=idempotency_key)
            _record_apply(entity, item)
    except IntegrityError:
        return False
    return True


# --- What contracts are drawn from ---------------------------------------------------------


def records(entity: str, legal_entity: str = "") -> list[dict]:
    found = MasterRecord.objects.filter(entity=entity)
    if legal_entity:
        found = found.filter(legal_entity=legal_entity)
    return [record.data for record in found]


def record(entity: str, key: str, legal_entity: str = "") -> dict | None:
    found = MasterRecord.objects.filter(entity=entity, legal_entity=legal_entity, key=key).first()
    return found.data if found else None


def legal_entity_codes() -> list[str]:
    """Legal entities with vendors to contract with, in code order."""
    with_vendors = MasterRecord.objects.filter(entity="vendors").values_list("legal_entity", flat=True).distinct()
    return sorted(set(with_vendors))


def vendors_open(legal_entity: str) -> list[dict]:
    """Vendors of a legal entity that may be contracted with (not blocked)."""
    return [vendor for vendor in records("vendors", legal_entity) if not vendor.get("blocked")]


def master_data_summary() -> dict[str, int]:
    return {entity.name: MasterRecord.objects.filter(entity=entity.name).count() for entity in ENTITIES}
