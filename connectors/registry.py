"""Connectors registered by name; a connection names the connector that talks to its CLM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Connector, PermanentError

if TYPE_CHECKING:
    from .models import Connection

_connectors: dict[str, type[Connector]] = {}


def register_connector(connector_class: type[Connector]) -> type[Connector]:
    """Class decorator: makes a connector available to connections under its ``name``."""
    existing = _connectors.get(connector_class.name)
    if existing is not None and existing is not connector_class:
        raise ValueError(f"A different connector is already registered as {connector_class.name!r}.")
    _connectors[connector_class.name] = connector_class
    return connector_class


def unregister_connector(name: str) -> None:
    _connectors.pop(name, None)


def connector_for(connection: Connection) -> Connector:
    try:
        connector_class = _connectors[connection.connector]
    except KeyError:
        raise PermanentError(
            f'Connection "{connection}" names the connector "{connection.connector}", which is not registered.'
        ) from None
    return connector_class(connection)


def connector_names() -> list[str]:
    return sorted(_connectors)


def connector_choices() -> list[tuple[str, str]]:
    return [(name, _connectors[name].label) for name in connector_names()]
