from contracts.choices import ContractFlowName

from .base import ContractFlow
from .registry import register_flow


@register_flow
class LightweightFlow(ContractFlow):
    """NDAs and the like: the record in All contracts is the whole effect (SPEC §4)."""

    name = ContractFlowName.LIGHTWEIGHT.value
    label = ContractFlowName.LIGHTWEIGHT.label
    has_effects = False

    def apply(self, contract, *, previous_status, actor):
        return None
