"""Every write of the domain goes through these functions (STYLE.md: business logic in services)."""

from .agreements import (
    agreement_close,
    agreement_create,
    agreement_delete,
    agreement_find,
    agreement_prepare,
    agreement_set_status,
    agreement_update,
    agreements_close_expired,
    line_create,
    line_delete,
    line_prepare,
    line_update,
)
from .api_clients import api_client_authenticate, api_client_create, api_client_revoke, api_client_rotate_key
from .common import Actor, Problem, ValidationFailed
from .contracts import (
    ContractUpsertResult,
    UpsertOutcome,
    contract_create,
    contract_delete,
    contract_set_status,
    contract_type_create,
    contract_type_delete,
    contract_type_upsert,
    contract_upsert,
)
from .references import worker_resolve

__all__ = [
    "Actor",
    "ContractUpsertResult",
    "Problem",
    "UpsertOutcome",
    "ValidationFailed",
    "agreement_close",
    "agreement_create",
    "agreement_delete",
    "agreement_find",
    "agreement_prepare",
    "agreement_set_status",
    "agreement_update",
    "agreements_close_expired",
    "api_client_authenticate",
    "api_client_create",
    "api_client_revoke",
    "api_client_rotate_key",
    "contract_create",
    "contract_delete",
    "contract_set_status",
    "contract_type_create",
    "contract_type_delete",
    "contract_type_upsert",
    "contract_upsert",
    "line_create",
    "line_delete",
    "line_prepare",
    "line_update",
    "worker_resolve",
]
