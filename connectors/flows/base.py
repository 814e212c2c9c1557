"""The contract-type flow interface (SPEC §9): what a contract's changes do elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from contracts.models import Contract
    from contracts.services.common import Actor


class ContractFlow:
    """Turns a synchronized contract into its effects.

    ``apply`` runs inside the transaction that changed the contract, after every change
    (status, amendment flag or other fields), and must be idempotent: it brings everything
    the flow owns in line with the contract as it now is.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    # False for a flow whose ``apply`` never does anything: a batch then need not call it.
    has_effects: ClassVar[bool] = True

    def apply(self, contract: Contract, *, previous_status: str | None, actor: Actor) -> None:
        raise NotImplementedError
