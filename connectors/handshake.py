"""The handshake (SPEC §3.5): clmsite asks each CLM whether it is reachable and configured,
and records the answer as the connection's establishment and configuration status."""

from __future__ import annotations

import logging

from django.db import transaction

from contracts.choices import HandshakeStatus
from contracts.services import Actor

from .base import ConnectorError, Handshake
from .models import Connection
from .registry import connector_for
from .services import connection_report_status

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = Connection._meta.get_field("status_message").max_length


def connection_check(*, connection: Connection, actor: Actor) -> Connection:
    """Asks the connection's CLM for its handshake and stores the statuses it gives.

    A CLM that cannot be reached, or refuses clmsite, makes establishment Error with the
    reason. A status the connector does not know (NotStarted) leaves the stored one alone,
    as the CLM may have reported it itself (SPEC §8.7).
    """
    try:
        handshake = connector_for(connection).check()
    except ConnectorError as error:
        handshake = Handshake(establishment=HandshakeStatus.ERROR, message=str(error))
    data = {
        name: status
        for name, status in (
            ("establishment_status", handshake.establishment),
            ("configuration_status", handshake.configuration),
        )
        if status != HandshakeStatus.NOT_STARTED
    }
    data["message"] = handshake.message[:MESSAGE_LIMIT]
    with transaction.atomic():
        # The answer may have taken seconds: store it on the row as it is now, not as it was
        # loaded, so that a pull finishing meanwhile keeps its watermark.
        current = Connection.objects.select_for_update().get(pk=connection.pk)
        return connection_report_status(connection=current, data=data, actor=actor)


def connections_check(*, actor: Actor) -> list[Connection]:
    """Checks every enabled connection; one that fails in any way does not stop the others."""
    checked = []
    for connection in Connection.objects.filter(enabled=True):
        try:
            checked.append(connection_check(connection=connection, actor=actor))
        except Exception:
            logger.exception("The handshake with connection %s failed unexpectedly.", connection)
    return checked
