"""The generic REST connector (SPEC §10.3): any JSON API that lists agreements, configured in
the admin instead of coded. Operators' guide: docs/connector-generic-rest.md.

The connection's base URL is where the API lives, its credentials are the secret sent in the
auth header, and its settings say the rest: which endpoint lists the agreements, how that
list pages (``page``, ``offset``, ``cursor``, ``link`` or ``none``), where the list is in an
answer, and which JSONPath in one item holds which contract field. Paths are jsonpath-ng's
dialect (``attributes.dates.start``, ``parties[?role = "vendor"].name``), read from the item.

An item that cannot become a contract (a required field missing, a value of the wrong kind,
a status nobody mapped) is reported for that item; the rest of the page is applied. What is
wrong with the configuration itself is reported whole, when an admin saves the connection.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from django.db import models
from django.utils import timezone
from jsonpath_ng.ext import parse as jsonpath_parse

from connectors.base import (
    Connector,
    ContractRecord,
    ContractReference,
    Handshake,
    PermanentError,
    PullPage,
    WebhookEvent,
)
from connectors.http import HttpClient, json_kind
from connectors.models import SyncRun
from connectors.registry import register_connector
from connectors.support import SettingsReader, calendar_date, stop_at_page_limit, watermark_before
from contracts.choices import ContractStatus, HandshakeStatus
from contracts.models import Contract, ContractType, LegalEntity
from contracts.services.common import Problems, clean_scalars
from contracts.services.contracts import CONTRACT_INPUT_FIELDS, CONTRACT_SCALAR_FIELDS, SOURCE_STAMP_FIELDS

PAGING_STYLES = ("page", "offset", "cursor", "link", "none")
DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_PAGES = 1000
DEFAULT_OVERLAP_MINUTES = 5
# What a field's path can fill: the key (legal entity, contract id) and what contract_upsert takes.
MAPPABLE_FIELDS = ("legal_entity", "contract_id", *CONTRACT_INPUT_FIELDS)
REQUIRED_FIELDS = ("contract_id", "status")
NEXT_TOKEN_MAX = SyncRun._meta.get_field("next_token").max_length
CONTRACT_TYPE_NAME_MAX = ContractType._meta.get_field("name").max_length
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
WHOLE_NUMBER = re.compile(r"\s*-?[0-9]+\s*")
FLAG_WORDS = {
    **dict.fromkeys(("true", "yes", "y", "t", "1"), True),
    **dict.fromkeys(("false", "no", "n", "f", "0"), False),
}
STATUS_BY_NAME = {status.casefold(): status for status in ContractStatus.values}

SETTINGS_HELP = {
    "endpoint": "Required. The list of agreements: a path below the base URL (e.g. /api/v2/agreements) or an "
    "absolute URL.",
    "auth_header": "Header that carries the credentials (default Authorization).",
    "auth_scheme": 'Word sent before the credentials in auth_header (default "Bearer"); "" sends the credentials '
    "as they are, as API keys go.",
    "paging": f"Required. How the list pages: {', '.join(PAGING_STYLES)} (see the guide).",
    "page_param": 'page: the query parameter of the page number (default "page").',
    "first_page": "page: the number of the first page (default 1).",
    "size_param": 'page: the query parameter of the page size (default "page_size"; "" sends none).',
    "page_size": f"Items asked for per page (default {DEFAULT_PAGE_SIZE}). No more than the API's own maximum: a "
    "shorter page is taken as the last.",
    "offset_param": 'offset: the query parameter of the offset (default "offset").',
    "limit_param": 'offset, cursor, link: the query parameter of the page size (default "limit"; "" sends none).',
    "cursor_param": 'cursor: the query parameter that carries the cursor (default "cursor").',
    "next_cursor_path": "cursor: required. Path in the answer to the next page's cursor; none or null ends the list.",
    "next_link_path": "link: path in the answer to the next page's URL; blank reads the Link header (rel=next).",
    "max_pages": f"A pull that would read more pages than this stops with an error (default {DEFAULT_MAX_PAGES}).",
    "items_path": "Path in the answer to the list of agreements; blank when the answer is the list.",
    "total_path": "Path in the answer to the number of agreements in the whole listing (optional; progress, and "
    "the end of page and offset listings).",
    "query": 'Further query parameters sent with every list request, e.g. {"state": "all"}.',
    "fields": 'Required. Contract field → path in one item, e.g. {"contract_id": "ref", "status": "state"}. '
    f"contract_id and status are required. Fields: {', '.join(MAPPABLE_FIELDS)}.",
    "defaults": 'Contract field → fixed value, used when the item has none, e.g. {"contract_type": "NDA"}.',
    "legal_entity": "The clmsite legal entity (code) of every agreement; required unless fields.legal_entity "
    "reads it from the item.",
    "status_map": 'The API\'s status → contract status, e.g. {"signed": "Executed"} (any case). A value that is '
    "already a contract status needs no entry; any other is a problem for its agreement.",
    "type_map": 'The API\'s agreement type → clmsite contract type name, e.g. {"nda": "NDA"}; unmapped types are '
    "used as they are.",
    "modified_since_param": "Query parameter for incremental pulls, sent the start of the last pull (ISO 8601, "
    "UTC) less an overlap. Blank: every pull lists everything (the source stamp keeps it idempotent).",
    "modified_since_overlap_minutes": "How far before its own start a pull sets the next one's modified_since "
    f"(default {DEFAULT_OVERLAP_MINUTES}).",
    "fetch_endpoint": "One agreement, with {external_id} where its id goes, e.g. /api/v2/agreements/{external_id}; "
    "needed by webhooks that only name the agreement.",
    "fetch_item_path": "Path in fetch_endpoint's answer to the agreement; blank when the answer is the agreement.",
    "webhook_id_path": "Path in a webhook's body to the changed agreement's external id, then read from "
    "fetch_endpoint. Blank: webhooks change nothing.",
}


# --- Paths ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonPath:
    """A JSONPath as the admin wrote it, parsed."""

    text: str
    expression: Any = field(repr=False, compare=False)

    def values(self, document: Any) -> list[Any]:
        """Every value the path finds; ``ValueError`` when it cannot be applied to ``document``."""
        try:
            return [match.value for match in self.expression.find(document)]
        except Exception as error:  # a filter comparing text with a number raises TypeError, for one
            raise ValueError(f'the path "{self.text}" cannot be applied here ({type(error).__name__})') from None


@lru_cache(maxsize=512)
def json_path(text: str) -> JsonPath:
    """``text`` parsed; ``ValueError`` saying why it does not parse."""
    try:
        return JsonPath(text, jsonpath_parse(text))
    except Exception as error:  # the parser raises NotImplementedError and others besides its own errors
        raise ValueError(f'"{text}" is not a JSONPath: {error or type(error).__name__}') from None


# --- Settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestSettings:
    """The connection's settings, checked; maps are keyed by case-folded source values."""

    endpoint: str
    auth_header: str
    auth_scheme: str
    paging: str
    page_param: str
    first_page: int
    size_param: str
    page_size: int
    offset_param: str
    limit_param: str
    cursor_param: str
    next_cursor_path: JsonPath | None
    next_link_path: JsonPath | None
    max_pages: int
    items_path: JsonPath | None
    total_path: JsonPath | None
    query: Mapping[str, str]
    fields: Mapping[str, JsonPath]
    defaults: Mapping[str, Any]
    legal_entity: str
    status_map: Mapping[str, str]
    type_map: Mapping[str, str]
    modified_since_param: str
    modified_since_overlap: timedelta
    fetch_endpoint: str
    fetch_item_path: JsonPath | None
    webhook_id_path: JsonPath | None

    @property
    def page_size_param(self) -> str:
        """The query parameter that carries the page size in this paging style ("" when none is sent)."""
        if self.paging == "none":
            return ""
        return self.size_param if self.paging == "page" else self.limit_param

    @classmethod
    def read(cls, raw: Any) -> tuple[RestSettings | None, list[str]]:
        """The settings and every problem with them (the settings are ``None`` when there is any)."""
        if not isinstance(raw, Mapping):
            return None, [f"The settings must be a JSON object, not {json_kind(raw)}."]
        problems: list[str] = []
        read = _RestSettingsReader(raw, problems)
        read.refuse_unknown(SETTINGS_HELP)
        paging = read.text("paging", required=True)
        if paging and paging not in PAGING_STYLES:
            problems.append(f'paging must be one of {", ".join(PAGING_STYLES)}, not "{paging}".')
        settings = cls(
            endpoint=read.endpoint("endpoint", required=True),
            auth_header=read.header_name("auth_header"),
            auth_scheme=read.auth_scheme("auth_scheme"),
            paging=paging,
            page_param=read.text_or("page_param", "page"),
            first_page=read.whole_number("first_page", 1, minimum=0),
            size_param=read.text_or("size_param", "page_size"),
            page_size=read.whole_number("page_size", DEFAULT_PAGE_SIZE, minimum=1),
            offset_param=read.text_or("offset_param", "offset"),
            limit_param=read.text_or("limit_param", "limit"),
            cursor_param=read.text_or("cursor_param", "cursor"),
            next_cursor_path=read.path("next_cursor_path", required=paging == "cursor"),
            next_link_path=read.path("next_link_path"),
            max_pages=read.whole_number("max_pages", DEFAULT_MAX_PAGES, minimum=1),
            items_path=read.path("items_path"),
            total_path=read.path("total_path"),
            query=read.text_map("query"),
            fields=read.fields(),
            defaults=read.defaults(),
            legal_entity=read.text("legal_entity").upper(),
            status_map=read.status_map(),
            type_map=read.type_map(),
            modified_since_param=read.text("modified_since_param"),
            modified_since_overlap=timedelta(
                minutes=read.whole_number("modified_since_overlap_minutes", DEFAULT_OVERLAP_MINUTES, minimum=0)
            ),
            fetch_endpoint=read.endpoint("fetch_endpoint"),
            fetch_item_path=read.path("fetch_item_path"),
            webhook_id_path=read.path("webhook_id_path"),
        )
        if settings.fetch_endpoint and "{external_id}" not in settings.fetch_endpoint:
            problems.append('fetch_endpoint must contain "{external_id}".')
        if settings.webhook_id_path and not settings.fetch_endpoint:
            problems.append("webhook_id_path needs fetch_endpoint, to read the agreement a webhook names.")
        if settings.legal_entity and not LegalEntity.objects.filter(code=settings.legal_entity).exists():
            problems.append(f'legal_entity names "{settings.legal_entity}", which does not exist.')
        elif not settings.legal_entity and "legal_entity" not in settings.fields:
            problems.append("legal_entity is required, unless fields.legal_entity reads it from each item.")
        return (None if problems else settings), problems


