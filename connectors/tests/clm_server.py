"""A fake CLM speaking the reference protocol (docs/connectors.md) over real HTTP, for tests.

It runs in a thread of the test process on 127.0.0.1 and a free port, so a Celery worker
in another process reaches it as it would a real CLM. A test fills it with contracts and
scripts what the next requests meet (``delay``, ``error``, ``timeout``, ``garbage``,
``repeat_token``); it records every request and the master-data pushes it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

TOKEN = "reference-clm-test-token"


@dataclass(frozen=True)
class Fault:
    """What the next request meets instead of (or before) its normal answer."""

    kind: str  # "delay", "error", "timeout", "garbage" or "repeat_token"
    seconds: float = 0
    status: int = 500
    retry_after: str | None = None
    body: str = ""


class FakeClmServer:
    def __init__(self, *, token: str = TOKEN):
        self.token = token
        self.contracts: dict[str, dict[str, Any]] = {}  # by external id, in modification order
        self.sequence = 0
        self.faults: deque[Fault] = deque()
        self.pushes: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.configured = True
        self.status_message = "Configured for clmsite."
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # --- what a test does -------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def put(self, contract: dict[str, Any]) -> None:
        """Adds or changes a contract; it becomes the most recently modified one."""
        with self.lock:
            self.sequence += 1
            key = contract.get("external_contract_id") or f"{contract['legal_entity']}/{contract['contract_id']}"
            self.contracts.pop(key, None)
            self.contracts[key] = {**contract, "_sequence": self.sequence}

    def delay(self, seconds: float) -> None:
        self.faults.append(Fault("delay", seconds=seconds))

    def error(self, status: int = 500, *, retry_after: str | None = None, body: str = "") -> None:
        self.faults.append(Fault("error", status=status, retry_after=retry_after, body=body))

    def timeout(self, seconds: float = 2.0) -> None:
        """Answers only after ``seconds``: set CONNECTOR_HTTP_TIMEOUT below it."""
        self.faults.append(Fault("timeout", seconds=seconds))

    def garbage(self, body: str = "<html>Service temporarily replaced by a cat</html>") -> None:
        self.faults.append(Fault("garbage", body=body))

    def repeat_token(self) -> None:
        """The next page of contracts gives back the continuation token it was asked with."""
        self.faults.append(Fault("repeat_token"))

    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["path"] == path]

    # --- serving ----------------------------------------------------------------------
    def start(self) -> FakeClmServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a request asleep in a "timeout" must not hold the test
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, method: str, path: str, query: dict[str, str], headers, body: bytes) -> tuple[int, dict, bytes]:
        """(status, headers, body) for one request, faults first."""
        fault, instead = self.take_fault(method, path, query)
        if instead is not None:
            return instead
        if headers.get("Authorization") != f"Bearer {self.token}":
            return json_answer(401, {"detail": "Missing or wrong bearer token."})
        if method == "GET" and path == "/api/status/":
            return json_answer(200, {"configured": self.configured, "message": self.status_message})
        if method == "GET" and path == "/api/contracts/":
            return self._page(query, repeat_token=fault is not None and fault.kind == "repeat_token")
        if method == "GET" and path.startswith("/api/contracts/"):
            external_id = unquote(path.removeprefix("/api/contracts/").rstrip("/"))
            with self.lock:
                contract = self.contracts.get(external_id)
            if contract is None:
                return json_answer(404, {"detail": f"No contract {external_id}."})
            return json_answer(200, _public(contract))
        if method == "POST" and path == "/api/master-data/":
            push = {"body": json.loads(body or b"null"), "idempotency_key": headers.get("Idempotency-Key")}
            with self.lock:
                self.pushes.append(push)
            return json_answer(202, {"accepted": True})
        return json_answer(404, {"detail": "Not a path of the reference protocol."})

    def take_fault(self, method: str, path: str, query: dict[str, str]) -> tuple[Fault | None, tuple | None]:
        """Logs a request and meets it with the next scripted fault: (the fault, the answer it
        gives instead of the normal one or ``None``). For fakes of other protocols too."""
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query})
            fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.kind in ("delay", "timeout"):
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "error":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault, (fault.status, extra, (fault.body or json.dumps({"detail": "Simulated failure."})).encode())
        if fault is not None and fault.kind == "garbage":
            return fault, (200, {}, fault.body.encode())
        return fault, None

    def _page(self, query: dict[str, str], *, repeat_token: bool) -> tuple[int, dict, bytes]:
        since = int(query.get("modified_since") or 0)
        offset = int(query.get("ctoken", "page-0").removeprefix("page-"))
        limit = int(query.get("limit") or 100)
        with self.lock:
            changed = [contract for contract in self.contracts.values() if contract["_sequence"] > since]
            watermark = str(self.sequence)
        page = changed[offset : offset + limit]
        next_token = f"page-{offset + limit}" if offset + limit < len(changed) else None
        if repeat_token:
            next_token = query.get("ctoken") or f"page-{offset}"
        answer = {"items": [_public(c) for c in page], "next_ctoken": next_token, "watermark": watermark}
        return json_answer(200, {**answer, "total": len(changed)})


def _public(contract: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in contract.items() if key != "_sequence"}


def json_answer(status: int, value: Any) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _handler_for(server: FakeClmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self._serve()

        def do_POST(self):
            self._serve()

        def _serve(self):
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, content = server.answer(self.command, parts.path, query, self.headers, body)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a scripted timeout)

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def clm_server():
    """A running fake reference CLM; ``clm_server.url`` and ``clm_server.token`` reach it."""
    server = FakeClmServer().start()
    yield server
    server.stop()
