"""The reference CLM's contracts: created from clmsite's master data, moved through the
lifecycle (``refclm.lifecycle``), edited, amended, and validated against clmsite.

Every change goes through ``_contract_changed``: it bumps the global revision, records the
event and queues what clmsite must hear, in one transaction; the outbox then tries to
deliver it at once, outside the transaction, so no call to clmsite holds the database.
"""

from __future__ import annotations

import datetime
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import lifecycle, masterdata
from .clmsite import ClmsiteClient, ClmsiteError, ClmsiteRefused
from .delivery import agreement_id_find, changes_queue, deliveries_run
from .models import Contract, ContractEvent, ContractType, Counter

REVISION_COUNTER = "revision"
CONTRACT_NUMBER_COUNTER = "contract"
CONTRACT_ID_FORMAT = "RC-{:06d}"
CENT = Decimal("0.01")

COMMITMENT_TYPES = ("ProductQuantity", "ProductVolume", "ProductCategory", "ProductRootCategory")
LINE_FIELDS = frozenset(
    {
        "line_number",
        "external_contract_line_id",
        "commitment_type",
        "product",
        "product_variant",
        "category",
        "unit",
        "committed_quantity",
        "committed_amount",
        "price",
        "price_quantity",
        "line_discount_amount",
        "line_discount_percentage",
        "minimum_release_amount",
        "maximum_release_amount",
        "effective_date",
        "expiration_date",
        "is_commitment_maximum_enforced",
        "is_price_and_discount_fixed",
        "receiving_site",
        "receiving_warehouse",
    }
)
RENEWAL_TYPES = ("None", "Automatic", "Optional", "Evergreen")
# Fields people may edit before execution (the UI's edit page, the control API).
EDITABLE_FIELDS = ("name", "value", "effective_date", "expiration_date")


class InputInvalid(Exception):
    """Bad input, naming the field."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class ActionRefused(Exception):
    """An allowed action that cannot happen now, e.g. an approval whose validation found problems."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.message, self.problems = message, problems or []
        super().__init__(" ".join([message, *self.problems]))


def contract_find(identifier: str) -> Contract | None:
    """A contract by its contract id (RC-000001) or its external id."""
    identifier = (identifier or "").strip()
    return (
        Contract.objects.filter(contract_id=identifier).first()
        or Contract.objects.filter(external_id=identifier).first()
    )


# --- Creating ---------------------------------------------------------------------------------


def contract_create(
    *,
    contract_type: str,
    legal_entity: str = "",
    vendor: str = "",
    name: str = "",
    lines: list | None = None,
    effective_date: datetime.date | None = None,
    expiration_date: datetime.date | None = None,
    expiring_soon: bool = False,
    source_agreement_id: str = "",
    currency: str = "",
    rng: random.Random | None = None,
) -> Contract:
    """A new draft, with whatever is not given drawn from the master data read from clmsite."""
    rng = rng or random.Random()
    if contract_type not in ContractType.values:
        raise InputInvalid("type", f'"{contract_type}" is not a contract type; use one of {", ".join(ContractType)}.')
    legal_entity = _legal_entity_pick(legal_entity, rng)
    party = _vendor_pick(legal_entity, vendor, rng)
    if contract_type == ContractType.NDA:
        if lines:
            raise InputInvalid("lines", "an NDA has no agreement lines.")
        lines = []
    elif lines is None:
        lines = _lines_draw(contract_type, legal_entity, rng)
    else:
        lines = lines_normalize(lines)
    today = timezone.localdate()
    if expiring_soon:
        effective_date = effective_date or today - datetime.timedelta(days=rng.randint(300, 700))
        expiration_date = expiration_date or today + datetime.timedelta(days=rng.randint(3, 25))
    effective_date = effective_date or today + datetime.timedelta(days=rng.randint(0, 21))
    if expiration_date is None:
        expiration_date = effective_date + datetime.timedelta(days=365 * rng.randint(1, 3) - 1)
    if expiration_date < effective_date:
        raise InputInvalid("expiration", f"{expiration_date} is before the effective date {effective_date}.")
    worker = _pick(masterdata.records("workers", legal_entity), rng)
    renewal = rng.choice(RENEWAL_TYPES)

    with transaction.atomic():
        number = Counter.next(CONTRACT_NUMBER_COUNTER)
        contract = Contract(
            external_id=str(uuid.uuid4()),
            contract_id=CONTRACT_ID_FORMAT.format(number),
            legal_entity=legal_entity,
            contract_type=contract_type,
            status=lifecycle.DRAFT,
            name=(name or _name_draw(contract_type, legal_entity, party, lines, effective_date))[:255],
            account_type="Vend",
            account_relation_id=party["account_number"],
            party_number=party.get("party_number") or "",
            party_name=party.get("name") or "",
            requester_worker_name=(worker or {}).get("name", ""),
            requester_worker_email=(worker or {}).get("email", ""),
            currency=currency or party.get("currency") or "",
            effective_date=effective_date,
            expiration_date=expiration_date,
            renewal_type=renewal,
            notice_period_days=None if renewal == "None" else rng.choice((30, 60, 90)),
            source_agreement_id=source_agreement_id,
        )
        contract.lines = [
            {**line, "external_contract_line_id": f"{contract.contract_id}-L{line['line_number']}"} for line in lines
        ]
        contract.value = lines_value(contract.lines) if contract.has_agreement else None
        _contract_changed(contract, action="create", from_status="", note=f"created from {_origin(contract)}")
    deliveries_run(contract=contract, immediate=True)
    return contract