class _RestSettingsReader(SettingsReader):
    def text_or(self, key: str, default: str) -> str:
        """A setting whose absence means ``default`` and whose "" means "none"."""
        return self.text(key) if key in self.raw else default

    def endpoint(self, key: str, *, required: bool = False) -> str:
        value = self.text(key, required=required)
        scheme = urlsplit(value).scheme
        if scheme and scheme not in ("http", "https"):
            self.problems.append(f'{key} must be a path or an http(s) URL, not "{value}".')
        return value

    def header_name(self, key: str) -> str:
        value = self.text_or(key, "Authorization")
        if not HEADER_NAME.fullmatch(value):
            self.problems.append(f'{key} "{value}" is not a header name.')
        return value

    def auth_scheme(self, key: str) -> str:
        value = self.text_or(key, "Bearer")
        if value and not HEADER_NAME.fullmatch(value):
            self.problems.append(f'{key} must be one word, like Bearer or Token, not "{value}".')
        return value

    def path(self, key: str, *, required: bool = False) -> JsonPath | None:
        text = self.text(key, required=required)
        return self._parsed(key, text) if text else None

    def fields(self) -> dict[str, JsonPath]:
        known = len(self.problems)
        texts = self.text_map("fields")
        if len(self.problems) > known:
            return {}  # not an object of paths: naming each missing one as well would only repeat it
        for name in REQUIRED_FIELDS:
            if name not in texts:
                self.problems.append(f"fields.{name} is required: the path to each item's {name}.")
        parsed = {}
        for name, text in texts.items():
            if name not in MAPPABLE_FIELDS:
                self.problems.append(f'fields: "{name}" is not a contract field; use {", ".join(MAPPABLE_FIELDS)}.')
            elif (path := self._parsed(f"fields.{name}", text)) is not None:
                parsed[name] = path
        return parsed

    def defaults(self) -> dict[str, Any]:
        value = self.raw.get("defaults") or {}
        if not isinstance(value, Mapping):
            self.problems.append('defaults must be an object of contract field to value, e.g. {"currency": "USD"}.')
            return {}
        for name, default in value.items():
            if name not in MAPPABLE_FIELDS or name in ("legal_entity", "contract_id"):
                self.problems.append(f'defaults: "{name}" cannot have a default; use a contract field but the key.')
                continue
            try:
                _convert(name, default)
            except ValueError as wrong:
                self.problems.append(f"defaults.{name}: {wrong}.")
        return dict(value)

    def status_map(self) -> dict[str, str]:
        mapped = {}
        for source, status in self.text_map("status_map").items():
            canonical = STATUS_BY_NAME.get(status.casefold())
            if canonical is None:
                self.problems.append(
                    f'status_map gives "{source}" the status "{status}"; use one of {", ".join(ContractStatus.values)}.'
                )
            mapped[source.casefold()] = canonical
        return mapped

    def type_map(self) -> dict[str, str]:
        mapped = self.text_map("type_map")
        for name in mapped.values():
            if len(name) > CONTRACT_TYPE_NAME_MAX:
                self.problems.append(
                    f'type_map names a contract type longer than {CONTRACT_TYPE_NAME_MAX} characters: "{name}".'
                )
        return {source.casefold(): name for source, name in mapped.items()}

    def _parsed(self, key: str, text: str) -> JsonPath | None:
        try:
            return json_path(text)
        except ValueError as wrong:
            self.problems.append(f"{key}: {wrong}")
            return None


