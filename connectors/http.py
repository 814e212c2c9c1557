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
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from .base import PermanentError, TransientError

logger = logging.getLogger(__name__)

ERROR_EXCERPT_CHARS = 200


class CredentialsRefused(PermanentError):
    """The CLM answered 401. Permanent for a fixed token; a connector whose tokens expire
    catches it to fetch a new token and ask once more."""


class HttpClient:
    """JSON over HTTP to one CLM, at ``base_url``, with ``Authorization: Bearer <token>``.

    A CLM that wants its secret elsewhere names the header (``auth_header``) and the word
    before the token (``auth_scheme``; blank sends the token alone, as API keys go).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        label: str = "The CLM",
        auth_header: str = "Authorization",
        auth_scheme: str = "Bearer",
    ):
        self.base_url = base_url.rstrip("/")
        self.label = label
        self._token = token
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "clmsite"})
        if token:
            self.session.headers[auth_header] = f"{auth_scheme} {token}" if auth_scheme else token

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def get_json_and_links(self, path: str, *, params: Mapping[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        """The decoded answer and its ``Link`` header (RFC 8288) as absolute URLs by ``rel``."""
        response = self._send("GET", path, params=params)
        links = {rel: urljoin(response.url, link["url"]) for rel, link in response.links.items() if link.get("url")}
        return self._decoded("GET", path, response), links

    def post_json(self, path: str, *, body: Any, headers: Mapping[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body, headers=headers)

    def request(self, method: str, path: str, **kwargs) -> Any:
        """The decoded JSON answer (``None`` for an empty one), or a ``ConnectorError``."""
        return self._decoded(method, path, self._send(method, path, **kwargs))

    def url_for(self, path: str) -> str:
        """``path`` below the base URL; an absolute URL (a CLM's own next-page link) as it is."""
        if urlsplit(path).scheme:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        """The CLM's answer when it is a success, or a ``ConnectorError``."""
        url = self.url_for(path)
        timeout = settings.CONNECTOR_HTTP_TIMEOUT
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout:
            raise TransientError(f"{self.label} did not answer {method} {url} within {timeout:g} s.") from None
        except requests.ConnectionError as error:
            # The exception's text names the URL and the cause, never the headers.
            raise TransientError(f"{self.label} could not be reached: {_shorten(error)}") from None
        except requests.RequestException as error:
            # An invalid header value, for one, is quoted in the exception's text.
            raise PermanentError(f"{self.label} cannot be asked for {url}: {self._blanked(_shorten(error))}") from None
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
        return response

    def _decoded(self, method: str, path: str, response: requests.Response) -> Any:
        url = self.url_for(path)
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
        text = self._blanked(" ".join(response.text[:ERROR_EXCERPT_CHARS].split()))
        return f": {text}" if text else ""

    def _blanked(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


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