def _origin(contract: Contract) -> str:
    if contract.source_agreement_id:
        return f"clmsite purchase agreement {contract.source_agreement_id}"
    return "master data"


def _legal_entity_pick(legal_entity: str, rng: random.Random) -> str:
    codes = masterdata.legal_entity_codes()
    if not codes:
        raise ActionRefused("No master data yet: read it from clmsite first (sync_master_data).")
    if not legal_entity:
        return rng.choice(codes)
    legal_entity = legal_entity.strip().upper()
    if legal_entity not in codes:
        raise InputInvalid("legal_entity", f'"{legal_entity}" has no vendors here; known: {", ".join(codes)}.')
    return legal_entity


def _vendor_pick(legal_entity: str, vendor: str, rng: random.Random) -> dict:
    if vendor:
        found = masterdata.record("vendors", vendor.strip(), legal_entity)
        if found is None:
            raise InputInvalid("vendor", f'no vendor "{vendor}" in legal entity {legal_entity}.')
        return found  # a blocked vendor is allowed here: clmsite's validation will say no
    open_vendors = masterdata.vendors_open(legal_entity)
    if not open_vendors:
        raise InputInvalid("legal_entity", f"legal entity {legal_entity} has no vendor that is not blocked.")
    return rng.choice(open_vendors)


def _pick(items: list, rng: random.Random):
    return rng.choice(items) if items else None


def _money(low: float, high: float, rng: random.Random) -> Decimal:
    return Decimal(str(rng.uniform(low, high))).quantize(CENT, rounding=ROUND_HALF_UP)


def _lines_draw(contract_type: str, legal_entity: str, rng: random.Random) -> list[dict]:
    """1–3 lines: products with quantities and prices for purchases, category amounts for services."""
    count = rng.randint(1, 3)
    if contract_type == ContractType.PURCHASE:
        products = [product for product in masterdata.records("released-products", legal_entity) if product.get("unit")]
        if not products:
            raise ActionRefused(f"Legal entity {legal_entity} has no released products to buy.")
        return [_product_line(product, number, rng) for number, product in enumerate(_sample(products, count, rng), 1)]
    categories = [category for category in masterdata.records("procurement-categories") if not category.get("is_root")]
    if not categories:
        raise ActionRefused("There are no procurement categories to contract services for.")
    return [_category_line(category, number, rng) for number, category in enumerate(_sample(categories, count, rng), 1)]


def _sample(items: list, count: int, rng: random.Random) -> list:
    return rng.sample(items, min(count, len(items)))