# --- Mapping an item ------------------------------------------------------------------------


class ItemInvalid(ValueError):
    """An item that cannot become a contract; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _field_kind(name: str) -> str:
    """How a contract field's value is read, from the Contract model's own field."""
    model_field = Contract._meta.get_field(name)
    if model_field.is_relation:
        return "text"  # a reference (legal entity, contract type, currency) is given by its key
    kinds = (
        (models.DateTimeField, "date_time"),
        (models.DateField, "date"),
        (models.BooleanField, "flag"),
        (models.DecimalField, "decimal"),
        (models.IntegerField, "whole_number"),
    )
    return next((kind for model_class, kind in kinds if isinstance(model_field, model_class)), "text")


FIELD_KINDS = {name: _field_kind(name) for name in MAPPABLE_FIELDS}


def _convert(name: str, value: Any) -> Any:
    """A JSON value as the contract field ``name`` takes it (``None`` stays ``None``);
    ``ValueError`` saying what is wrong. The model's own rules are checked afterwards."""
    if value is None:
        return None
    kind = FIELD_KINDS[name]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("is not a finite number")
    if isinstance(value, (dict, list)) or (isinstance(value, bool) and kind != "flag"):
        raise ValueError(f"is {json_kind(value)}, not {'text or a number' if kind != 'flag' else 'true or false'}")
    if kind == "flag":
        flag = FLAG_WORDS.get(str(value).strip().casefold()) if not isinstance(value, bool) else value
        if flag is None:
            raise ValueError(f"{value!r} is not true or false")
        return flag
    if kind == "whole_number":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value):
            value = int(value)
        if not isinstance(value, int):
            raise ValueError(f"{value!r} is not a whole number")
        return value
    if kind in ("date", "date_time") and not isinstance(value, str):
        raise ValueError(f"is {json_kind(value)}, not an ISO 8601 {kind.replace('_', '-')}")
    if kind == "date":
        try:
            return calendar_date(value.strip()).isoformat()
        except ValueError as wrong:
            raise ValueError(f'"{value}" {wrong}') from None
    if kind == "decimal" and not isinstance(value, str):
        return str(value)  # as text, so that 0.1 stays 0.1 instead of the float's 0.1000000000000000055…
    text = value.strip() if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise ValueError("contains a NUL character")  # PostgreSQL cannot store it
    return text


