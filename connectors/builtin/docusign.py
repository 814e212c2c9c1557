"""DocuSign Navigator (Agreements API) connector (SPEC §10.2), written against the vendor's
OpenAPI document (shared/vendor/docusign/navigator-agreements-api.json). Operators' guide:
docs/connector-docusign.md.

- Pull: ``GET /v1/accounts/{account_id}/agreements?limit=&ctoken=`` page by page. The next
  token is ``response_metadata.page_token_next`` or the ``ctoken`` of ``_links.next.href``.
  The API documents no "changed since" parameter, so by default every pull is a full
  listing that the source stamp (``metadata.modified_at``) keeps idempotent; an OData
  ``$filter`` for it can be switched on per connection (``changed_since_filter``).
- Fetch: ``GET /v1/accounts/{account_id}/agreements/{id}``.
- Auth: a static bearer token, or OAuth client credentials against ``token_url`` with the
  token kept in this process until shortly before it expires, and renewed once on a 401.
- Webhooks (optional): DocuSign Connect messages, HMAC-SHA256 of the raw body in
  ``X-DocuSign-Signature-1..N``; the envelope they name is looked up and its agreements re-read.

An agreement becomes a contract of the connection's legal entity, its id being both the
contract id and the external contract id; what cannot be mapped is reported per agreement.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import math
import re
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from django.utils import timezone

from connectors.base import (
    Connector,
    ConnectorError,
    ContractRecord,
    ContractReference,
    Handshake,
    PermanentError,
    PullPage,
    TransientError,
    WebhookEvent,
    WebhookRejected,
)
from connectors.http import CredentialsRefused, HttpClient, json_field, json_kind, json_object
from connectors.registry import register_connector
from connectors.support import SettingsReader, calendar_date, stop_at_page_limit, watermark_before
from connectors.webhooks import webhook_payload
from contracts.choices import AccountType, ContractStatus, HandshakeStatus, RenewalType
from contracts.models import ContractType, LegalEntity, Vendor

DEFAULT_PAGE_SIZE = 100
DEFAULT_MAX_PAGES = 1000
DEFAULT_SCOPE = "adm_store_unified_repo_read models_read"
DEFAULT_OVERLAP_MINUTES = 60
DEFAULT_STATUS_MAP = {
    "PENDING": ContractStatus.WAITING_FOR_SIGNATURES,
    "COMPLETE": ContractStatus.EXECUTED,
    # Navigator calls an agreement inactive once it has run its course; Expired closes a
    # linked purchase agreement only when its expiration date has passed (SPEC §4).
    "INACTIVE": ContractStatus.EXPIRED,
}
RENEWAL_TYPES = {
    "EVERGREEN": RenewalType.EVERGREEN,
    "AUTO_RENEW": RenewalType.AUTOMATIC,
    "OPTION_TO_RENEW": RenewalType.OPTIONAL,
}
NDA_CONTRACT_TYPE = "NDA"
# On normalised text (see normal_name): "Non-disclosure Agreement", "Mutual NDA", "NDA_DOCUMENT_DATA".
NDA_WORDS = re.compile(r"\bnda\b|\bnon ?disclosure\b|\bconfidentiality agreement\b")
CONTRACT_TYPE_NAME_MAX = ContractType._meta.get_field("name").max_length
# A token is renewed this long before the token endpoint said it expires (or a tenth of its life).
TOKEN_EXPIRY_MARGIN_SECONDS = 60.0
CONNECT_SIGNATURE_HEADER = re.compile(r"x-docusign-signature-[0-9]+", re.IGNORECASE)
_NUMBER = r"(-?[0-9]+(?:\.[0-9]+)?)"
ISO_DURATION = re.compile(
    rf"P(?:(-?[0-9]+)Y)?(?:(-?[0-9]+)M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)

SETTINGS_HELP = {
    "account_id": "Required. The DocuSign account id (a UUID) whose agreements are read.",
    "legal_entity": "Required. The clmsite legal entity (code, e.g. USMF) the agreements belong to.",
    "page_size": f"Agreements asked for per page, sent as limit (default {DEFAULT_PAGE_SIZE}).",
    "max_pages": f"A pull that would read more pages than this stops with an error (default {DEFAULT_MAX_PAGES}).",
    "type_map": 'DocuSign agreement type or category → clmsite contract type name, e.g. {"Master Service '
    'Agreement": "Purchase"}. Matched before the defaults: NDAs are recognised as "NDA", any other type '
    "is passed on under its own name.",
    "status_map": 'DocuSign status → contract status, overriding the defaults {"PENDING": '
    '"WaitingForSignatures", "COMPLETE": "Executed", "INACTIVE": "Expired"}.',
    "vendor_map": 'Party (name as in the agreement, or party id) → vendor account number, e.g. {"TALLY, LTD": '
    '"V-1001"}, for parties whose name is not a vendor\'s name.',
    "own_parties": "Names (or party ids) under which the legal entity itself appears in agreements; the legal "
    "entity's own name is always one. These parties are not vendors.",
    "token_url": "OAuth token endpoint for the client-credentials grant; blank uses the credentials as a "
    'static bearer token. With it, the credentials are JSON {"client_secret": "..."}.',
    "client_id": "OAuth client id (integration key) for token_url.",
    "scope": f'OAuth scope asked of token_url (default "{DEFAULT_SCOPE}").',
    "connect_enabled": "true to take DocuSign Connect messages at this connection's webhook URL, signed with "
    "HMAC keys entered as its webhook secrets (default false).",
    "changed_since_filter": "OData $filter for incremental pulls, with {since} where the last pull's start goes, "
    "e.g. \"metadata/modified_at ge '{since}'\". Blank (default): every pull lists every agreement.",
    "changed_since_overlap_minutes": "How far before its own start a pull sets the next one's {since}, for "
    f"clock skew and Navigator's indexing delay (default {DEFAULT_OVERLAP_MINUTES}).",
}


def normal_name(text: str) -> str:
    """A name as compared: Unicode-normalised, case-folded, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