def _product_line(product: dict, number: int, rng: random.Random) -> dict:
    return {
        "line_number": number,
        "commitment_type": "ProductQuantity",
        "product": product["item_number"],
        "committed_quantity": str(rng.choice((10, 20, 25, 50, 100, 200, 500, 1000))),
        "price": str(_money(2, 1500, rng)),
        "unit": product["unit"],
    }


def _category_line(category: dict, number: int, rng: random.Random) -> dict:
    return {
        "line_number": number,
        "commitment_type": "ProductCategory",
        "category": category["name"],
        "committed_amount": str(_money(5_000, 120_000, rng).quantize(Decimal("100"))),
    }


def _name_draw(contract_type: str, legal_entity: str, party: dict, lines: list[dict], effective: datetime.date) -> str:
    vendor_name = party.get("name") or party["account_number"]
    if contract_type == ContractType.NDA:
        return f"Mutual NDA with {vendor_name}"
    subject = "Supply"
    if lines:
        first = lines[0]
        product = masterdata.record("released-products", str(first.get("product") or ""), legal_entity) or {}
        subject = first.get("category") or product.get("name") or first.get("product") or subject
    kind = "service agreement" if contract_type == ContractType.SERVICE else "supply"
    return f"{subject} {kind} {effective.year}, {vendor_name}"


def lines_normalize(lines: Any) -> list[dict]:
    """Lines given by a caller, checked for shape (clmsite's validation checks the rest) and numbered."""
    if not isinstance(lines, list):
        raise InputInvalid("lines", "must be a list of line objects.")
    normalized = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise InputInvalid(f"lines.{index}", "must be an object.")
        unknown = sorted(set(line) - LINE_FIELDS)
        if unknown:
            raise InputInvalid(f"lines.{index}.{unknown[0]}", "is not a field of an agreement line.")
        if line.get("commitment_type") not in COMMITMENT_TYPES:
            raise InputInvalid(f"lines.{index}.commitment_type", f"must be one of {', '.join(COMMITMENT_TYPES)}.")
        normalized.append({**line, "line_number": line.get("line_number") or index + 1})
    return normalized


def lines_value(lines: list[dict]) -> Decimal:
    """The committed value of the lines: quantity × price, or the committed amount."""
    total = Decimal(0)
    for line in lines:
        try:
            if line.get("committed_quantity") not in (None, ""):
                total += Decimal(str(line["committed_quantity"])) * Decimal(str(line.get("price") or 0))
            else:
                total += Decimal(str(line.get("committed_amount") or 0))
        except InvalidOperation:
            continue
    return total.quantize(CENT)


# --- Changing ---------------------------------------------------------------------------------


def _contract_changed(
    contract: Contract, *, action: str, from_status: str, note: str = "", step: lifecycle.Step | None = None
) -> None:
    """Saves a change under a new revision, records it and queues its delivery (in the caller's transaction)."""
    contract.revision = Counter.next(REVISION_COUNTER)
    contract.modified_at = timezone.now()
    contract.save()
    ContractEvent.objects.create(
        contract=contract, action=action, from_status=from_status, to_status=contract.status, note=note
    )
    changes_queue(contract=contract, step=step, created=action == "create")


def contract_advance(
    *, contract: Contract, action: str, amendment: dict | None = None, rng: random.Random | None = None
) -> Contract:
    """Takes one lifecycle action. Raises ``lifecycle.ActionNotAllowed`` (wrong status),
    ``ActionRefused`` (an approval that clmsite's validation does not allow) or ``InputInvalid``."""
    step = lifecycle.step_for(action, contract.status, contract.amendment_in_process)
    if step.action.needs_validation and contract.has_agreement and not validation_current(contract):
        result = contract_validate(contract=contract)
        if not result["ok"]:
            raise ActionRefused(f"{contract.contract_id} cannot be approved:", result["problems"])
    changes = amendment_changes(contract, amendment, rng or random.Random()) if step.action.starts_amendment else None
    with transaction.atomic():
        contract = Contract.objects.get(pk=contract.pk)  # the clock or a person may have moved it meanwhile
        step = lifecycle.step_for(action, contract.status, contract.amendment_in_process)
        note = _step_apply(contract, step, changes)
        _contract_changed(contract, action=action, from_status=step.source, note=note, step=step)
    deliveries_run(contract=contract, immediate=True)
    if step.target == lifecycle.WAITING_FOR_APPROVAL and contract.has_agreement:
        contract_validate(contract=contract)
    contract.refresh_from_db()
    return contract