class ItemMapper:
    """Turns one item of the API into a contract, by the connection's field paths."""

    def __init__(self, settings: RestSettings):
        self.settings = settings

    def record(self, item: Any) -> ContractRecord:
        """The contract ``item`` becomes; raises ``ItemInvalid`` with every problem."""
        if not isinstance(item, Mapping):
            raise ItemInvalid([f"the item is {json_kind(item)}, not an object"])
        settings = self.settings
        problems: dict[str, str] = {}  # by field: one problem each, the first found
        data: dict[str, Any] = {}
        for name in MAPPABLE_FIELDS:
            if name not in settings.fields and name not in settings.defaults:
                continue  # not mapped: the contract keeps what it has
            try:
                value = self._found(item, name)
                data[name] = _convert(name, settings.defaults.get(name) if value is None else value)
            except ValueError as wrong:
                problems[name] = str(wrong)
        data["legal_entity"] = (data.get("legal_entity") or settings.legal_entity).upper()
        for name in ("legal_entity", *REQUIRED_FIELDS):
            if not data.get(name):
                problems.setdefault(name, "missing")
        if data.get("status"):
            mapped = settings.status_map.get(data["status"].casefold()) or STATUS_BY_NAME.get(data["status"].casefold())
            if mapped is None:
                problems["status"] = f'"{data["status"]}" is not mapped to a contract status; add it to status_map'
            data["status"] = mapped
        if data.get("contract_type"):
            data["contract_type"] = settings.type_map.get(data["contract_type"].casefold(), data["contract_type"])
        for name in SOURCE_STAMP_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)  # a copy without a stamp never erases the stored one
        checks = Problems()
        # The model's own rules (lengths, choices, e-mail addresses, decimal places), as contract_upsert applies them.
        clean_scalars(Contract, data, ("contract_id", *CONTRACT_SCALAR_FIELDS), checks)
        for problem in checks.found:
            problems.setdefault(problem.field, problem.message.rstrip("."))  # joined with "; ", ended with "."
        if problems:
            raise ItemInvalid([f"{self._described(name)}: {message}" for name, message in problems.items()])
        legal_entity, contract_id = data.pop("legal_entity"), data.pop("contract_id")
        return ContractRecord(legal_entity, contract_id, data)

    def key(self, item: Any, index: int) -> str:
        """The key a failed item is listed under: like an applied contract's (USMF/<id>) when
        its id can be read, else its external id, else its place on the page."""
        read = {}
        for name in ("legal_entity", "contract_id", "external_contract_id"):
            try:
                read[name] = _convert(name, self._found(item, name)) if isinstance(item, Mapping) else None
            except ValueError:
                read[name] = None
        legal_entity = (read["legal_entity"] or self.settings.legal_entity).upper()
        if legal_entity and read["contract_id"]:
            return f"{legal_entity}/{read['contract_id']}"
        return read["external_contract_id"] or f"#{index}"

    def _found(self, item: Mapping, name: str) -> Any:
        """The value at the field's path in ``item`` (``None`` when there is none)."""
        path = self.settings.fields.get(name)
        values = path.values(item) if path is not None else []
        if len(values) > 1:
            raise ValueError(f"the path finds {len(values)} values, not one")
        return values[0] if values else None

    def _described(self, name: str) -> str:
        path = self.settings.fields.get(name)
        return f'{name} ("{path.text}")' if path is not None else name


