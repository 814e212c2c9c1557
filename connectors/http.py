"""What every HTTP connector shares: one session per connection, a timeout on every call, and
the CLM's answers turned into ``TransientError`` (worth retrying) or ``PermanentError``.

Credentials go in a header only; they never appear in a log line or an error message, and
are blanked out of the excerpt of a CLM's error answer, in case the CLM echoes them.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from .base import PermanentError, TransientError

logger = logging.getLogger(__name__)

ERROR_EXCERPT_CHARS = 200


class CredentialsRefused(PermanentError):
    """The CLM answered 401. Permanent for a fixed token; a connector whose tokens expire
    catches it to fetch a new token and ask once more."""


class HttpClient:
    """JSON over HTTP to one CLM, at ``base_url``, with ``Authorization: Bearer <token>``."""

    def __init__(self, *, base_url: str, token: str = "", label: str = "The CLM"):
        self.base_url = base_url.rstrip("/")
        self.label = label
        self._token = token
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "clmsite"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post_json(self, path: str, *, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body, headers=headers)

    def request(self, method: str, path: str, **kwargs) -> Any:
        """The decoded JSON answer (``None`` for an empty one), or a ``ConnectorError``."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        timeout = settings.CONNECTOR_HTTP_TIMEOUT
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout:
            raise TransientError(f"{self.label} did not answer {method} {url} within {timeout:g} s.") from None
        except requests.ConnectionError as error:
            # The exception's text names the URL and the cause, never the headers.
            raise TransientError(f"{self.label} could not be reached: {_shorten(error)}") from None
        except requests.RequestException as error:
            raise PermanentError(f"{self.label} cannot be asked for {url}: {_shorten(error)}") from None
        logger.debug("%s %s -> %s", method, url, response.status_code)
        status = response.status_code
        if status == 429 or status >= 500:
            raise TransientError(
                f"{self.label} answered {method} {url} with HTTP {status}{self._excerpt(response)}.",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 400:
            refused = CredentialsRefused if status == 401 else PermanentError
            raise refused(f"{self.label} refused {method} {url} with HTTP {status}{self._excerpt(response)}.")
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            # Most often a proxy's or a half-started server's HTML page: retried, and after the
            # last attempt dead-lettered. JSON of the wrong shape (json_field) is permanent.
            raise TransientError(
                f"{self.label} answered {method} {url} with something that is not JSON{self._excerpt(response)}."
            ) from None

    def _excerpt(self, response: requests.Response) -> str:
        text = " ".join(response.text[:ERROR_EXCERPT_CHARS].split())
        if self._token:
            text = text.replace(self._token, "***")
        return f": {text}" if text else ""


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header as seconds from now: it is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def json_object(value: Any, *, what: str) -> dict[str, Any]:
    """``value`` when it is a JSON object; else the CLM sent garbage, named by ``what``."""
    if not isinstance(value, dict):
        raise PermanentError(f"{what} is not a JSON object but {json_kind(value)}.")
    return value


def json_field(answer: Mapping[str, Any], key: str, kinds: tuple[type, ...], *, what: str, required: bool = True):
    """``answer[key]`` checked to be one of ``kinds`` (``None`` when absent and not required)."""
    if key not in answer:
        if required:
            raise PermanentError(f'{what} has no "{key}".')
        return None
    value = answer[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise PermanentError(f'{what} has "{key}" as {json_kind(value)}, which is not what the protocol says.')
    return value


def _shorten(error: Exception) -> str:
    return " ".join(str(error).split())[: ERROR_EXCERPT_CHARS * 2]


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "text", list: "a list", dict: "an object"}.get(type(value), "a number")