def _step_apply(contract: Contract, step: lifecycle.Step, changes: dict | None) -> str:
    notes = []
    if step.action.starts_amendment:
        contract.amendment_count += 1
        contract.latest_amendment_id = lifecycle.amendment_ids(contract.contract_id, contract.amendment_count)
        contract.latest_external_amendment_id = str(uuid.uuid4())
        contract.pending_amendment = changes
        contract.validation = None
        notes.append(f"amendment {contract.latest_amendment_id} started: {amendment_summary(changes)}")
    if step.completes_amendment:
        changes = contract.pending_amendment or {}
        if changes.get("expiration_date"):
            contract.expiration_date = datetime.date.fromisoformat(changes["expiration_date"])
        if changes.get("value") is not None:
            contract.value = Decimal(changes["value"])
        if changes.get("lines") is not None:
            contract.lines = changes["lines"]
        notes.append(f"amendment {contract.latest_amendment_id} executed")
    if not step.amendment_in_process:
        contract.pending_amendment = None
    contract.amendment_in_process = step.amendment_in_process
    if step.action.expires:
        contract.effective_date, contract.expiration_date = lifecycle.dates_on_expiry(
            contract.effective_date, contract.expiration_date, timezone.localdate()
        )
        notes.append(f"expired on {contract.expiration_date}")
    contract.status = step.target
    return "; ".join(notes)


def amendment_changes(contract: Contract, given: dict | None, rng: random.Random) -> dict:
    """What an amendment will change: as given (expiration_date, value, lines), or drawn:
    a year longer, more quantity or amount, sometimes a new line."""
    if given:
        changes: dict[str, Any] = {}
        if given.get("expiration_date"):
            expiration = date_parse(given["expiration_date"], "expiration_date")
            if contract.effective_date and expiration < contract.effective_date:
                raise InputInvalid("expiration_date", f"{expiration} is before the effective date.")
            changes["expiration_date"] = expiration.isoformat()
        if given.get("value") not in (None, ""):
            changes["value"] = str(decimal_parse(given["value"], "value"))
        if given.get("lines") is not None:
            changes["lines"] = lines_normalize(given["lines"])
        if not changes:
            raise InputInvalid("amendment", "names no change (expiration_date, value or lines).")
        return changes
    base = contract.expiration_date or timezone.localdate()
    changes = {"expiration_date": (base + datetime.timedelta(days=365)).isoformat()}
    if contract.has_agreement and contract.lines:
        lines = [_line_grown(line, rng) for line in contract.lines]
        if rng.random() < 0.3:
            extra = _line_new(contract, lines, rng)
            if extra:
                lines.append(extra)
        changes["lines"] = lines
        changes["value"] = str(lines_value(lines))
    return changes


def _line_grown(line: dict, rng: random.Random) -> dict:
    grown = dict(line)
    if line.get("committed_quantity") not in (None, ""):
        quantity = Decimal(str(line["committed_quantity"])) * Decimal(str(rng.choice((1.1, 1.25, 1.5, 2))))
        grown["committed_quantity"] = str(quantity.quantize(Decimal(1)))
        if line.get("price") and rng.random() < 0.5:
            grown["price"] = str((Decimal(str(line["price"])) * Decimal("1.03")).quantize(CENT))
    elif line.get("committed_amount") not in (None, ""):
        amount = Decimal(str(line["committed_amount"])) * Decimal(str(rng.choice((1.1, 1.2, 1.5))))
        grown["committed_amount"] = str(amount.quantize(CENT))
    return grown