# --- Settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavigatorSettings:
    """The connection's settings, checked; maps are keyed by normalised names."""

    account_id: str
    legal_entity: str
    page_size: int
    max_pages: int
    type_map: Mapping[str, str]
    status_map: Mapping[str, str]
    vendor_map: Mapping[str, str]
    own_parties: frozenset[str]
    token_url: str
    client_id: str
    scope: str
    connect_enabled: bool
    changed_since_filter: str
    changed_since_overlap: timedelta

    @classmethod
    def from_connection(cls, connection) -> NavigatorSettings:
        """Raises ``PermanentError`` naming every setting that is wrong."""
        raw = connection.settings if isinstance(connection.settings, Mapping) else {}
        problems: list[str] = []
        read = SettingsReader(raw, problems)
        read.refuse_unknown(SETTINGS_HELP)
        status_map = {
            **DEFAULT_STATUS_MAP,
            **{key.upper(): value for key, value in read.text_map("status_map").items()},
        }
        for key, value in status_map.items():
            if value not in ContractStatus.values:
                problems.append(
                    f'status_map gives "{key}" the status "{value}"; use one of {", ".join(ContractStatus.values)}.'
                )
        type_map = {normal_name(key): value for key, value in read.text_map("type_map").items()}
        for value in type_map.values():
            if len(value) > CONTRACT_TYPE_NAME_MAX:
                problems.append(
                    f'type_map names a contract type longer than {CONTRACT_TYPE_NAME_MAX} characters: "{value}".'
                )
        token_url = read.text("token_url")
        if token_url and urlsplit(token_url).scheme not in ("http", "https"):
            problems.append(f'token_url must be an http(s) URL, not "{token_url}".')
        client_id = read.text("client_id")
        if token_url and not client_id:
            problems.append("client_id is required with token_url.")
        changed_since_filter = read.text("changed_since_filter")
        if changed_since_filter and "{since}" not in changed_since_filter:
            problems.append('changed_since_filter must contain "{since}".')
        settings = cls(
            account_id=read.text("account_id", required=True),
            legal_entity=read.text("legal_entity", required=True).upper(),
            page_size=read.whole_number("page_size", DEFAULT_PAGE_SIZE, minimum=1),
            max_pages=read.whole_number("max_pages", DEFAULT_MAX_PAGES, minimum=1),
            type_map=type_map,
            status_map=status_map,
            vendor_map={normal_name(key): value for key, value in read.text_map("vendor_map").items()},
            own_parties=frozenset(normal_name(name) for name in read.text_list("own_parties")),
            token_url=token_url,
            client_id=client_id,
            scope=read.text("scope") or DEFAULT_SCOPE,
            connect_enabled=read.flag("connect_enabled"),
            changed_since_filter=changed_since_filter,
            changed_since_overlap=timedelta(
                minutes=read.whole_number("changed_since_overlap_minutes", DEFAULT_OVERLAP_MINUTES, minimum=0)
            ),
        )
        if problems:
            raise PermanentError(f'The settings of connection "{connection}" are not usable: {" ".join(problems)}')
        return settings


