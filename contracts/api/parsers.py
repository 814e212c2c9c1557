"""The API's JSON parser: JSON that parses but cannot be stored is malformed input (400)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from clmsite.middleware import unstorable_text


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        found = _first_unstorable(data, "")
        if found is not None:
            place, reason = found
            raise ParseError(f"{place or 'the body'} {reason}")
        return data


def _first_unstorable(value: Any, place: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        reason = unstorable_text(value)
        return (place, reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = unstorable_text(key)
            if reason:
                return (f"a key of {place or 'the body'}", reason)
            found = _first_unstorable(item, f"{place}.{key}" if place else key)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, f"{place}.{index}" if place else str(index))
            if found:
                return found
    return None