def _line_new(contract: Contract, lines: list[dict], rng: random.Random) -> dict | None:
    number = max(int(Decimal(str(line["line_number"]))) for line in lines) + 1
    if contract.contract_type == ContractType.PURCHASE:
        used = {line.get("product") for line in lines}
        candidates = [
            product
            for product in masterdata.records("released-products", contract.legal_entity)
            if product.get("unit") and product["item_number"] not in used
        ]
        line = _product_line(rng.choice(candidates), number, rng) if candidates else None
    else:
        used = {line.get("category") for line in lines}
        candidates = [
            category
            for category in masterdata.records("procurement-categories")
            if not category.get("is_root") and category["name"] not in used
        ]
        line = _category_line(rng.choice(candidates), number, rng) if candidates else None
    if line:
        line["external_contract_line_id"] = f"{contract.contract_id}-L{number}"
    return line


def amendment_summary(changes: dict | None) -> str:
    changes = changes or {}
    parts = []
    if "expiration_date" in changes:
        parts.append(f"expires {changes['expiration_date']}")
    if "value" in changes:
        parts.append(f"value {changes['value']}")
    if "lines" in changes:
        parts.append(f"{len(changes['lines'])} lines")
    return ", ".join(parts) or "no changes"


def contract_edit(*, contract: Contract, changes: dict) -> Contract:
    """Changes name, value or dates of a contract not yet executed, and delivers the change."""
    if not contract.is_editable:
        raise ActionRefused(
            f"{contract.contract_id} is {contract.status}; only a contract not yet executed can be edited "
            "(amend an executed one)."
        )
    values = {}
    for field, raw in changes.items():
        if field not in EDITABLE_FIELDS:
            raise InputInvalid(field, f"cannot be edited; editable: {', '.join(EDITABLE_FIELDS)}.")
        if field == "name":
            if not str(raw or "").strip():
                raise InputInvalid("name", "is required.")
            values[field] = str(raw).strip()[:255]
        elif field == "value":
            values[field] = None if raw in (None, "") else decimal_parse(raw, "value")
        else:
            values[field] = None if raw in (None, "") else date_parse(raw, field)
    effective = values.get("effective_date", contract.effective_date)
    expiration = values.get("expiration_date", contract.expiration_date)
    if effective and expiration and expiration < effective:
        raise InputInvalid("expiration_date", f"{expiration} is before the effective date {effective}.")
    with transaction.atomic():
        contract = Contract.objects.get(pk=contract.pk)
        changed = [field for field, value in values.items() if getattr(contract, field) != value]
        if not changed:
            return contract
        for field in changed:
            setattr(contract, field, values[field])
        contract.validation = None  # the agreement to validate changed
        _contract_changed(contract, action="edit", from_status=contract.status, note=f"edited {', '.join(changed)}")
    deliveries_run(contract=contract, immediate=True)
    contract.refresh_from_db()
    return contract


