"""Calls to clmsite's REST API (docs/api.md), the only way this CLM reaches clmsite.

Every failure becomes one of two errors, because the outbox treats them differently:
``ClmsiteUnavailable`` (no connection, a timeout, 5xx, 429, or no address configured) is
tried again later; ``ClmsiteRefused`` (any other 4xx) carries clmsite's messages and is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from .models import Config

API_PREFIX = "/api/v1"


class ClmsiteError(Exception):
    pass


class ClmsiteUnavailable(ClmsiteError):
    """clmsite could not take the call now; the same call may succeed later."""


class ClmsiteRefused(ClmsiteError):
    """clmsite answered and refused: the messages say why, and repeating will not help."""

    def __init__(self, status: int, messages: list[str]):
        self.status, self.messages = status, messages
        super().__init__(f"clmsite refused ({status}): {'; '.join(messages)}")


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def problem_messages(body: Any) -> list[str]:
    """clmsite's error body (``{"errors": [{"field", "message", "code"}]}``) as readable lines."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return [str(body)[:300]] if body not in (None, "") else []
    messages = []
    for error in errors:
        if isinstance(error, dict):
            field = error.get("field")
            messages.append(f"{field}: {error.get('message')}" if field else str(error.get("message")))
        else:
            messages.append(str(error))
    return messages


def quoted(value: str) -> str:
    return quote(str(value), safe="")


class ClmsiteClient:
    def __init__(self, config: Config | None = None):
        self.config = config or Config.load()
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path  # a "next" link clmsite gave out
        return self.config.clmsite_url.rstrip("/") + path

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict | None = None,
        with_key: bool = True,
        accept: tuple[int, ...] = (),
    ) -> Answer:
        """One call; 2xx (and any status in ``accept``) is answered, everything else raised."""
        if not self.config.clmsite_url or (with_key and not self.config.api_key):
            raise ClmsiteUnavailable("clmsite's address and API key are not configured yet.")
        headers = dict(headers or {})
        if with_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        try:
            response = self.session.request(
                method,
                self.url(path),
                params=params,
                json=json,
                data=data,
                headers=headers,
                timeout=settings.REFCLM_HTTP_TIMEOUT,
            )
        except requests.Timeout:
            raise ClmsiteUnavailable(
                f"clmsite did not answer {method} {path} within {settings.REFCLM_HTTP_TIMEOUT:g} s."
            ) from None
        except requests.ConnectionError:
            raise ClmsiteUnavailable(f"clmsite could not be reached at {self.config.clmsite_url}.") from None
        except requests.RequestException as error:
            raise ClmsiteUnavailable(f"clmsite could not be called: {type(error).__name__}: {error}") from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:300]
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return Answer(response.status_code, body)
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            hint = f" (Retry-After: {retry_after})" if retry_after else ""
            raise ClmsiteUnavailable(f"clmsite answered {response.status_code}{hint}: {problem_messages(body)}")
        raise ClmsiteRefused(response.status_code, problem_messages(body) or [response.reason or "refused"])

    def api(self, method: str, path: str, **kwargs) -> Answer:
        return self.call(method, API_PREFIX + path, **kwargs)

    def validate(self, path: str, payload: dict) -> list[str]:
        """The problems clmsite finds in a write it would make (SPEC §8.3); empty when valid."""
        answer = self.api("POST", f"/validate/{path}", json=payload, accept=(422,))
        if answer.status == 422:
            return problem_messages(answer.body) or ["clmsite found the record invalid."]
        return []