# --- The connector --------------------------------------------------------------------------


@register_connector
class GenericRestConnector(Connector):
    name = "generic_rest"
    label = "Generic REST (configured)"
    settings_help = SETTINGS_HELP

    @cached_property
    def settings(self) -> RestSettings:
        settings, problems = RestSettings.read(self.connection.settings)
        if problems:
            raise PermanentError(f'The settings of connection "{self.connection}" are not usable: {" ".join(problems)}')
        return settings

    @cached_property
    def client(self) -> HttpClient:
        return HttpClient(
            base_url=self.connection.base_url,
            token=(self.connection.credentials or "").strip(),
            label=f'The API of connection "{self.connection}"',
            auth_header=self.settings.auth_header,
            auth_scheme=self.settings.auth_scheme,
        )

    @cached_property
    def mapper(self) -> ItemMapper:
        return ItemMapper(self.settings)

    def settings_problems(self) -> list[str]:
        return RestSettings.read(self.connection.settings)[1]

    # --- inbound ----------------------------------------------------------------------
    def pull(self, *, since: str, token: str, full: bool) -> PullPage:
        settings = self.settings
        stop_at_page_limit(
            connection_id=self.connection.pk,
            token=token,
            max_pages=settings.max_pages,
            source="The API",
            page_size=settings.page_size if settings.page_size_param else None,
            whole="listing",
        )
        started = timezone.now()
        requested, params = self._request_for(token, since="" if full else since)
        answer, links = self.client.get_json_and_links(requested, params=params)
        items = self._items(answer)
        records, problems = [], []
        for index, item in enumerate(items):
            try:
                records.append(self.mapper.record(item))
            except ItemInvalid as invalid:
                problems.append((self.mapper.key(item, index), f"Record not applied: {invalid}.", item))
        total = self._total(answer)
        watermark = ""
        if settings.modified_since_param and not token:
            # The first page fixes where the next incremental pull starts: this pull's start, less the overlap.
            watermark = watermark_before(started, settings.modified_since_overlap)
        return PullPage(
            records=records,
            next_token=self._next_token(token, requested, answer, links, count=len(items), total=total),
            watermark=watermark,
            total=total,
            problems=problems,
        )

    def fetch(self, external_id: str) -> ContractRecord:
        settings = self.settings
        if not settings.fetch_endpoint:
            raise PermanentError(f'Connection "{self.connection}" has no fetch_endpoint to read one agreement from.')
        answer = self.client.get_json(settings.fetch_endpoint.replace("{external_id}", quote(external_id, safe="")))
        item = answer
        if settings.fetch_item_path is not None:
            item = self._one(answer, settings.fetch_item_path, what=f"The answer for agreement {external_id}")
        try:
            return self.mapper.record(item)
        except ItemInvalid as invalid:
            raise PermanentError(f"Agreement {external_id} was not applied: {invalid}.") from None

    def webhook_changes(self, event: WebhookEvent) -> list[ContractRecord | ContractReference]:
        path = self.settings.webhook_id_path
        if path is None:
            return []
        try:
            ids = path.values(event.payload)
        except ValueError as wrong:
            raise PermanentError(f"Webhook {event.event_id}: {wrong}.") from None
        return [
            ContractReference(str(value).strip())
            for value in ids
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip()
        ]

    def check(self) -> Handshake:
        """Reads the first page: reached when it answers, configured when its items map."""
        page = self.preview()
        read = len(page.records) + len(page.problems)
        message = f"The first page lists {read} agreements: {len(page.records)} mapped, {len(page.problems)} not."
        if page.problems and not page.records:
            first_reason = page.problems[0][1]
            return Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR, f"{message} {first_reason}")
        return Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.SUCCESS, message)

    # --- paging -----------------------------------------------------------------------
    def _request_for(self, token: str, *, since: str) -> tuple[str, dict[str, Any] | None]:
        """(path or URL, query) of the page at ``token``."""
        settings = self.settings
        if settings.paging == "link" and token:
            return token, None  # the API's own link carries every parameter
        params: dict[str, Any] = dict(settings.query)
        if since and settings.modified_since_param:
            params[settings.modified_since_param] = since
        if settings.page_size_param:
            params[settings.page_size_param] = settings.page_size
        if settings.paging == "page":
            params[settings.page_param] = self._position(token, settings.first_page)
        elif settings.paging == "offset":
            params[settings.offset_param] = self._position(token, 0)
        elif settings.paging == "cursor" and token:
            params[settings.cursor_param] = token
        return settings.endpoint, params

    def _next_token(
        self, token: str, requested: str, answer: Any, links: Mapping[str, str], *, count: int, total: int | None
    ) -> str:
        """The position of the next page; empty when this one is the last."""
        settings = self.settings
        if settings.paging == "cursor":
            cursor = self._optional(answer, settings.next_cursor_path, what="The next cursor")
            next_token = "" if cursor is None else str(cursor).strip()
        elif settings.paging == "link":
            href = links.get("next")
            if settings.next_link_path is not None:
                href = self._optional(answer, settings.next_link_path, what="The next link")
            next_token = self._same_site(urljoin(self.client.url_for(requested), str(href))) if href else ""
        elif settings.paging == "page":
            page, sized = self._position(token, settings.first_page), bool(settings.page_size_param)
            # Pages before this one were full: of the size asked for, or else of this page's size.
            listed = (page - settings.first_page) * (settings.page_size if sized else count) + count
            next_token = "" if self._last_page(count, listed, total, sized=sized) else str(page + 1)
        elif settings.paging == "offset":
            offset = self._position(token, 0)
            last = self._last_page(count, offset + count, total, sized=bool(settings.page_size_param))
            next_token = "" if last else str(offset + count)
        else:
            next_token = ""
        if len(next_token) > NEXT_TOKEN_MAX:
            raise PermanentError(
                f"The API's next-page position is {len(next_token)} characters long, more than the "
                f"{NEXT_TOKEN_MAX} a pull can keep: {next_token[:200]}"
            )
        return next_token

    def _last_page(self, count: int, listed: int, total: int | None, *, sized: bool) -> bool:
        """An empty page is the last; so is one that reaches the total, and, when clmsite asked
        for a page size, one shorter than that."""
        return count == 0 or (total is not None and listed >= total) or (sized and count < self.settings.page_size)

    def _position(self, token: str, first: int) -> int:
        if not token:
            return first
        try:
            return int(token)
        except ValueError:
            raise PermanentError(
                f'The pull is at "{token[:200]}", which is not a {self.settings.paging} number: the paging was '
                "changed during this pull. Discard it and start a new one."
            ) from None

    def _same_site(self, url: str) -> str:
        """``url`` when it is on the endpoint's site: the credentials go with every request."""
        if _origin(url) != _origin(self.client.url_for(self.settings.endpoint)):
            raise PermanentError(
                f"The API's next link leads to another site ({url[:200]}); not followed, so that the credentials "
                "go nowhere else."
            )
        return url

    # --- reading answers --------------------------------------------------------------
    def _items(self, answer: Any) -> list[Any]:
        path = self.settings.items_path
        if path is None:
            if not isinstance(answer, list):
                raise PermanentError(
                    f"The answer is {json_kind(answer)}, not a list{_keys_of(answer)}; set items_path to where the "
                    "list of agreements is."
                )
            return answer
        found = self._values(answer, path, what="The answer")
        if not found:
            raise PermanentError(f'The answer has nothing at items_path "{path.text}"{_keys_of(answer)}.')
        if len(found) > 1:
            return found  # a path with a wildcard collects the items from several places
        if found[0] is None:
            return []
        if not isinstance(found[0], list):
            raise PermanentError(f'The answer has {json_kind(found[0])} at items_path "{path.text}", not a list.')
        return found[0]

    def _total(self, answer: Any) -> int | None:
        total = self._optional(answer, self.settings.total_path, what="The total")
        if total is None:
            return None
        if isinstance(total, str) and WHOLE_NUMBER.fullmatch(total):
            total = int(total)
        if isinstance(total, float) and total.is_integer():
            total = int(total)
        if isinstance(total, bool) or not isinstance(total, int):
            raise PermanentError(f'The total at total_path "{self.settings.total_path.text}" is not a whole number.')
        return total

    def _optional(self, answer: Any, path: JsonPath | None, *, what: str) -> Any:
        """The one value at ``path`` in the answer, ``None`` when there is none."""
        if path is None:
            return None
        found = self._values(answer, path, what=what)
        if len(found) > 1:
            raise PermanentError(f'{what} at "{path.text}" is {len(found)} values, not one.')
        value = found[0] if found else None
        if isinstance(value, (dict, list, bool)):
            raise PermanentError(f'{what} at "{path.text}" is {json_kind(value)}, not one value.')
        return value

    def _one(self, answer: Any, path: JsonPath, *, what: str) -> Any:
        found = self._values(answer, path, what=what)
        if len(found) != 1:
            raise PermanentError(f'{what} has {len(found)} values at "{path.text}", not one.')
        return found[0]

    @staticmethod
    def _values(answer: Any, path: JsonPath, *, what: str) -> list[Any]:
        try:
            return path.values(answer)
        except ValueError as wrong:
            raise PermanentError(f"{what}: {wrong}.") from None


def _origin(url: str) -> tuple:
    """(scheme, host, port) of ``url``, the port spelt out when it is the scheme's default."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: no site clmsite sends credentials to
        port = -1
    return parts.scheme, parts.hostname, port or {"http": 80, "https": 443}.get(parts.scheme)


def _keys_of(answer: Any) -> str:
    if isinstance(answer, Mapping):
        return f" (its keys: {', '.join(list(map(str, answer))[:20])})"
    return ""
