"""Optimistic concurrency with ETag / If-Match (SPEC §8.1).

The ETag of a record is *weak* (``W/"<pk>-<modified_at in µs, hex>"``): it changes
whenever the record is saved, but not when something the representation only shows
changes (a vendor's name, the time of the last sync), so it promises equivalence, not
byte-equality. ``If-Match`` compares tags by their opaque value (weak comparison), which
is what "has anyone saved it since I read it?" needs. ``If-Match: *`` means "it must
exist"; ``If-None-Match: *`` on PUT means "it must not exist yet" (create only).
"""

from __future__ import annotations

from django.db import models

from .errors import problem


def etag_for(instance: models.Model) -> str:
    stamp = int(instance.modified_at.timestamp() * 1_000_000)
    return f'W/"{instance.pk}-{stamp:x}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def _tags(header: str) -> list[str]:
    return [_opaque(tag) for tag in header.split(",") if tag.strip()]


def check_if_match(request, instance: models.Model | None) -> None:
    """412 (and nothing written) when If-Match names another version, or the record is missing."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    if instance is None:
        raise problem(412, "If-Match", "the record does not exist, so no version of it can match.", "precondition")
    if header.strip() == "*":
        return
    if _opaque(etag_for(instance)) not in _tags(header):
        raise problem(
            412,
            "If-Match",
            f"the record was changed since that version was read; its ETag is now {etag_for(instance)}.",
            "precondition",
        )


def check_if_none_match(request, instance: models.Model | None) -> None:
    """412 when ``If-None-Match: *`` asks to create only and the record exists."""
    header = request.headers.get("If-None-Match")
    if header is not None and header.strip() == "*" and instance is not None:
        raise problem(412, "If-None-Match", "the record already exists.", "precondition")


def not_modified(request, instance: models.Model) -> bool:
    """For GET: whether If-None-Match names the current version (answer 304)."""
    header = request.headers.get("If-None-Match")
    return header is not None and (header.strip() == "*" or _opaque(etag_for(instance)) in _tags(header))
