"""Shareable, signed links to one vendor, contract or purchase agreement (SPEC §8.5).

A link carries its record's kind, id and legal entity, signed with ``django.core.signing``
(its own salt), so it cannot be altered to open another record. Opening it still needs a
signed-in person who may see that legal entity: the record is read through the same
selectors as its page, and anything else is "not found".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core import signing
from django.db import models
from django.http import Http404
from django.urls import reverse

from contracts import selectors
from contracts.choices import DeepLinkTarget
from contracts.models import Contract, LegalEntity, PurchaseAgreement, Vendor
from contracts.services import Problem, ValidationFailed, agreement_find

SALT = "contracts.deep-link"


@dataclass(frozen=True)
class LinkTarget:
    model: type[models.Model]
    page: str  # the URL name of the record's page
    visible_one: Callable  # selector: (user, pk) → the record, or Http404 outside the user's legal entities
    keys: tuple[str, ...]  # the fields that may name the record; exactly one is given


TARGETS = {
    DeepLinkTarget.VENDOR: LinkTarget(Vendor, "contracts:vendor_detail", selectors.get_vendor_for, ("account_number",)),
    DeepLinkTarget.CONTRACT: LinkTarget(
        Contract, "contracts:detail", selectors.get_contract_for, ("contract_id", "external_contract_id")
    ),
    DeepLinkTarget.AGREEMENT: LinkTarget(
        PurchaseAgreement,
        "contracts:agreement_detail",
        selectors.get_agreement_for,
        ("agreement_id", "external_contract_id"),
    ),
}
KEYS = tuple(dict.fromkeys(key for target in TARGETS.values() for key in target.keys))


@dataclass(frozen=True)
class LinkKey:
    """The record a new link is for, as the caller names it: its kind and one key."""

    target: str
    field: str
    value: str

    @property
    def label(self) -> str:
        return TARGETS[self.target].model._meta.verbose_name

    def missing(self, legal_entity_code: str) -> Problem:
        return Problem(
            self.field, f'no {self.label} "{self.value}" exists in legal entity {legal_entity_code}.', "not_found"
        )


def deep_link_key(*, target: str | None, keys: Mapping[str, str | None]) -> LinkKey:
    """Checks that ``keys`` name a record of kind ``target`` by exactly one of its keys; every problem at once."""
    link_target = TARGETS.get(target)
    if link_target is None:
        choices = ", ".join(DeepLinkTarget.values)
        code = "required" if target in (None, "") else "invalid"
        raise ValidationFailed([Problem("target", f"must be one of {choices}.", code)])
    label = link_target.model._meta.verbose_name
    given = {name: value for name, value in keys.items() if value not in (None, "")}
    allowed = " or ".join(link_target.keys)
    problems = [
        Problem(name, f"does not name a {label}; give {allowed}.", "invalid")
        for name in given
        if name not in link_target.keys
    ]
    named = [name for name in link_target.keys if name in given]
    if not named:
        problems.append(Problem(link_target.keys[0], f"give {allowed}.", "required"))
    elif len(named) > 1:
        problems.append(Problem(named[1], f"give {allowed}, not both.", "invalid"))
    if problems:
        raise ValidationFailed(problems)
    return LinkKey(target, named[0], given[named[0]])


def deep_link_record(key: LinkKey, *, legal_entity: LegalEntity, connection=None):
    """The record ``key`` names in ``legal_entity``; a missing one is a problem with code ``not_found``.

    Of several contracts with one external id (one per connection), ``connection``'s is
    taken; without it, that is ambiguous.
    """
    if key.target == DeepLinkTarget.AGREEMENT:
        return agreement_find(legal_entity=legal_entity, **{key.field: key.value})
    found = TARGETS[key.target].model.objects.filter(legal_entity=legal_entity, **{key.field: key.value})
    if key.target == DeepLinkTarget.CONTRACT and key.field == "external_contract_id":
        if connection is not None and found.filter(connection=connection).exists():
            found = found.filter(connection=connection)
        if found.count() > 1:
            message = f'several contracts have "{key.value}" in legal entity {legal_entity.code}; give contract_id.'
            raise ValidationFailed([Problem(key.field, message, "ambiguous")])
    record = found.first()
    if record is None:
        raise ValidationFailed([key.missing(legal_entity.code)])
    return record


def deep_link_token(target: str, record) -> str:
    return signing.dumps({"t": str(target), "pk": record.pk, "le": record.legal_entity_id}, salt=SALT, compress=True)


def deep_link_destination(user, token: str) -> str:
    """The page a link opens for ``user``; Http404 when it was altered, or the record is gone
    or in a legal entity the user may not see."""
    try:
        payload = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError):
        raise Http404 from None
    if not isinstance(payload, dict):
        raise Http404
    target, pk, legal_entity_id = payload.get("t"), payload.get("pk"), payload.get("le")
    link_target = TARGETS.get(target) if isinstance(target, str) else None
    if link_target is None or not isinstance(pk, int) or not isinstance(legal_entity_id, int):
        raise Http404
    record = link_target.visible_one(user, pk)
    if record.legal_entity_id != legal_entity_id:
        raise Http404
    return reverse(link_target.page, args=[record.pk])
