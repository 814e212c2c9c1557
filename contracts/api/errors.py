"""One error body for every failure of the API (SPEC §8.1):

    {"errors": [{"field": "vendor", "message": "no vendor \"V-9\" exists in legal entity USMF.", "code": "not_found"}]}

400 malformed JSON or wrong types · 401 no or bad credentials · 403 not allowed ·
404 not found (also for records of legal entities the caller is not granted) ·
409 conflict (codes ``conflict``, ``in_use``) · 412 precondition failed (If-Match) ·
422 a rule of the services is broken (``ValidationFailed``) · 503 the database cannot be
reached (code ``unavailable``, with ``Retry-After``). Bad input never gives a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from contracts.services import Problem, ValidationFailed

logger = logging.getLogger(__name__)

# Problem codes that mean "clashes with what is stored" rather than "breaks a rule".
CONFLICT_CODES = frozenset({"conflict", "in_use"})
# What a caller is asked to wait before repeating a request the database could not take.
DATABASE_RETRY_AFTER_SECONDS = 5


class ApiProblem(exceptions.APIException):
    """An answer with a status and a list of problems, each naming its field."""

    def __init__(self, status_code: int, problems: Iterable[Problem]):
        self.status_code = status_code
        self.problems = list(problems)
        super().__init__(detail="; ".join(problem.message for problem in self.problems))


def problem(status_code: int, field: str | None, message: str, code: str) -> ApiProblem:
    return ApiProblem(status_code, [Problem(field, message, code)])


def status_for(failure: ValidationFailed) -> int:
    if any(found.code in CONFLICT_CODES for found in failure.problems):
        return status.HTTP_409_CONFLICT
    return status.HTTP_422_UNPROCESSABLE_ENTITY


def error_body(problems: Iterable[Problem]) -> dict:
    return {"errors": [found.as_dict() for found in problems]}


def api_exception_handler(exc, context):
    """REST_FRAMEWORK's EXCEPTION_HANDLER: every error as ``{"errors": [...]}``."""
    if isinstance(exc, ValidationFailed):
        exc = ApiProblem(status_for(exc), exc.problems)
    elif isinstance(exc, IntegrityError):
        # A concurrent write won a race for the same natural key; retrying gets the stored state.
        exc = problem(409, None, "the record changed while this request was written; retry it.", "conflict")
    elif isinstance(exc, Http404):
        exc = problem(404, None, "not found.", "not_found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = problem(413, None, f"the body is larger than the {limit} bytes a request may have.", "too_large")
    elif isinstance(exc, (OperationalError, InterfaceError)):
        # The link to the database broke or it takes no connections: the request's transaction
        # was rolled back, so the caller may send the same request again.
        logger.error("The database is unavailable: %s", exc)
        exc = problem(503, None, "the database is unavailable; retry the request shortly.", "unavailable")
        exc.wait = DATABASE_RETRY_AFTER_SECONDS  # DRF turns it into Retry-After
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug, not bad input: let it be a 500 and be logged
    problems = exc.problems if isinstance(exc, ApiProblem) else list(problems_from_detail(exc.detail, exc))
    response.data = error_body(problems)
    return response


def problems_from_detail(detail, exc, field: str | None = None):
    """Flattens DRF's error detail (dicts of lists, nested by field) into problems."""
    if isinstance(detail, dict):
        for name, inner in detail.items():
            path = None if name in ("non_field_errors", "detail") else name
            yield from problems_from_detail(inner, exc, f"{field}.{path}" if field and path else path or field)
    elif isinstance(detail, list):
        nested = any(isinstance(item, (dict, list)) for item in detail)
        for index, item in enumerate(detail):
            yield from problems_from_detail(item, exc, f"{field}.{index}" if nested and field else field)
    else:
        code = getattr(detail, "code", None) or exc.default_code
        yield Problem(field, str(detail), code)


def server_error(request, *args, **kwargs):
    """A crash under /api/ answers in the API's error body, not Django's HTML page."""
    if request.path.startswith("/api/"):
        body = error_body([Problem("", "The server failed to answer; the error has been logged.", "server_error")])
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request, *args, **kwargs)