# --- Bearer tokens ----------------------------------------------------------------------------

# Fetched tokens, kept per process only: the access token never reaches a shared cache.
_token_cache: dict[tuple, tuple[str, float | None]] = {}
_token_cache_lock = threading.Lock()
_clock = time.monotonic


class BearerTokens:
    """The token to send: the credentials themselves, or one fetched from ``token_url``.

    Credentials are either the static token as it is, or JSON: ``{"access_token": "..."}``
    (static) or ``{"client_secret": "..."}`` (with ``token_url`` and ``client_id``).
    """

    def __init__(self, connection, settings: NavigatorSettings):
        self.connection, self.settings = connection, settings
        credentials = _credentials(connection.credentials)
        if settings.token_url:
            secret = credentials.get("client_secret")
            if not isinstance(secret, str) or not secret:
                raise PermanentError('With token_url set, the credentials must be JSON {"client_secret": "..."}.')
            self._secret = secret
            digest = hashlib.sha256(secret.encode()).hexdigest()
            self._cache_key = (connection.pk, settings.token_url, settings.client_id, settings.scope, digest)
        else:
            token = credentials.get("access_token")
            if not isinstance(token, str) or not token.strip():
                raise PermanentError(
                    'The credentials hold no access token: enter the token itself, or JSON {"access_token": "..."}, '
                    "or set token_url and client_id."
                )
            self._static = token.strip()

    @property
    def renewable(self) -> bool:
        return bool(self.settings.token_url)

    def current(self) -> str:
        if not self.renewable:
            return self._static
        with _token_cache_lock:
            cached = _token_cache.get(self._cache_key)
        if cached is not None and (cached[1] is None or _clock() < cached[1]):
            return cached[0]
        token, lifetime = self._fetch()
        # No lifetime given: kept until DocuSign refuses it.
        expires = None if lifetime is None else _clock() + lifetime - min(TOKEN_EXPIRY_MARGIN_SECONDS, lifetime / 10)
        with _token_cache_lock:
            _token_cache[self._cache_key] = (token, expires)
        return token

    def forget(self, token: str) -> None:
        """Drops ``token`` (refused by DocuSign) unless another request has replaced it already."""
        with _token_cache_lock:
            if _token_cache.get(self._cache_key, ("",))[0] == token:
                del _token_cache[self._cache_key]

    def _fetch(self) -> tuple[str, float | None]:
        parts = urlsplit(self.settings.token_url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        client = HttpClient(
            base_url=f"{parts.scheme}://{parts.netloc}", label=f'The token endpoint of connection "{self.connection}"'
        )
        form = {"grant_type": "client_credentials", "scope": self.settings.scope}
        try:
            answer = client.request("POST", path, data=form, auth=(self.settings.client_id, self._secret))
        except ConnectorError as error:
            raise _without(error, self._secret) from None
        what = "The token endpoint's answer"
        answer = json_object(answer, what=what)
        token = json_field(answer, "access_token", (str,), what=what)
        lifetime = json_field(answer, "expires_in", (int, float, type(None)), what=what, required=False)
        if not token.strip():
            raise PermanentError(f"{what} has an empty access_token.")
        return token.strip(), None if lifetime is None else max(0.0, float(lifetime))


def _credentials(text: str) -> dict[str, Any]:
    text = (text or "").strip()
    if not text.startswith("{"):
        return {"access_token": text}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        # Never quote the credentials themselves.
        raise PermanentError("The credentials start like JSON but are not a JSON object.")
    return value


def _without(error: ConnectorError, secret: str) -> ConnectorError:
    """The same error with ``secret`` blanked out of its message (an endpoint may echo it)."""
    message = str(error).replace(secret, "***")
    if isinstance(error, TransientError):
        return TransientError(message, retry_after=error.retry_after)
    # A plain PermanentError, not CredentialsRefused: a refused client is not cured by a new token.
    return PermanentError(message)


# --- Mapping an agreement ---------------------------------------------------------------------


class AgreementInvalid(ValueError):
    """An agreement that cannot become a contract; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class _AgreementReader:
    """Reads typed values out of an agreement, noting every value of the wrong kind."""

    KINDS = {str: "text", dict: "an object", list: "a list", (int, float): "a number"}

    def __init__(self):
        self.problems: list[str] = []
        self.failed: set[str] = set()

    def _value(self, obj: Any, key: str, kind: type | tuple, path: str) -> Any:
        value = obj.get(key) if isinstance(obj, Mapping) else None
        if value is None:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            self.problems.append(f"{path} is {json_kind(value)}, not {self.KINDS[kind]}")
            self.failed.add(path)
            return None
        if isinstance(value, str) and "\x00" in value:
            # PostgreSQL cannot store it; refused here rather than failing the whole page there.
            self.problems.append(f"{path} contains a NUL character")
            self.failed.add(path)
            return None
        return value

    def text(self, obj: Any, key: str, path: str | None = None) -> str | None:
        value = self._value(obj, key, str, path or key)
        return value.strip() or None if value is not None else None

    def object(self, obj: Any, key: str, path: str | None = None) -> Mapping[str, Any]:
        return self._value(obj, key, dict, path or key) or {}

    def list(self, obj: Any, key: str, path: str | None = None) -> list:
        return self._value(obj, key, list, path or key) or []

    def number(self, obj: Any, key: str, path: str) -> int | float | None:
        value = self._value(obj, key, (int, float), path)
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(f"{path} is not a finite number")
            return None
        return value

    def date(self, obj: Any, key: str, path: str) -> date | None:
        """The calendar date as written in the agreement, whatever its offset."""
        text = self.text(obj, key, path)
        if text is None:
            return None
        try:
            return calendar_date(text)
        except ValueError as wrong:
            self.problems.append(f'{path} "{text}" {wrong}')
            return None

    def duration_days(self, obj: Any, key: str, path: str, *, anchor: date | None) -> int | None:
        """An ISO 8601 duration in whole days. Years and months count back from ``anchor`` (the
        expiration date, as DocuSign computes the notice date), else as 365 and 30 days."""
        text = self.text(obj, key, path)
        if text is None:
            return None
        match = ISO_DURATION.fullmatch(text)
        if match is None or not any(match.groups()):
            self.problems.append(f'{path} "{text}" is not an ISO 8601 duration')
            return None
        years, months, weeks, days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
        total = weeks * 7 + days + (hours * 3600 + minutes * 60 + seconds) / 86400
        try:
            if anchor is not None:
                total += (anchor - _months_before(anchor, int(years * 12 + months))).days
            else:
                total += years * 365 + months * 30
            return math.floor(total)
        except (ValueError, OverflowError):
            self.problems.append(f'{path} "{text}" is too long a duration')
            return None


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


class AgreementMapper:
    """Turns agreements into contracts of the connection's legal entity."""

    def __init__(self, settings: NavigatorSettings):
        self.settings = settings
        self.legal_entity = LegalEntity.objects.filter(code=settings.legal_entity).first()
        if self.legal_entity is None:
            raise PermanentError(f'The setting legal_entity names "{settings.legal_entity}", which does not exist.')
        self.own_parties = settings.own_parties | {normal_name(self.legal_entity.name)}

    @cached_property
    def vendors_by_name(self) -> dict[str, set[str]]:
        """Account numbers of the legal entity's vendors by normalised name, read once per connector."""
        index: dict[str, set[str]] = {}
        for name, account in Vendor.objects.filter(legal_entity=self.legal_entity).values_list(
            "name", "account_number"
        ):
            index.setdefault(normal_name(name), set()).add(account)
        return index

    def record(self, item: Any) -> ContractRecord:
        """The contract an agreement becomes; raises ``AgreementInvalid`` with every problem."""
        if not isinstance(item, Mapping):
            raise AgreementInvalid([f"the agreement is {json_kind(item)}, not an object"])
        read = _AgreementReader()
        agreement_id = read.text(item, "id")
        if agreement_id is None and "id" not in read.failed:
            read.problems.append("id is missing")
        title = read.text(item, "title") or read.text(item, "file_name")
        if title is None and not {"title", "file_name"} & read.failed:
            read.problems.append("title is missing")
        provisions = read.object(item, "provisions")
        metadata = read.object(item, "metadata")
        document = read.object(read.object(item, "_links"), "document", "_links.document")
        expiration = read.date(provisions, "expiration_date", "provisions.expiration_date")
        value = read.number(provisions, "total_agreement_value", "provisions.total_agreement_value")
        renewal = read.text(provisions, "renewal_type", "provisions.renewal_type")
        account, party_name = self._vendor(read, read.list(item, "parties"))
        data = {
            "external_contract_id": agreement_id,
            "name": title,
            "contract_type": self._contract_type(read, item, provisions),
            "effective_date": read.date(provisions, "effective_date", "provisions.effective_date"),
            "expiration_date": expiration,
            # As text, so that 0.1 stays 0.1 instead of the float's 0.1000000000000000055….
            "value": None if value is None else str(value),
            "currency": read.text(
                provisions, "total_agreement_value_currency_code", "provisions.total_agreement_value_currency_code"
            ),
            # A renewal kind clmsite has no name for is left blank rather than refusing the agreement.
            "renewal_type": RENEWAL_TYPES.get((renewal or "").upper(), ""),
            "notice_period_days": read.duration_days(
                provisions, "renewal_notice_period", "provisions.renewal_notice_period", anchor=expiration
            ),
            "notice_date": read.date(provisions, "renewal_notice_date", "provisions.renewal_notice_date"),
            "account_type": AccountType.VENDOR,
            "account_relation_id": account,
            "party_name": party_name,
            "document_url": read.text(document, "href", "_links.document.href") or "",
        }
        status = self._status(read, item)
        if status is not None:
            data["status"] = status
        # Left out when absent, so that a copy without a stamp never erases the stored one.
        stamp = read.text(metadata, "modified_at", "metadata.modified_at") or read.text(
            metadata, "created_at", "metadata.created_at"
        )
        if stamp is not None:
            data["source_modified_at"] = stamp
        if read.problems:
            raise AgreementInvalid(read.problems)
        for name in ("effective_date", "expiration_date", "notice_date"):
            data[name] = data[name] and data[name].isoformat()
        return ContractRecord(self.legal_entity.code, agreement_id, data)

    def _contract_type(self, read: _AgreementReader, item: Mapping, provisions: Mapping) -> str | None:
        given = [text for text in (read.text(item, "type"), read.text(item, "category")) if text]
        for text in given:
            if normal_name(text) in self.settings.type_map:
                return self.settings.type_map[normal_name(text)]
        nda_type = read.text(provisions, "nda_type", "provisions.nda_type")
        if nda_type or any(NDA_WORDS.search(normal_name(text)) for text in given):
            return NDA_CONTRACT_TYPE
        if not given:
            if not {"type", "category"} & read.failed:
                read.problems.append("type and category are both missing, so the contract type is unknown")
            return None
        if len(given[0]) > CONTRACT_TYPE_NAME_MAX:
            read.problems.append(f'type "{given[0]}" is longer than a contract type name may be; map it in type_map')
        return given[0]

    def _status(self, read: _AgreementReader, item: Mapping) -> str | None:
        status = read.text(item, "status")
        if status is None:
            return None  # a new contract starts as Draft; a known one keeps its status
        mapped = self.settings.status_map.get(status.upper())
        if mapped is None:
            read.problems.append(f'status "{status}" is not mapped to a contract status; add it to status_map')
        return mapped

    def _vendor(self, read: _AgreementReader, parties: list) -> tuple[str, str]:
        """(vendor account, party name) of the one party that is a vendor; never a guess.

        A party is the legal entity itself (own_parties), or a vendor named in vendor_map, or
        the one vendor of the legal entity with the same normalised name. Any other party, or
        more than one vendor, is a problem."""
        entity = self.legal_entity.code
        vendors: dict[str, str] = {}
        for index, party in enumerate(parties):
            path = f"parties[{index}]"
            if not isinstance(party, Mapping):
                read.problems.append(f"{path} is {json_kind(party)}, not an object")
                continue
            party_id = read.text(party, "id", f"{path}.id")
            names = [
                name
                for name in (read.text(party, key, f"{path}.{key}") for key in ("name_in_agreement", "preferred_name"))
                if name
            ]
            shown = names[0] if names else party_id or path
            keys = [normal_name(key) for key in (party_id, *names) if key]
            mapped = next((self.settings.vendor_map[key] for key in keys if key in self.settings.vendor_map), None)
            if mapped is not None:
                vendors.setdefault(mapped, shown)
                continue
            if self.own_parties.intersection(keys):
                continue
            found = set().union(*(self.vendors_by_name.get(key, set()) for key in keys))
            if len(found) == 1:
                vendors.setdefault(found.pop(), shown)
            elif found:
                read.problems.append(
                    f'party "{shown}" matches several vendors in {entity} ({", ".join(sorted(found))}); '
                    "name the right one in vendor_map"
                )
            else:
                read.problems.append(
                    f'party "{shown}" matches no vendor in {entity}; add it to vendor_map, or to own_parties '
                    f"if it is {entity} itself"
                )
        if len(vendors) > 1:
            named = ", ".join(f'{account} ("{name}")' for account, name in sorted(vendors.items()))
            read.problems.append(f"the parties are several vendors ({named}); a contract has one")
            return "", ""
        return next(iter(vendors.items()), ("", ""))


# --- The connector ----------------------------------------------------------------------------


@register_connector
class DocusignNavigatorConnector(Connector):
    name = "docusign_navigator"
    label = "DocuSign Navigator (Agreements API)"
    settings_help = SETTINGS_HELP

    def __init__(self, connection):
        super().__init__(connection)
        self._client: HttpClient | None = None
        self._client_token = ""

    @cached_property
    def settings(self) -> NavigatorSettings:
        return NavigatorSettings.from_connection(self.connection)

    @cached_property
    def tokens(self) -> BearerTokens:
        return BearerTokens(self.connection, self.settings)

    @cached_property
    def mapper(self) -> AgreementMapper:
        return AgreementMapper(self.settings)

    # --- inbound ----------------------------------------------------------------------
    def pull(self, *, since: str, token: str, full: bool) -> PullPage:
        settings = self.settings
        self._check_page_limit(token)
        params: dict[str, Any] = {"limit": settings.page_size}
        if token:
            params["ctoken"] = token
        if settings.changed_since_filter and since and not full:
            params["$filter"] = settings.changed_since_filter.replace("{since}", since)
        started = timezone.now()
        what = "The page of agreements"
        answer = json_object(self._get(self._agreements_path(), params=params), what=what)
        items = json_field(answer, "data", (list, type(None)), what=what, required=False) or []
        records, problems = [], []
        for index, item in enumerate(items):
            try:
                records.append(self.mapper.record(item))
            except AgreementInvalid as invalid:
                problems.append((self._item_key(item, index), f"Agreement not applied: {invalid}.", item))
        watermark = ""
        if settings.changed_since_filter and not token:
            # The first page fixes where the next pull starts: this pull's own start, less the overlap.
            watermark = watermark_before(started, settings.changed_since_overlap)
        return PullPage(
            records=records, next_token=_next_token(answer, what=what), watermark=watermark, problems=problems
        )

    def fetch(self, external_id: str) -> ContractRecord:
        answer = self._get(f"{self._agreements_path()}/{quote(external_id, safe='')}")
        try:
            return self.mapper.record(answer)
        except AgreementInvalid as invalid:
            raise PermanentError(f"Agreement {external_id} was not applied: {invalid}.") from None

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """A DocuSign Connect message (JSON), when ``connect_enabled``: signed with HMAC-SHA256 of
        the raw body under a key that is one of the connection's webhook secrets, as written
        (DocuSign uses the key's text), base64 in any of ``X-DocuSign-Signature-1..N``."""
        try:
            enabled = self.settings.connect_enabled
        except PermanentError as error:
            raise WebhookRejected(f"the connection cannot take messages now: {error}", status=503) from None
        if not enabled:
            raise WebhookRejected("DocuSign Connect is not enabled on this connection (connect_enabled).", status=404)
        secrets = self.connection.webhook_secret_list
        if not secrets:
            raise WebhookRejected("no HMAC key is configured as this connection's webhook secret.", status=401)
        given = [value.strip().encode() for name, value in headers.items() if CONNECT_SIGNATURE_HEADER.fullmatch(name)]
        if not given:
            raise WebhookRejected("there is no X-DocuSign-Signature-1 header.", status=401)
        expected = [base64.b64encode(hmac.digest(secret.encode(), body, "sha256")) for secret in secrets]
        if not any(hmac.compare_digest(signature, match) for signature in given for match in expected):
            raise WebhookRejected("no X-DocuSign-Signature header matches the connection's HMAC keys.", status=401)
        payload = webhook_payload(body)
        event_type = payload.get("event") or ""
        if not isinstance(event_type, str):
            raise WebhookRejected('the message\'s "event" must be text.', status=400)
        # Connect has no message id; a redelivery differs only in retryCount, so the rest names it.
        content = {key: value for key, value in payload.items() if key != "retryCount"}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return WebhookEvent(event_id=f"connect-{digest}", event_type=event_type, payload=payload)

    def webhook_changes(self, event: WebhookEvent) -> list[ContractRecord | ContractReference]:
        """The agreements made from the message's envelope (their ``source_id``), to be re-read.
        None yet (Navigator has not read the envelope, or never will): nothing to do; a pull
        picks the agreement up once it is there."""
        data = json_object(event.payload.get("data"), what=f'The "data" of Connect message {event.event_id}')
        envelope_id = data.get("envelopeId")
        if not isinstance(envelope_id, str) or not envelope_id.strip():
            return []
        what = f"The agreements of envelope {envelope_id}"
        params = {"source_id": envelope_id.strip(), "limit": self.settings.page_size}
        answer = json_object(self._get(self._agreements_path(), params=params), what=what)
        items = json_field(answer, "data", (list, type(None)), what=what, required=False) or []
        ids = [item.get("id") for item in items if isinstance(item, Mapping)]
        return [
            ContractReference(agreement_id.strip())
            for agreement_id in ids
            if isinstance(agreement_id, str) and agreement_id.strip()
        ]

    def check(self) -> Handshake:
        settings = self.settings  # unusable settings: establishment fails with the reasons
        self._get(self._agreements_path(), params={"limit": 1})
        problems = self.settings_problems()
        if settings.connect_enabled and not self.connection.webhook_secret_list:
            problems.append("connect_enabled is on, but no HMAC key is entered as a webhook secret.")
        if problems:
            return Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR, " ".join(problems))
        return Handshake(
            HandshakeStatus.SUCCESS,
            HandshakeStatus.SUCCESS,
            f"Reading the agreements of DocuSign account {settings.account_id} into legal entity "
            f"{settings.legal_entity}.",
        )

    # --- helpers ----------------------------------------------------------------------
    def _agreements_path(self) -> str:
        return f"/v1/accounts/{quote(self.settings.account_id, safe='')}/agreements"

    def _get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        token = self.tokens.current()
        try:
            return self._http(token).get_json(path, params=params)
        except CredentialsRefused:
            if not self.tokens.renewable:
                raise
            # The token expired early or was revoked: one new token, one more try.
            self.tokens.forget(token)
            return self._http(self.tokens.current()).get_json(path, params=params)

    def _http(self, token: str) -> HttpClient:
        """One session per token (HttpClient sends and blanks out the token it was made with)."""
        if self._client is None or self._client_token != token:
            label = f'DocuSign "{self.connection}"'
            self._client = HttpClient(base_url=self.connection.base_url, token=token, label=label)
            self._client_token = token
        return self._client

    def _check_page_limit(self, token: str) -> None:
        """Stops a listing that goes on past ``max_pages``: a page count only the run knows."""
        stop_at_page_limit(
            connection_id=self.connection.pk,
            token=token,
            max_pages=self.settings.max_pages,
            source="DocuSign",
            page_size=self.settings.page_size,
            whole="account",
        )

    def settings_problems(self) -> list[str]:
        try:
            mapper = self.mapper
        except PermanentError as error:
            return [str(error)]
        problems = []
        accounts = set(self.settings.vendor_map.values())
        known = set(
            Vendor.objects.filter(legal_entity=mapper.legal_entity, account_number__in=accounts).values_list(
                "account_number", flat=True
            )
        )
        if accounts - known:
            problems.append(
                f"vendor_map names vendor account(s) {', '.join(sorted(accounts - known))}, which do not exist in "
                f"{mapper.legal_entity.code}."
            )
        return problems

    def _item_key(self, item: Any, index: int) -> str:
        """The key a failed agreement is listed under, like an applied contract's (USMF/<id>)."""
        agreement_id = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(agreement_id, str) and agreement_id.strip():
            return f"{self.settings.legal_entity}/{agreement_id.strip()}"
        return f"#{index}"


def _next_token(answer: Mapping[str, Any], *, what: str) -> str:
    """The continuation token: ``response_metadata.page_token_next`` (as the document's example
    answers), else the ``ctoken`` of ``_links.next.href`` (as its schema has it); empty at the end."""
    metadata = answer.get("response_metadata")
    if isinstance(metadata, Mapping):
        token = json_field(
            metadata, "page_token_next", (str, type(None)), what=f"{what}'s response_metadata", required=False
        )
        if token:
            return token
    links = answer.get("_links")
    next_link = links.get("next") if isinstance(links, Mapping) else None
    if not isinstance(next_link, Mapping):
        return ""
    href = json_field(next_link, "href", (str, type(None)), what=f"{what}'s _links.next", required=False)
    if not href:
        return ""
    tokens = parse_qs(urlsplit(href).query).get("ctoken")
    if not tokens or not tokens[-1]:
        raise PermanentError(f"{what} has a next link without a ctoken: {href[:200]}")
    return tokens[-1]
