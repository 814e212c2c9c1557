"""Inbound webhooks (SPEC §9): verify the signature on the raw body, store the event under
its id before the CLM gets its 2xx, then apply it in a worker.

Every connector verifies with the Standard Webhooks scheme (https://www.standardwebhooks.com)
unless it overrides ``Connector.verify_webhook``:

- headers ``webhook-id`` (the dedup key), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256>``;
- the signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``;
- a secret is ``whsec_<base64 key>``, as Standard Webhooks issues them. Without the prefix
  a secret is read as base64 when it is valid base64, else as its UTF-8 text, so a secret
  typed by hand works too (one that happens to be valid base64 is read as base64, so
  prefer the ``whsec_`` form);
- a signature made with any of the connection's secrets passes, so a secret is rotated by
  adding the new one, letting the CLM switch, then removing the old one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Min
from django.utils import timezone

from clmsite.middleware import unstorable_text
from contracts.choices import DeadLetterKind, WorkStatus
from contracts.services import Actor, ValidationFailed, audit, contracts_upsert

from .base import ContractRecord, ContractReference, PermanentError, TransientError, WebhookEvent, WebhookRejected
from .cache import ApplyNudges
from .deadletters import dead_letter_add
from .models import Connection, InboundEvent
from .registry import connector_for
from .retry import backoff, max_attempts
from .runs import contract_record_apply
from .tasks import apply_inbound_event_task

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
TIMESTAMP = re.compile(r"[0-9]{1,15}")
# Events applied in one transaction; one task stops after APPLY_MAX_EVENTS or APPLY_MAX_SECONDS.
APPLY_BATCH = 50
APPLY_MAX_EVENTS = 1000
APPLY_MAX_SECONDS = 30
EVENT_ID_MAX = InboundEvent._meta.get_field("event_id").max_length
EVENT_TYPE_MAX = InboundEvent._meta.get_field("event_type").max_length
OUTCOME_MAX = InboundEvent._meta.get_field("outcome").max_length


# --- Verifying ------------------------------------------------------------------------------


def standard_webhook_verify(*, secrets: Sequence[str], headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """The event a Standard Webhooks delivery carries, once its signature and timestamp hold.

    Raises ``WebhookRejected``: 401 when it cannot be trusted (no secret configured, a
    header missing, a timestamp out of tolerance, no matching signature), 400 when a
    trusted body is not a JSON object.
    """
    if not secrets:
        raise WebhookRejected(
            "no webhook secret is configured for this connection, so no webhook can be verified.", status=401
        )
    headers = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in SIGNATURE_HEADERS if not headers.get(name)]
    if missing:
        raise WebhookRejected(f"the header(s) {', '.join(missing)} are missing.", status=401)
    event_id, timestamp, signatures = (headers[name] for name in SIGNATURE_HEADERS)
    _check_timestamp(timestamp)
    signed = f"{event_id}.{timestamp}.".encode() + body
    if not _signature_matches(signed, signatures, secrets):
        raise WebhookRejected("the webhook-signature matches none of the connection's secrets.", status=401)
    payload = webhook_payload(body)
    event_type = payload.get("type", "")
    if not isinstance(event_type, str):
        raise WebhookRejected('the event\'s "type" must be a string.', status=400)
    return WebhookEvent(event_id=event_id, event_type=event_type, payload=payload)


def standard_webhook_sign(secret: str, event_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The sender's side: the three headers that make ``body`` verify under ``secret``.

    For whatever sends clmsite webhooks in its own tests and tools (the reference CLM,
    benchmarks); clmsite itself only verifies."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_key(secret), signed, "sha256").digest()
    signature = f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"
    return {"webhook-id": event_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def webhook_secret_key(secret: str) -> bytes:
    """The HMAC key of a configured secret (see the module's docstring)."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        key = b""
    return key or secret.encode()


def _check_timestamp(timestamp: str) -> None:
    if not TIMESTAMP.fullmatch(timestamp):
        raise WebhookRejected("the webhook-timestamp must be a unix time in whole seconds.", status=401)
    skew = abs(time.time() - int(timestamp))
    tolerance = settings.WEBHOOK_TIMESTAMP_TOLERANCE
    if skew > tolerance:
        raise WebhookRejected(
            f"the webhook-timestamp is {skew:.0f} seconds away from the server's clock, more than the {tolerance} "
            "allowed; refused as a possible replay.",
            status=401,
        )


def _signature_matches(signed: bytes, signatures: str, secrets: Sequence[str]) -> bool:
    expected = [base64.b64encode(hmac.digest(webhook_secret_key(secret), signed, "sha256")) for secret in secrets]
    given = [
        signature.encode()
        for version, _, signature in (candidate.partition(",") for candidate in signatures.split())
        if version == SIGNATURE_VERSION
    ]
    return any(hmac.compare_digest(candidate, match) for candidate in given for match in expected)


def webhook_payload(body: bytes) -> dict:
    """A webhook's body as a JSON object, or ``WebhookRejected`` (400) saying why it is not one."""
    try:
        payload = json.loads(body.decode(), parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise WebhookRejected("the body is not valid UTF-8.", status=400) from None
    except (ValueError, RecursionError) as error:
        raise WebhookRejected(f"the body is not valid JSON: {error}", status=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("the body must be a JSON object.", status=400)
    return payload


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    # A number beyond float range would come back as infinity, which JSON cannot store.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is too large a number")
    return number


# --- Receiving ------------------------------------------------------------------------------


def inbound_event_receive(
    *, connection: Connection, headers: Mapping[str, str], body: bytes, nudges: ApplyNudges
) -> tuple[InboundEvent, bool]:
    """Verifies a webhook and stores its event under (connection, event id); ``created`` is
    False for a repeated id, which returns the stored event and changes nothing.

    Raises ``WebhookRejected``. The event is committed when this returns (the API runs
    without ATOMIC_REQUESTS), so the CLM's 2xx means it is stored; a worker applies it,
    nudged as ``nudges`` allows.
    """
    try:
        connector = connector_for(connection)
    except PermanentError:
        logger.exception("Webhook for connection %s refused: its connector is not available.", connection)
        raise WebhookRejected("the connection's connector is not available; try again later.", status=503) from None
    event = connector.verify_webhook(headers=headers, body=body)
    _check_storable(event)
    stored = InboundEvent(
        connection=connection, event_id=event.event_id, event_type=event.event_type, payload=dict(event.payload)
    )
    if not _insert_unless_stored(stored):
        return InboundEvent.objects.get(connection=connection, event_id=event.event_id), False
    # robust: the event is stored, so a broker that is down must not turn the CLM's answer
    # into an error; the sweep nudges the worker once the broker is back. (A lambda: Django
    # logs a robust callback's failure by its __qualname__, which a partial lacks.)
    transaction.on_commit(lambda: _apply_nudge(stored.pk, nudges), robust=True)
    return stored, True


def _insert_unless_stored(event: InboundEvent) -> bool:
    """Inserts ``event`` and sets its id, or returns False when its id is stored already.

    One statement, INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite 3.35+):
    no SELECT first, no savepoint, and a concurrent delivery of the same id is no error.
    Written out because the ORM's ``bulk_create(ignore_conflicts=True)`` returns no id."""
    db = connections[router.db_for_write(InboundEvent)]
    quote = db.ops.quote_name
    meta = InboundEvent._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    unique = meta.get_field("connection").column, meta.get_field("event_id").column
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(map(quote, unique))}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(field.pre_save(event, add=True), connection=db) for field in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding, event._state.db = False, db.alias
    return True


def _apply_nudge(event_id: int, nudges: ApplyNudges) -> None:
    countdown = nudges.countdown()
    if countdown == 0:
        apply_inbound_event_task.delay(event_id)
    elif countdown is not None:
        apply_inbound_event_task.apply_async((event_id,), countdown=countdown)


def _check_storable(event: WebhookEvent) -> None:
    """Refuses (400) what the database would refuse, the same on every database: text with a
    NUL or a lone surrogate (PostgreSQL's jsonb and text take neither), in the headers or the body."""
    if len(event.event_id) > EVENT_ID_MAX:
        raise WebhookRejected(f"the webhook-id is longer than {EVENT_ID_MAX} characters.", status=400)
    if len(event.event_type) > EVENT_TYPE_MAX:
        raise WebhookRejected(f'the event\'s "type" is longer than {EVENT_TYPE_MAX} characters.', status=400)
    for what, value in (("the webhook-id", event.event_id), ('the event\'s "type"', event.event_type)):
        reason = unstorable_text(value)
        if reason:
            raise WebhookRejected(f"{what} {reason}", status=400)
    reason = _first_unstorable_text(event.payload)
    if reason:
        raise WebhookRejected(f"the body {reason}", status=400)


def _first_unstorable_text(value: Any) -> str | None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and unstorable_text(item):
            return unstorable_text(item)
        if isinstance(item, Mapping):
            pending.extend((*item.keys(), *item.values()))
        elif isinstance(item, list):
            pending.extend(item)
    return None


# --- Applying -------------------------------------------------------------------------------


def inbound_events_apply(*, event_id: int) -> int:
    """What a nudge does: applies the due events of ``event_id``'s connection, in batches of
    ``APPLY_BATCH`` in id order, until none is due; returns how many it settled (applied,
    retried or dead-lettered). Safe to run in several workers at once.

    Stops after ``APPLY_MAX_EVENTS`` or ``APPLY_MAX_SECONDS`` and nudges itself, so one busy
    connection never holds a worker for long.
    """
    connection = Connection.objects.filter(inbound_events=event_id).first()
    if connection is None:
        return 0
    deadline = time.monotonic() + APPLY_MAX_SECONDS
    settled, passed = 0, set()  # passed: held by another worker, or changed since read
    while True:
        batch = list(_due_events().filter(connection=connection).exclude(pk__in=passed).order_by("id")[:APPLY_BATCH])
        if not batch:
            return settled
        if settled >= APPLY_MAX_EVENTS or time.monotonic() >= deadline:
            apply_inbound_event_task.delay(batch[0].pk)
            return settled
        for event in batch:
            event.connection = connection  # one copy: its secrets are decrypted once, on first use
        claimed = _events_apply(batch)
        passed.update(event.pk for event in batch if event.pk not in claimed)
        settled += len(claimed)


def inbound_event_apply(*, event_id: int) -> None:
    """Applies one stored event if it is still due, as ``inbound_events_apply`` would."""
    event = _due_events().select_related("connection").filter(pk=event_id).first()
    if event is not None:
        _events_apply([event])


def _events_apply(events: list[InboundEvent]) -> set[int]:
    """Applies events read as due, in their order, in one transaction; returns the ids of
    those it claimed (the others were held by another worker or changed since).

    Usually all their records go through one ``contracts_upsert``. When one of them fails,
    each event is applied on its own, in a savepoint: every contract it carries goes through
    ``contract_record_apply`` and commits with the event marked done, or none does.
    ``TransientError`` (or an unexpected error) is retried with backoff until the last
    attempt; a record that breaks the rules (``ValidationFailed``) or a ``PermanentError``
    goes to the dead-letter list at once, as retrying cannot help until someone fixes it.
    """
    # The CLM is asked before the transaction opens, so a slow CLM holds no lock.
    prepared = [(event, _records_or_failure(event)) for event in events]
    with transaction.atomic():
        claimed = _claim(events)
        mine = [(event, records) for event, records in prepared if event.pk in claimed]
        fetched = [(event, records) for event, records in mine if not isinstance(records, Exception)]
        applied = {event.pk for event, _ in fetched} if _events_apply_together(fetched) else set()
        for event, records in mine:
            if event.pk not in applied:
                _event_settle(event, records)
    return claimed


def _events_apply_together(fetched: list[tuple[InboundEvent, list[ContractRecord]]]) -> bool:
    """The quick way for the usual batch, where every record applies: all the events' records
    in one ``contracts_upsert``, in order, and every event marked done. Should one record fail,
    nothing of it is kept and this returns False, so that each event is applied on its own
    and keeps its own outcome, retries or dead letter."""
    if len(fetched) < 2:
        return False
    connection = fetched[0][0].connection
    records = [record for _, event_records in fetched for record in event_records]
    try:
        actor = Actor.for_connector(connection.connector)
        with transaction.atomic(), audit.acting_as(actor):
            results = contracts_upsert(records=records, actor=actor, connection=connection)
            if any(isinstance(result, ValidationFailed) for result in results):
                raise _BatchFailed
            results = iter(results)
            for event, event_records in fetched:
                _event_done(event, _outcome([(record, next(results)) for record in event_records]))
    except _BatchFailed:
        return False
    except Exception:
        logger.exception("Applying inbound events %s… together failed; applying each alone.", fetched[0][0].pk)
        return False
    return True


class _BatchFailed(Exception):
    """A record of a batch applied together failed: roll back, apply the events one by one."""


def _outcome(applied: list[tuple[ContractRecord, Any]]) -> str:
    return "; ".join(f"{record.key}: {result.outcome}" for record, result in applied) or "nothing to apply"


def _event_done(event: InboundEvent, outcome: str) -> None:
    InboundEvent.objects.filter(pk=event.pk).update(
        status=WorkStatus.DONE, done_at=timezone.now(), outcome=_shortened(outcome, OUTCOME_MAX)
    )


def _records_or_failure(event: InboundEvent) -> list[ContractRecord] | Exception:
    try:
        return _event_records(event)
    except Exception as error:  # settled once the event is claimed, as a failure to apply is
        return error


def _event_settle(event: InboundEvent, records: list[ContractRecord] | Exception) -> None:
    try:
        if isinstance(records, Exception):
            raise records
        with transaction.atomic():
            _event_done(event, _records_apply(event, records))
    except TransientError as error:
        _event_retry(event, error)
    except PermanentError as error:
        _event_bury(event, str(error), attempts=event.attempts + 1)
    except Exception as error:
        logger.exception("Applying inbound event %s failed unexpectedly.", event.pk)
        _event_retry(event, error)


def _due_events():
    return InboundEvent.objects.filter(status=WorkStatus.PENDING, next_attempt_at__lte=timezone.now())


def _claim(events: list[InboundEvent]) -> set[int]:
    """Locks, for this transaction, those of ``events`` still as they were read. Another
    worker holding one, or having applied or retried it since (attempts moved on), means:
    leave it."""
    read = {event.pk: event.attempts for event in events}
    locked = (
        InboundEvent.objects.select_for_update(skip_locked=True)
        .filter(pk__in=read, status=WorkStatus.PENDING)
        .values_list("pk", "attempts")
    )
    return {pk for pk, attempts in locked if read[pk] == attempts}


def _event_records(event: InboundEvent) -> list[ContractRecord]:
    connector = connector_for(event.connection)
    changes = connector.webhook_changes(WebhookEvent(event.event_id, event.event_type, event.payload))
    return [
        connector.fetch(change.external_id) if isinstance(change, ContractReference) else change for change in changes
    ]


def _records_apply(event: InboundEvent, records: list[ContractRecord]) -> str:
    actor = Actor.for_connector(event.connection.connector)
    applied = []
    with audit.acting_as(actor):
        for record in records:
            try:
                applied.append((record, contract_record_apply(connection=event.connection, record=record, actor=actor)))
            except ValidationFailed as failure:
                raise PermanentError(f"{record.key} was not applied: {failure}") from failure
    return _outcome(applied)


def _event_retry(event: InboundEvent, error: Exception) -> None:
    attempts = event.attempts + 1
    if attempts >= max_attempts():
        _event_bury(event, f"gave up after {attempts} attempts: {error}", attempts=attempts)
        return
    delay = backoff(attempts, retry_after=getattr(error, "retry_after", None))
    with transaction.atomic():
        if _claim([event]):
            InboundEvent.objects.filter(pk=event.pk).update(
                attempts=attempts, next_attempt_at=timezone.now() + delay, last_error=str(error)
            )
            nudge = partial(apply_inbound_event_task.apply_async, (event.pk,), countdown=delay.total_seconds())
            transaction.on_commit(nudge)


def _event_bury(event: InboundEvent, error: str, *, attempts: int) -> None:
    with transaction.atomic():
        if not _claim([event]):
            return
        InboundEvent.objects.filter(pk=event.pk).update(status=WorkStatus.DEAD, attempts=attempts, last_error=error)
        dead_letter_add(
            kind=DeadLetterKind.INBOUND_EVENT,
            item=event,
            connection=event.connection,
            summary=f"Webhook {event.event_type or 'event'} {event.event_id} from {event.connection}",
            error=error,
            attempts=attempts,
        )


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


# --- Sweeping -------------------------------------------------------------------------------


def inbound_events_redrive() -> int:
    """Nudges every connection with events due, in case their messages were lost; returns how
    many. One nudge a connection is enough: the worker applies all of its due events."""
    first_due = (
        _due_events().order_by().values("connection_id").annotate(first=Min("pk")).values_list("first", flat=True)
    )
    event_ids = list(first_due)
    for event_id in event_ids:
        apply_inbound_event_task.delay(event_id)
    return len(event_ids)
