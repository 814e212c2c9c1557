"""A made-up JSON API of agreements over real HTTP, for the generic REST connector's tests.

It is the reference CLM's fake server (clm_server.py) with another API: the same thread on
127.0.0.1, the same scripted faults (``delay``, ``error``, ``timeout``, ``garbage``,
``repeat_token``) and request log. Its list pages in the style a test chooses, each with
its own parameter names and envelope, as real APIs differ:

- ``page``: ``?page=1&per_page=K``, ``{"data": {"agreements": [...]}, "meta": {"total_count": "N"}}``
  (the total as text);
- ``offset``: ``?skip=N&take=K``, the answer is the bare list;
- ``cursor``: ``?after=<opaque>&limit=K``, ``{"results": [...], "paging": {"next": {"after": ...}}}``;
- ``link``: ``?page=1&size=K``, ``{"contracts": [...]}`` and the next page in a ``Link`` header;
- ``body_link``: as ``link``, but ``{"items": [...], "links": {"next": "<url>"}}``;
- ``none``: every agreement at once, as a bare list.

``updated_since`` filters on the agreements' ``updated_at``. One agreement is
``GET /api/v2/agreements/<id>`` → ``{"agreement": {...}}``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote, urlencode

import pytest

from connectors.tests.clm_server import FakeClmServer, json_answer

API_KEY = "rest-api-key-never-logged"
LIST_PATH = "/api/v2/agreements"
DEFAULT_PAGE_SIZE = 10


class FakeRestApi(FakeClmServer):
    def __init__(self, *, paging: str = "page", auth_header: str = "Authorization", auth_scheme: str = "Bearer"):
        super().__init__(token=API_KEY)
        self.paging = paging
        self.auth_header = auth_header
        self.auth_value = f"{auth_scheme} {API_KEY}" if auth_scheme else API_KEY
        self.agreements: list[Any] = []  # in listing order; anything JSON, to serve broken items too
        self.empty_page_after: int | None = None  # cursor style: one empty page after this offset
        self.absolute_links = False  # link style: absolute next URLs instead of relative ones
        self.link_host = ""  # link styles: the next link's scheme and host, instead of this server's
        self.fixed_answer: Any = None  # when set, the answer to every list request, as it is

    def add(self, *agreements: Any) -> None:
        with self.lock:
            self.agreements.extend(agreements)

    def listings(self) -> list[dict[str, str]]:
        """The query of every GET of the list, in order."""
        return [request["query"] for request in self.requests_to(LIST_PATH)]

    def answer(self, method: str, path: str, query: dict[str, str], headers, body: bytes) -> tuple[int, dict, bytes]:
        fault, instead = self.take_fault(method, path, query)
        if instead is not None:
            return instead
        if headers.get(self.auth_header) != self.auth_value:
            return json_answer(401, {"error": {"code": "unauthenticated", "message": "Missing or wrong API key."}})
        if method == "GET" and path == LIST_PATH:
            return self._page(query, repeat_token=fault is not None and fault.kind == "repeat_token")
        if method == "GET" and path.startswith(f"{LIST_PATH}/"):
            wanted = unquote(path.removeprefix(f"{LIST_PATH}/"))
            with self.lock:
                found = [item for item in self.agreements if isinstance(item, dict) and str(item.get("id")) == wanted]
            if not found:
                return json_answer(404, {"error": {"code": "not_found", "message": f"No agreement {wanted}."}})
            return json_answer(200, {"agreement": found[0]})
        return json_answer(404, {"error": {"code": "not_found", "message": "No such path."}})

    def _page(self, query: dict[str, str], *, repeat_token: bool) -> tuple[int, dict, bytes]:
        if self.fixed_answer is not None:
            return json_answer(200, self.fixed_answer)
        with self.lock:
            listed = list(self.agreements)
        if query.get("updated_since"):
            listed = [item for item in listed if str(item.get("updated_at") or "") >= query["updated_since"]]
        if self.paging == "none":
            return json_answer(200, listed)
        if self.paging == "offset":
            offset, size = int(query.get("skip") or 0), int(query.get("take") or DEFAULT_PAGE_SIZE)
            return json_answer(200, listed[offset : offset + size])
        if self.paging == "cursor":
            return self._cursor_page(listed, query, repeat_token=repeat_token)
        size_name = "per_page" if self.paging == "page" else "size"
        page, size = int(query.get("page") or 1), int(query.get(size_name) or DEFAULT_PAGE_SIZE)
        items = listed[(page - 1) * size : page * size]
        if self.paging == "page":
            return json_answer(200, {"data": {"agreements": items}, "meta": {"total_count": str(len(listed))}})
        following = page if repeat_token else page + 1
        next_link = self._link({**query, "page": str(following)}) if page * size < len(listed) else None
        if self.paging == "body_link":
            return json_answer(200, {"items": items, "links": {"next": next_link, "self": self._link(query)}})
        status, headers, content = json_answer(200, {"contracts": items})
        if next_link:
            headers["Link"] = f'<{self._link(query)}>; rel="self", <{next_link}>; rel="next"'
        return status, headers, content

    def _cursor_page(self, listed: list, query: dict[str, str], *, repeat_token: bool) -> tuple[int, dict, bytes]:
        after = query.get("after")
        # A cursor is "offset:<n>", or "offset:<n>:again" to go on after the scripted empty page.
        position = base64.urlsafe_b64decode(after).decode().split(":") if after else ["offset", "0"]
        offset, again = int(position[1]), len(position) > 2
        size = int(query.get("limit") or DEFAULT_PAGE_SIZE)
        empty = self.empty_page_after == offset and not again
        items = [] if empty else listed[offset : offset + size]
        following = offset + len(items)
        next_cursor = None
        if following < len(listed):
            marker = f"offset:{following}" + (":again" if empty else "")
            next_cursor = base64.urlsafe_b64encode(marker.encode()).decode()
        if repeat_token:
            next_cursor = after
        return json_answer(200, {"results": items, "paging": {"next": {"after": next_cursor}}})

    def _link(self, query: dict[str, str]) -> str:
        relative = f"{LIST_PATH}?{urlencode(query)}"
        if self.link_host:
            return f"{self.link_host}{relative}"
        return f"{self.url}{relative}" if self.absolute_links else relative


@pytest.fixture(name="rest_api")
def rest_api_fixture():
    """A running made-up agreements API; ``rest_api.url`` is a connection's base URL."""
    server = FakeRestApi().start()
    yield server
    server.stop()
