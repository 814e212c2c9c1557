"""Navigation links rendered as buttons that open the external CLM (SPEC §3.6, §6.1–§6.3).

``navigation_url`` is the single renderer: the buttons of the browser UI and the admin's
absolute-URL preview both go through it, so what an admin previews is what a person opens.

A link's absolute URL is the connection's navigation base URL joined with the link's
relative URL by exactly one slash, then ``?`` and its parameters in position order. Each
parameter value mixes literal text with ``%Model.Field%`` placeholders, replaced from the
selected contract or purchase agreement; keys and values are then URL-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from contracts.choices import AgreementOwnership, ContractStatus, NavigationAction, NavigationType
from contracts.models import Contract, ContractType, Currency, LegalEntity, PurchaseAgreement, Vendor

from .models import Connection, NavigationLink

# What each placeholder reads, as a dotted attribute path from its record.
CONTRACT_FIELDS = {
    "ContractId": "contract_id",
    "ExternalContractId": "external_contract_id",
    "LegalEntityId": "legal_entity.code",
    "ContractType": "contract_type.name",
    "ContractName": "name",
    "ContractStatus": "status",
    "AccountType": "account_type",
    "AccountRelationId": "account_relation_id",
    "PartyNumber": "party_number",
    "ContactPersonId": "contact_person_id",
    "LatestAmendmentId": "latest_amendment_id",
    "LatestExternalAmendmentId": "latest_external_amendment_id",
}
AGREEMENT_FIELDS = {
    "PurchaseAgreementId": "agreement_id",
    "BuyingLegalEntityId": "legal_entity.code",
    "ExternalContractId": "external_contract_id",
    "ContractId": "contract.contract_id",
    "DocumentTitle": "document_title",
    "VendorAccountNumber": "vendor.account_number",
    "VendorReference": "vendor_reference",
    "CurrencyCode": "currency.code",
    "AgreementOwnership": "ownership",
    "AgreementStatus": "status",
}
RECORD_FIELDS = {"Contract": CONTRACT_FIELDS, "PurchaseAgreement": AGREEMENT_FIELDS}

# ``%Model.Field%``; any other ``%`` is literal text.
PLACEHOLDER_PATTERN = re.compile(r"%(\w+)\.(\w+)%")


def _placeholders(model: str) -> tuple[str, ...]:
    return tuple(f"%{model}.{field}%" for field in RECORD_FIELDS[model])


# The placeholders offered per navigation type. New on All contracts has no record selected;
# New on an agreement has only the agreement; View/Edit/Amend show on contracts and on the
# agreements linked to them (on a contract page the agreement placeholders render empty).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    NavigationType.NEW_CONTRACT: (),
    NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT: _placeholders("PurchaseAgreement"),
    NavigationType.EDIT_CONTRACT: _placeholders("Contract") + _placeholders("PurchaseAgreement"),
    NavigationType.AMEND_CONTRACT: _placeholders("Contract") + _placeholders("PurchaseAgreement"),
    NavigationType.VIEW_CONTRACT: _placeholders("Contract") + _placeholders("PurchaseAgreement"),
}
KNOWN_PLACEHOLDERS = frozenset(_placeholders("Contract") + _placeholders("PurchaseAgreement"))

BUTTON_LABELS = {
    NavigationType.NEW_CONTRACT: "New",
    NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT: "New",
    NavigationType.EDIT_CONTRACT: "Edit",
    NavigationType.AMEND_CONTRACT: "Amend",
    NavigationType.VIEW_CONTRACT: "View",
}
CONTRACT_NAVIGATION_TYPES = (NavigationType.VIEW_CONTRACT, NavigationType.EDIT_CONTRACT, NavigationType.AMEND_CONTRACT)

# Characters an admin may write in a relative URL that keep their meaning; the rest is encoded.
RELATIVE_URL_SAFE = "/?#&=:;@!$'()*+,~%"


@dataclass(frozen=True)
class NavigationButton:
    navigation_type: str
    label: str
    url: str
    opens_in_new_tab: bool


def navigation_value_problems(navigation_type: str, value: str) -> list[str]:
    """Why ``value`` cannot be stored for a link of ``navigation_type``: one message per
    placeholder that is unknown or not offered for that type, listing the offered ones."""
    offered = PLACEHOLDERS.get(navigation_type, ())
    type_label = NavigationType(navigation_type).label if navigation_type in NavigationType.values else navigation_type
    if offered:
        allowed = f"Placeholders offered for {type_label} links: {', '.join(offered)}."
    else:
        allowed = f"{type_label} links offer no placeholders."
    problems = []
    for placeholder in dict.fromkeys(match.group(0) for match in PLACEHOLDER_PATTERN.finditer(value)):
        if placeholder in offered:
            continue
        reason = "is not offered for this navigation type" if placeholder in KNOWN_PLACEHOLDERS else "is unknown"
        problems.append(f"The placeholder {placeholder} {reason}. {allowed}")
    return problems


def navigation_url(
    link: NavigationLink,
    *,
    contract: Contract | None = None,
    agreement: PurchaseAgreement | None = None,
    parameters: Iterable[tuple[str, str]] | None = None,
) -> str:
    """The absolute URL of ``link`` for the selected record.

    ``parameters`` (key, value) pairs replace the link's stored ones: the admin preview
    renders what is typed before it is saved. The contract of ``agreement`` stands in when
    no contract is given. A placeholder not offered for the link's type is left as typed
    (the admin refuses it; this only matters for links written some other way).
    """
    if contract is None and agreement is not None:
        contract = agreement.contract
    records = {"Contract": contract, "PurchaseAgreement": agreement}
    offered = PLACEHOLDERS.get(link.navigation_type, ())

    def replace(match: re.Match) -> str:
        if match.group(0) not in offered:
            return match.group(0)
        model, field = match.groups()
        return _read(records[model], RECORD_FIELDS[model][field])

    if parameters is None:
        parameters = [(parameter.key, parameter.value) for parameter in link.parameters.all()]
    query = urlencode(
        [(key, PLACEHOLDER_PATTERN.sub(replace, value)) for key, value in parameters], quote_via=quote, safe=""
    )
    base = link.connection.effective_navigation_base_url.rstrip("/")
    url = f"{base}/{quote(link.relative_url.strip().lstrip('/'), safe=RELATIVE_URL_SAFE)}"
    if not query:
        return url
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _read(record, path: str) -> str:
    value = record
    for attribute in path.split("."):
        if value is None:
            break
        value = getattr(value, attribute)
    return "" if value is None else str(value)


def contract_buttons(contract: Contract) -> list[NavigationButton]:
    """View, Edit and Amend for the contract's own connection, as far as they are configured.

    Prefetch ``connection__navigation_links__parameters`` when calling this per row.
    """
    links = _links_by_type(contract.connection)
    return [_button(links[kind], contract=contract) for kind in CONTRACT_NAVIGATION_TYPES if kind in links]


def new_contract_button(connection: Connection | None) -> NavigationButton | None:
    """New on All contracts: starts a contract in the CLM of ``connection``."""
    link = _links_by_type(connection).get(NavigationType.NEW_CONTRACT)
    return _button(link) if link else None


def agreement_buttons(agreement: PurchaseAgreement) -> list[NavigationButton]:
    """View, Edit and Amend of the linked contract (its connection's links), and New for an
    SCM-owned agreement that no contract references yet, once per enabled connection that
    configures it; with several such connections each New button names its connection."""
    buttons = []
    if agreement.contract_id is not None:
        contract = agreement.contract
        links = _links_by_type(contract.connection)
        buttons += [
            _button(links[kind], contract=contract, agreement=agreement)
            for kind in CONTRACT_NAVIGATION_TYPES
            if kind in links
        ]
    elif agreement.ownership == AgreementOwnership.SCM:
        new_links = list(
            NavigationLink.objects.filter(
                navigation_type=NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT, connection__enabled=True
            )
            .select_related("connection")
            .prefetch_related("parameters")
            .order_by("connection__name")
        )
        for link in new_links:
            label = "New" if len(new_links) == 1 else f"New ({link.connection.name})"
            buttons.append(_button(link, agreement=agreement, label=label))
    return buttons


def _links_by_type(connection: Connection | None) -> dict[str, NavigationLink]:
    if connection is None or not connection.enabled:
        return {}
    return {link.navigation_type: link for link in connection.navigation_links.all()}


def _button(link: NavigationLink, *, label: str = "", **records) -> NavigationButton:
    return NavigationButton(
        navigation_type=link.navigation_type,
        label=label or BUTTON_LABELS[link.navigation_type],
        url=navigation_url(link, **records),
        opens_in_new_tab=link.action == NavigationAction.OPEN_IN_NEW_TAB,
    )


# --- The admin's preview --------------------------------------------------------------


@dataclass(frozen=True)
class PreviewSample:
    """The record a preview is rendered for, and how the admin is told which one it is."""

    description: str
    contract: Contract | None = None
    agreement: PurchaseAgreement | None = None


def preview_sample(*, connection: Connection, navigation_type: str) -> PreviewSample:
    """The most recent record a link of this type would be opened from, or a built-in
    example when there is none yet: for New from an agreement, the latest SCM-owned
    agreement without a contract; for View/Edit/Amend, the connection's latest contract
    (with its latest agreement, for the agreement placeholders)."""
    if navigation_type == NavigationType.NEW_CONTRACT:
        return PreviewSample("New opens without a selected record.")
    if navigation_type == NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT:
        agreement = (
            PurchaseAgreement.objects.filter(ownership=AgreementOwnership.SCM, contract__isnull=True)
            .select_related("legal_entity", "vendor", "currency")
            .order_by("-modified_at", "-pk")
            .first()
        )
        if agreement is None:
            return PreviewSample("Rendered for a built-in example agreement.", agreement=_example_agreement())
        return PreviewSample(
            f"Rendered for purchase agreement {_record_label(agreement.agreement_id, agreement)}.", agreement=agreement
        )
    contract = (
        Contract.objects.filter(connection=connection)
        .select_related("legal_entity", "contract_type")
        .order_by("-modified_at", "-pk")
        .first()
    )
    if contract is None:
        example = _example_contract()
        return PreviewSample(
            "Rendered for a built-in example contract (this connection has none yet).",
            contract=example,
            agreement=_example_agreement(contract=example),
        )
    agreement = (
        contract.agreements.select_related("legal_entity", "vendor", "currency").order_by("-modified_at", "-pk").first()
    )
    return PreviewSample(
        f"Rendered for contract {_record_label(contract.contract_id, contract)}.",
        contract=contract,
        agreement=agreement,
    )


def _record_label(record_id: str, record) -> str:
    return f"{record_id} ({record.legal_entity.code})"


_EXAMPLE_LEGAL_ENTITY = "USMF"


def _example_contract() -> Contract:
    return Contract(
        contract_id="CON-000123",
        external_contract_id="8f14e45f-ceea-467f-a0e6-example",
        legal_entity=LegalEntity(code=_EXAMPLE_LEGAL_ENTITY),
        contract_type=ContractType(name="Purchase"),
        name="Example purchase contract",
        status=ContractStatus.EXECUTED,
        account_relation_id="V-1001",
        party_number="P-000101",
    )


def _example_agreement(*, contract: Contract | None = None) -> PurchaseAgreement:
    return PurchaseAgreement(
        agreement_id="PA-000123",
        external_contract_id=contract.external_contract_id if contract else "",
        contract=contract,
        ownership=AgreementOwnership.CLM if contract else AgreementOwnership.SCM,
        legal_entity=LegalEntity(code=_EXAMPLE_LEGAL_ENTITY),
        document_title="Example purchase agreement",
        vendor=Vendor(account_number="V-1001"),
        currency=Currency(code="USD"),
    )
