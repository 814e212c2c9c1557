"""Flows registered by name; a contract type names the flow that handles it."""

from __future__ import annotations

from contracts.services.common import Problem, ValidationFailed

from .base import ContractFlow

_flows: dict[str, ContractFlow] = {}


def register_flow(flow_class: type[ContractFlow]) -> type[ContractFlow]:
    """Class decorator: makes a flow available to contract types under its ``name``."""
    existing = _flows.get(flow_class.name)
    if existing is not None and type(existing) is not flow_class:
        raise ValueError(f"A different flow is already registered as {flow_class.name!r}.")
    _flows[flow_class.name] = flow_class()
    return flow_class


def unregister_flow(name: str) -> None:
    _flows.pop(name, None)


def flow_for(name: str) -> ContractFlow:
    try:
        return _flows[name]
    except KeyError:
        raise ValidationFailed(
            [Problem("contract_type", f'its flow "{name}" is not registered; an admin must fix the contract type.')]
        ) from None


def flow_names() -> list[str]:
    return sorted(_flows)


def flow_choices() -> list[tuple[str, str]]:
    return [(name, _flows[name].label) for name in flow_names()]
