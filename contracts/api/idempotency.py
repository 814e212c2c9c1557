"""``Idempotency-Key`` on POST (SPEC §8.1).

The first answer to a POST carrying the header is stored with the caller, the key, the
method and path, and a hash of the body. A repeat within 24 hours with the same key and
body gets that answer again, verbatim (with ``Idempotent-Replayed: true``), and writes
nothing; the same key with another body or path is refused (422 naming the header).
Answers of 5xx are not stored, so such a request can be retried with its key. Records
older than ``RETENTION`` are ignored; :func:`idempotency_records_purge` deletes them.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from contracts.models import IdempotencyRecord

from .errors import problem
from .permissions import caller_of

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION = datetime.timedelta(hours=24)
REPLAYED_HEADERS = ("Location", "ETag")


def idempotent(handler):
    """Decorates a view's ``post``: honours the Idempotency-Key header when it is sent."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        return _answer_once(view, request, key.strip(), lambda: handler(view, request, *args, **kwargs))

    return wrapper


def idempotency_records_purge(*, now: datetime.datetime | None = None) -> int:
    """Deletes records older than the retention period; returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _answer_once(view, request, key: str, handler) -> Response:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise problem(400, HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters.", "invalid")
    caller = caller_of(request)
    owner = {"api_client": caller.api_client} if caller.api_client is not None else {"user": caller.user}
    fingerprint = _fingerprint(request.data)
    path = request.get_full_path()
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().filter(key=key, **owner).first()
        if record is not None and record.created_at < timezone.now() - RETENTION:
            record.delete()
            record = None
        if record is not None:
            if (record.method, record.path, record.request_hash) != (request.method, path, fingerprint):
                raise problem(
                    422,
                    HEADER,
                    f'"{key}" was already used for a different request ({record.method} {record.path}); '
                    "send a new key for a new request.",
                    "idempotency_key_reused",
                )
            return Response(
                record.response_body,
                status=record.response_status,
                headers={**record.response_headers, "Idempotent-Replayed": "true"},
            )
        try:
            with transaction.atomic():
                response = handler()
        except Exception as exc:  # answered like any error, and that answer is the one kept
            response = view.handle_exception(exc)
        if response.status_code >= 500:
            return response
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    key=key,
                    method=request.method,
                    path=path,
                    request_hash=fingerprint,
                    response_status=response.status_code,
                    response_body=_as_json(response.data),
                    response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
                    **owner,
                )
        except IntegrityError:
            # The same key is being answered by a concurrent request: undo this one's writes.
            raise problem(
                409, HEADER, f'a request with key "{key}" is in progress; repeat it to get its answer.', "conflict"
            ) from None
    return response


def _fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=JSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _as_json(data):
    return None if data is None else json.loads(JSONRenderer().render(data))
