"""What the served API and the control API share: JSON in and out, bearer tokens, errors.

Errors have clmsite's shape, ``{"errors": [{"field", "message"}]}``, so one client reads both.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import lifecycle
from .clmsite import ClmsiteError, ClmsiteRefused
from .services import ActionRefused, InputInvalid


class BodyInvalid(InputInvalid):
    pass


def error_response(http_status: int, field: str | None, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}], **extra}, status=http_status)


def json_body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BodyInvalid("body", "is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BodyInvalid("body", "must be a JSON object.")
    return body


def bearer_matches(request: HttpRequest, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


def json_endpoint(token: Callable[[], str], methods: tuple[str, ...]):
    """A view that answers JSON, needs ``Authorization: Bearer <token()>`` and turns the
    services' exceptions into answers: bad input 400, unknown 404, an action not allowed
    from the status 409, an action refused by clmsite's validation 422, clmsite down 502."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not bearer_matches(request, token()):
                response = error_response(401, "Authorization", "a valid bearer token is required.")
                response["WWW-Authenticate"] = 'Bearer realm="refclm"'
                return response
            if request.method not in methods:
                return error_response(405, None, f"use {' or '.join(methods)}.")
            try:
                return view(request, *args, **kwargs)
            except Http404 as missing:
                return error_response(404, None, str(missing) or "not found.")
            except InputInvalid as invalid:
                return error_response(400, invalid.field, invalid.message)
            except lifecycle.ActionNotAllowed as not_allowed:
                return error_response(
                    409, "action", str(not_allowed), status=not_allowed.status, allowed=not_allowed.allowed
                )
            except ActionRefused as refused:
                problems = [{"field": None, "message": problem} for problem in refused.problems]
                return JsonResponse({"errors": [{"field": None, "message": refused.message}, *problems]}, status=422)
            except ClmsiteRefused as refused:
                return error_response(502, None, str(refused), clmsite_messages=refused.messages)
            except ClmsiteError as error:
                return error_response(502, None, str(error))

        return wrapper

    return decorate
