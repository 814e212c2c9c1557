"""The reference CLM (simulator) connector: clmsite's own CLM protocol over HTTP."""

from connectors.base import Connector
from connectors.registry import register_connector


@register_connector
class ReferenceConnector(Connector):
    name = "reference"
    label = "Reference CLM (simulator)"
