"""What the webhook endpoint needs of a connection, kept in each web process (issue 8).

Checking a webhook's signature decrypts the connection's secrets (on first read, then kept on
the instance), a fifth of a webhook's cost when done per request. So each process keeps the
enabled connections it has served for ``CONNECTION_TTL_SECONDS`` and then loads them again:
a secret rotated or a connection disabled in another process (or by a queryset update, which
sends no signal) takes effect within that time, and at once in the process that saved or
deleted it.

An entry also throttles the apply task's nudges of its connection (``ApplyNudges``).
"""

from __future__ import annotations

import threading
from time import monotonic

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Connection

CONNECTION_TTL_SECONDS = 2.0
# One immediate nudge per connection and process in this time, plus at most one at its end.
NUDGE_INTERVAL_SECONDS = 0.5


class ApplyNudges:
    """When a newly stored event should nudge the apply task: at most one nudge at once and
    one at the end of each interval, per connection and process.

    A worker applies every due event of the connection on one nudge, so the rest would only
    queue empty tasks. The nudge at the interval's end runs after every event this process
    stored in the interval was committed, so none waits for the sweep."""

    def __init__(self):
        self._lock = threading.Lock()
        self._interval_end = 0.0
        self._trailing_sent = False

    def countdown(self) -> float | None:
        """Seconds to delay the nudge by (0: now), or None when one already sent covers it."""
        now = monotonic()
        with self._lock:
            if now >= self._interval_end:
                self._interval_end = now + NUDGE_INTERVAL_SECONDS
                self._trailing_sent = False
                return 0.0
            if self._trailing_sent:
                return None
            self._trailing_sent = True
            return self._interval_end - now


class _Entry:
    def __init__(self, connection: Connection):
        self.connection = connection
        self.nudges = ApplyNudges()
        self.expires_at = monotonic() + CONNECTION_TTL_SECONDS


# Read and written by the process's threads without a lock: each dict operation is atomic,
# and two threads loading the same connection at once only load it twice.
_entries: dict[str, _Entry] = {}


def webhook_connection(name: str) -> tuple[Connection, ApplyNudges] | None:
    """The enabled connection called ``name`` and its nudge throttle, or None.

    The connection is shared by the process's threads: read it, never change or save it."""
    entry = _entries.get(name)
    if entry is None or monotonic() >= entry.expires_at:
        connection = Connection.objects.filter(name=name, enabled=True).first()
        if connection is None:
            # Not kept: a connection created or enabled must be served at once.
            _entries.pop(name, None)
            return None
        entry = _entries[name] = _Entry(connection)
    return entry.connection, entry.nudges


def webhook_connections_forget() -> None:
    """Drops every entry, so the next webhook of each connection loads it again."""
    _entries.clear()


@receiver(post_save, sender=Connection, dispatch_uid="webhook_connections_forget_on_save")
@receiver(post_delete, sender=Connection, dispatch_uid="webhook_connections_forget_on_delete")
def _forget_changed_connection(**kwargs) -> None:
    # Everything rather than the one name: a rename would otherwise leave the old name served.
    webhook_connections_forget()
