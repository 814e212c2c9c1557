"""The table of isolation cases, one per URL pattern, and what the cases share.

A case names its URL pattern (``namespace:name``), says what an anonymous visitor tries
there (``probes``: method and URL) and how a visitor meets it (``surface``), and checks,
as callers granted only legal entity A, that nothing of B can be read or changed there.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from .world import Company, World

# How an anonymous visitor is turned away, by surface.
PAGE = "page"  # a browser page: redirected to the login page
SCRIPT = "script"  # JSON polled by the page's script: 403, no login page
API = "api"  # /api/v1/: 401 or 403 with the API's error body
PUBLIC = "public"  # open to anyone (signing in, the webhook): shows no record at all


@dataclass(frozen=True)
class Case:
    surface: str
    probes: Callable[[World], list[tuple[str, str]]]
    check: Callable[[World], None]


CASES: dict[str, Case] = {}


def case(name: str, surface: str, probes: Callable[[World], list[tuple[str, str]]]):
    """Registers the decorated check as the case of URL pattern ``name``."""

    def register(check: Callable[[World], None]):
        if name in CASES:
            raise ValueError(f"{name} has two isolation cases")
        CASES[name] = Case(surface, probes, check)
        return check

    return register


# --- Callers -------------------------------------------------------------------------------


def browser(world: World) -> Client:
    client = Client()
    client.force_login(world.user)
    return client


def api_as(api_client) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_client.plaintext_key}")
    return api


def person_api(world: World) -> APIClient:
    api = APIClient()
    api.force_login(world.user)
    return api


def api_callers(world: World) -> dict[str, APIClient]:
    """The three kinds of API caller, each granted A only."""
    return {
        "read_only": api_as(world.reader),
        "clm_integration": api_as(world.a.clm_client),
        "person": person_api(world),
    }


def writers(world: World) -> dict[str, APIClient]:
    """The API callers whose role lets them write (a read-only client is refused before any lookup)."""
    return {"clm_integration": api_as(world.a.clm_client), "person": person_api(world)}


# --- What an answer shows --------------------------------------------------------------------


def body_of(response) -> str:
    """The text a person or a program reads in the answer; an Excel file's cell values."""
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        content = b"".join(response.streaming_content) if response.streaming else response.content
        sheet = load_workbook(io.BytesIO(content), read_only=True).active
        return "\n".join(" ".join(str(value) for value in row if value is not None) for row in sheet.values)
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def leaks(company: Company, body: str, *, asked: str = "") -> list[str]:
    """``company``'s identifiers found in ``body``, except those the request itself carried."""
    return [secret for secret in company.secrets if secret in body and secret not in asked]


def assert_hides(company: Company, response, *, asked: str = "") -> str:
    body = body_of(response)
    found = leaks(company, body, asked=asked)
    assert not found, f"{response.request['PATH_INFO']} shows {found}"
    return body


def read(client, url: str, query: Mapping | None = None, *, status: int = 200):
    response = client.get(url, query or {})
    assert response.status_code == status, (url, query, response.status_code, body_of(response)[:300])
    return response


def query_text(query: Mapping) -> str:
    return urlencode(query, doseq=True)


@contextmanager
def changes_nothing_of_b(world: World) -> Iterator[None]:
    """The block may try to write B's records; afterwards every one and every count is as before."""
    before = world.b_rows()
    yield
    assert world.b_rows() == before


def refused(response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, body_of(response)[:300])
