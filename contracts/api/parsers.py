"""The API's JSON parser: every body is bounded, exact and storable, or refused (SPEC §8.1).

- Larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django's limit on a request body, 2.5 MiB by
  default): 413, from Django's own check as DRF reads the body (``contracts.api.errors``).
- Not UTF-8, not JSON, ``NaN``/``Infinity``, or nested deeper than ``MAX_DEPTH``: 400. Deep
  nesting would otherwise end in a RecursionError (a 500) in the decoder or after it.
- Numbers with a fraction or exponent are read as ``Decimal``, so ``12.345678901234567890`` is
  checked as sent instead of silently rounded by a float.
- Text no database can store (NUL, lone surrogates), in a key or a value: 400 naming its place.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from clmsite.middleware import unstorable_text

# No request body of the API nests nearly this deep; the limit keeps every walk over it shallow.
MAX_DEPTH = 64


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        body = stream.read() if stream is not None else b""
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"the body is not valid {encoding} text.") from None
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(f"the body is nested deeper than {MAX_DEPTH} levels.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        found = _first_unstorable(data)
        if found is not None:
            place, reason = found
            raise ParseError(f"{place or 'the body'} {reason}")
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _first_unstorable(data: Any) -> tuple[str, str] | None:
    """The first place (``records.0.name``) holding text no database stores, or nesting deeper
    than ``MAX_DEPTH``, with the reason; walked without recursion."""
    pending = [(data, "", 0)]
    while pending:
        value, place, depth = pending.pop()
        if depth > MAX_DEPTH:
            return place, f"is nested deeper than {MAX_DEPTH} levels."
        if isinstance(value, str):
            reason = unstorable_text(value)
            if reason:
                return place, reason
        elif isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = []
            for key, item in items:
                reason = unstorable_text(key) if isinstance(key, str) else None
                if reason:
                    return f"a key of {place or 'the body'}", reason
                children.append((item, f"{place}.{key}" if place else str(key), depth + 1))
            pending.extend(reversed(children))  # in order: the first place found is the first named
    return None
