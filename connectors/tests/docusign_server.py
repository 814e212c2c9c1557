"""A fake DocuSign Navigator over real HTTP, for tests: the Agreements API of the vendor's
OpenAPI document (a copy in tests/vendor/docusign/) and an OAuth client-credentials token endpoint.

It is the reference CLM's fake server (clm_server.py) with another protocol: the same
thread on 127.0.0.1, the same scripted faults (``delay``, ``error``, ``timeout``,
``garbage``, ``repeat_token``) and request log. It also reads the vendor's document, so
tests can build answers from the vendor's own examples and check that what the fake serves
is valid under the vendor's schema.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from jsonschema import Draft202012Validator

from connectors.tests.clm_server import FakeClmServer, json_answer

VENDOR_DIR = Path(__file__).resolve().parent / "vendor" / "docusign"
ACCOUNT_ID = "5d3c0a3e-6f2b-4c8e-9a51-2f4b7c9d1e08"
STATIC_TOKEN = "navigator-static-test-token"
CLIENT_ID = "clmsite-integration-key"
CLIENT_SECRET = "navigator-client-secret-do-not-log"
AGREEMENTS = f"/v1/accounts/{ACCOUNT_ID}/agreements"
# Enough of OData for the one filter clmsite may send: metadata/modified_at ge '<timestamp>'.
MODIFIED_SINCE = re.compile(r"metadata/modified_at ge '?([^']+)'?")


# --- The vendor's document ------------------------------------------------------------------


@cache
def vendor_document() -> dict[str, Any]:
    return json.loads((VENDOR_DIR / "navigator-agreements-api.json").read_text())


def vendor_list_example() -> dict[str, Any]:
    """The document's example answer to GET .../agreements (a fresh copy each time)."""
    examples = vendor_document()["paths"]["/v1/accounts/{accountId}/agreements"]["get"]["responses"]["200"]
    return json.loads(json.dumps(examples["content"]["application/json"]["examples"]["AgreementsCollection"]["value"]))


def vendor_agreement_examples() -> dict[str, dict[str, Any]]:
    """The document's example answers to GET .../agreements/{agreementId}, by example name."""
    path = vendor_document()["paths"]["/v1/accounts/{accountId}/agreements/{agreementId}"]
    examples = path["get"]["responses"]["200"]["content"]["application/json"]["examples"]
    return {name: json.loads(json.dumps(example["value"])) for name, example in examples.items()}


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    # The document is OpenAPI 3.1 but marks optional values with 3.0's "nullable"; honour it.
    components = _nullable_as_null(vendor_document()["components"])
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": components})


def schema_problems(value: Any, schema_name: str) -> list[str]:
    """Where ``value`` breaks the vendor's schema ``schema_name`` (empty when it is valid)."""
    return [
        f"{'/'.join(map(str, error.path))}: {error.message}" for error in _validator(schema_name).iter_errors(value)
    ]