def date_parse(value: Any, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise InputInvalid(field, f'"{value}" is not a date (YYYY-MM-DD).') from None


def decimal_parse(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InputInvalid(field, f'"{value}" is not a number.') from None
    if not number.is_finite() or number < 0:
        raise InputInvalid(field, f"{value} must be a number of at least 0.")
    return number.quantize(CENT)


# --- Validation against clmsite (SPEC §8.3) -------------------------------------------------


def validation_current(contract: Contract) -> bool:
    """True when the stored verdict is a pass for the contract as it is now."""
    verdict = contract.validation or {}
    return verdict.get("ok") is True and verdict.get("revision") == contract.revision


def contract_validate(*, contract: Contract, client: ClmsiteClient | None = None) -> dict:
    """Asks clmsite whether the agreement this contract would create or change is valid, and stores the verdict.

    A new contract's lines cannot be validated by clmsite before its agreement exists, so
    the header is validated there and the lines' references are checked against the master
    data read from clmsite; an amendment's header and lines are validated against the
    existing agreement. ``ok`` is None when clmsite could not be asked.
    """
    client = client or ClmsiteClient()
    problems: list[str] = []
    checked: list[str] = []
    try:
        if contract.amendment_in_process:
            _amendment_validate(contract, client, problems, checked)
        else:
            _new_agreement_validate(contract, client, problems, checked)
        ok: bool | None = not problems
    except ClmsiteError as error:
        if isinstance(error, ClmsiteRefused):
            problems.extend(error.messages)
            ok = False
        else:
            problems.append(f"could not validate: {error}")
            ok = None
    verdict = {
        "ok": ok,
        "problems": problems,
        "checked": ", ".join(checked),
        "at": timezone.now().isoformat(),
        "revision": contract.revision,
    }
    Contract.objects.filter(pk=contract.pk).update(validation=verdict)
    contract.validation = verdict
    return verdict


def _header(contract: Contract, lines: list[dict] | None = None) -> dict:
    header = {
        "legal_entity": contract.legal_entity,
        "vendor": contract.account_relation_id,
        "document_title": contract.name,
        "default_effective_date": contract.effective_date.isoformat() if contract.effective_date else None,
        "default_expiration_date": contract.expiration_date.isoformat() if contract.expiration_date else None,
    }
    if contract.currency:
        header["currency"] = contract.currency
    return {key: value for key, value in header.items() if value is not None}


def _new_agreement_validate(contract: Contract, client: ClmsiteClient, problems: list, checked: list) -> None:
    header = _header(contract)
    if contract.source_agreement_id:
        header["agreement_id"] = contract.source_agreement_id  # validated as an update of that agreement
        header.pop("document_title")
    problems.extend(f"header: {problem}" for problem in client.validate("purchase-agreement/", header))
    checked.append("header")
    for line in contract.lines:
        problems.extend(_line_references_missing(contract.legal_entity, line))
    if contract.lines:
        checked.append(f"{len(contract.lines)} line(s) against master data")


LINE_REFERENCES = (
    ("product", "released-products", True),
    ("category", "procurement-categories", False),
    ("unit", "units", False),
)


def _line_references_missing(legal_entity: str, line: dict) -> list[str]:
    missing = []
    for field, entity, per_legal_entity in LINE_REFERENCES:
        key = line.get(field)
        if key and masterdata.record(entity, str(key), legal_entity if per_legal_entity else "") is None:
            where = f" in {legal_entity}" if per_legal_entity else ""
            missing.append(
                f'line {line["line_number"]}: {field}: no {entity} "{key}"{where} in clmsite\'s master data.'
            )
    return missing


def _amendment_validate(contract: Contract, client: ClmsiteClient, problems: list, checked: list) -> None:
    agreement_id = contract.agreement_id or agreement_id_find(
        legal_entity=contract.legal_entity, contract_id=contract.contract_id, client=client
    )
    changes = contract.pending_amendment or {}
    if not agreement_id:
        _new_agreement_validate(contract, client, problems, checked)
        return
    header = _header(contract)
    header.pop("vendor")
    header["agreement_id"] = agreement_id
    if changes.get("expiration_date"):
        header["default_expiration_date"] = changes["expiration_date"]
    problems.extend(f"header: {problem}" for problem in client.validate("purchase-agreement/", header))
    checked.append(f"header of {agreement_id}")
    if contract.source_agreement_id:
        return  # the lines of an SCM agreement are procurement's, not the contract's
    current = {str(line["line_number"]): line for line in contract.lines}
    for line in changes.get("lines") or []:
        number = str(line["line_number"])
        address = {"legal_entity": contract.legal_entity, "agreement_id": agreement_id, "line_number": number}
        before = current.get(number)
        if before is None:
            found = client.validate("purchase-agreement-lines/", {**line, **address})
        else:
            changed = {key: value for key, value in line.items() if before.get(key) != value}
            if not changed:
                continue
            found = client.validate("purchase-agreement-lines/update/", {**changed, **address})
        problems.extend(f"line {number}: {problem}" for problem in found)
        checked.append(f"line {number}")
