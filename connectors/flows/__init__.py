"""Contract-type flows. The shipped ones register themselves on import; a new flow is a
module with a ``@register_flow`` class, imported from an app's ``ready()``."""

from . import lightweight, purchase_agreement  # noqa: F401
from .registry import flow_for, flow_names, register_flow

__all__ = ["flow_for", "flow_names", "register_flow"]