def _nullable_as_null(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_as_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_as_null(value) for key, value in node.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


# --- The fake API ---------------------------------------------------------------------------


class FakeNavigator(FakeClmServer):
    """Agreements of one account, listed ``limit`` at a time with opaque ``ctoken``s."""

    def __init__(self):
        super().__init__(token=STATIC_TOKEN)
        self.agreements: dict[str, dict[str, Any]] = {}  # by id, in listing order
        self.scripted_pages: dict[str, Any] = {}  # ctoken ("" = first page) -> an answer served as is
        self.token_in_links = False  # give the next ctoken in _links.next.href instead of response_metadata
        self.ignore_limit = False  # serve the whole listing as one page, whatever limit was asked
        self.expires_in: int | None = 3600
        self.issued_tokens: list[str] = []
        self.revoked_tokens: set[str] = set()
        self.refuse_issued_tokens = False  # every token it issues is refused, as with a misconfigured app

    def add(self, *agreements: dict[str, Any]) -> None:
        with self.lock:
            for agreement in agreements:
                # An agreement without an id (a broken one, for a test) is listed all the same.
                self.agreements[agreement.get("id") or f"#{len(self.agreements)}"] = agreement

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused from now on, as after a key rotation."""
        with self.lock:
            self.revoked_tokens.update(self.issued_tokens)

    def listings(self) -> list[dict[str, str]]:
        """The query of every GET of the agreement list, in order."""
        return [request["query"] for request in self.requests_to(AGREEMENTS)]

    def answer(self, method: str, path: str, query: dict[str, str], headers, body: bytes) -> tuple[int, dict, bytes]:
        fault, instead = self.take_fault(method, path, query)
        if instead is not None:
            return instead
        if method == "POST" and path == "/oauth/token":
            return self._issue_token(headers, body)
        if not self._authorised(headers.get("Authorization") or ""):
            return 401, {"Content-Type": "text/plain"}, b"Unauthorized - Please provide a valid access token."
        if method == "GET" and path == AGREEMENTS:
            return self._page(query, repeat_token=fault is not None and fault.kind == "repeat_token")
        if method == "GET" and path.startswith(f"{AGREEMENTS}/"):
            with self.lock:
                agreement = self.agreements.get(unquote(path.removeprefix(f"{AGREEMENTS}/")))
            if agreement is None:
                return json_answer(
                    404, {"error": "Not Found - The requested resource could not be found.", "code": 404}
                )
            return json_answer(200, agreement)
        return json_answer(404, {"error": "Not a path of the Agreements API.", "code": 404})

    def _authorised(self, authorization: str) -> bool:
        token = authorization.removeprefix("Bearer ")
        with self.lock:
            issued = token in self.issued_tokens and token not in self.revoked_tokens and not self.refuse_issued_tokens
        return authorization.startswith("Bearer ") and (token == STATIC_TOKEN or issued)

    def _issue_token(self, headers, body: bytes) -> tuple[int, dict, bytes]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
        if headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return json_answer(401, {"error": "invalid_client"})
        with self.lock:
            token = f"issued-token-{len(self.issued_tokens) + 1}"
            self.issued_tokens.append(token)
        answer = {"access_token": token, "token_type": "Bearer", "scope": form.get("scope", "")}
        return json_answer(200, answer if self.expires_in is None else {**answer, "expires_in": self.expires_in})

    def _page(self, query: dict[str, str], *, repeat_token: bool) -> tuple[int, dict, bytes]:
        ctoken = query.get("ctoken", "")
        if ctoken in self.scripted_pages:
            return json_answer(200, self.scripted_pages[ctoken])
        with self.lock:
            listed = list(self.agreements.values())
        if query.get("source_id"):
            listed = [agreement for agreement in listed if agreement.get("source_id") == query["source_id"]]
        since = MODIFIED_SINCE.fullmatch(query.get("$filter", ""))
        if since:
            listed = [agreement for agreement in listed if _modified_at(agreement) >= since[1]]
        offset = int(ctoken.removeprefix("ct-") or 0)
        limit = len(listed) if self.ignore_limit else int(query.get("limit") or 25)
        next_token = f"ct-{offset + limit}" if offset + limit < len(listed) else None
        if repeat_token:
            next_token = ctoken or f"ct-{offset}"
        metadata = {
            "page_limit": limit,
            "request_id": f"request-{len(self.requests)}",
            "response_timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "response_duration_ms": 3,
        }
        answer: dict[str, Any] = {"data": listed[offset : offset + limit], "response_metadata": metadata}
        if next_token and self.token_in_links:
            answer["_links"] = {"next": {"href": f"{self.url}{AGREEMENTS}?limit={limit}&ctoken={next_token}"}}
        elif next_token:
            metadata["page_token_next"] = next_token
        return json_answer(200, answer)


def _modified_at(agreement: dict[str, Any]) -> str:
    return ((agreement.get("metadata") or {}).get("modified_at")) or ""


@pytest.fixture(name="navigator")
def navigator_fixture():
    """A running fake DocuSign Navigator; ``navigator.url`` is the connection's base URL."""
    server = FakeNavigator().start()
    yield server
    server.stop()
