"""The contract lifecycle of the reference CLM: named actions and the statuses they move between.

Pure Python on purpose (no Django), so the rules are tested on their own and read in one
place. The statuses are the fourteen of SPEC §3.3, spelled as clmsite spells them. What an
action does to a contract's data (an amendment's changes, an expiry date) is decided here
too, as flags and plain values, and applied by ``refclm.services``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

DRAFT = "Draft"
WAITING_FOR_APPROVAL = "WaitingForApproval"
APPROVED = "Approved"
REJECTED = "Rejected"
WAITING_FOR_SIGNATURES = "WaitingForSignatures"
WAITING_FOR_EXTERNAL_SIGNATURES = "WaitingForExternalSignatures"
WAITING_FOR_INTERNAL_SIGNATURES = "WaitingForInternalSignatures"
EXECUTED = "Executed"
TERMINATED = "Terminated"
EXPIRED = "Expired"
ON_HOLD = "OnHold"
CANCELLED = "Cancelled"
WAITING_FOR_REVIEW = "WaitingForReview"
REVIEWED = "Reviewed"

STATUSES = (
    DRAFT,
    WAITING_FOR_APPROVAL,
    APPROVED,
    REJECTED,
    WAITING_FOR_SIGNATURES,
    WAITING_FOR_EXTERNAL_SIGNATURES,
    WAITING_FOR_INTERNAL_SIGNATURES,
    EXECUTED,
    TERMINATED,
    EXPIRED,
    ON_HOLD,
    CANCELLED,
    WAITING_FOR_REVIEW,
    REVIEWED,
)
FINAL_STATUSES = frozenset({TERMINATED, EXPIRED, CANCELLED})
# Everything before the first signature completes; a contract here can still be edited or cancelled.
BEFORE_EXECUTION = (
    DRAFT,
    WAITING_FOR_REVIEW,
    REVIEWED,
    WAITING_FOR_APPROVAL,
    APPROVED,
    REJECTED,
    WAITING_FOR_SIGNATURES,
    WAITING_FOR_EXTERNAL_SIGNATURES,
    WAITING_FOR_INTERNAL_SIGNATURES,
)


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    starts_amendment: bool = False
    needs_validation: bool = False  # purchase and service contracts validate against clmsite first
    expires: bool = False


ACTIONS = (
    Action("submit", "Submit for approval", (DRAFT, REVIEWED), WAITING_FOR_APPROVAL),
    Action("request_review", "Request legal review", (DRAFT,), WAITING_FOR_REVIEW),
    Action("reviewed", "Mark reviewed", (WAITING_FOR_REVIEW,), REVIEWED),
    Action("approve", "Approve", (WAITING_FOR_APPROVAL,), APPROVED, needs_validation=True),
    Action("reject", "Reject", (WAITING_FOR_APPROVAL,), REJECTED),
    Action("revise", "Revise", (REJECTED,), DRAFT),
    Action("send_for_signature", "Send to the vendor for signature", (APPROVED,), WAITING_FOR_EXTERNAL_SIGNATURES),
    Action("request_signatures", "Request both signatures", (APPROVED,), WAITING_FOR_SIGNATURES),
    Action(
        "vendor_signs",
        "Vendor signs",
        (WAITING_FOR_SIGNATURES, WAITING_FOR_EXTERNAL_SIGNATURES),
        WAITING_FOR_INTERNAL_SIGNATURES,
    ),
    Action("sign", "Sign", (WAITING_FOR_INTERNAL_SIGNATURES,), EXECUTED),
    Action("hold", "Put on hold", (EXECUTED,), ON_HOLD),
    Action("resume", "Resume", (ON_HOLD,), EXECUTED),
    Action("amend", "Amend", (EXECUTED,), WAITING_FOR_APPROVAL, starts_amendment=True),
    Action("terminate", "Terminate", (EXECUTED, ON_HOLD), TERMINATED),
    Action("expire", "Expire", (EXECUTED,), EXPIRED, expires=True),
    Action("cancel", "Cancel", BEFORE_EXECUTION, CANCELLED),
)
ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}

# The step the clock prefers from each status: the road from draft to executed. Executed
# contracts have none; they stay until something happens to them.
HAPPY_PATH = {
    DRAFT: "submit",
    WAITING_FOR_REVIEW: "reviewed",
    REVIEWED: "submit",
    WAITING_FOR_APPROVAL: "approve",
    REJECTED: "revise",
    APPROVED: "send_for_signature",
    WAITING_FOR_SIGNATURES: "vendor_signs",
    WAITING_FOR_EXTERNAL_SIGNATURES: "vendor_signs",
    WAITING_FOR_INTERNAL_SIGNATURES: "sign",
    ON_HOLD: "resume",
}


class ActionNotAllowed(Exception):
    """An action that does not start from the contract's status (or does not exist)."""

    def __init__(self, action: str, status: str, allowed: list[str]):
        self.action, self.status, self.allowed = action, status, allowed
        if action not in ACTIONS_BY_NAME:
            reason = f'"{action}" is not an action'
        else:
            reason = f'"{action}" is not allowed from status {status}'
        offered = ", ".join(allowed) if allowed else "none (the status is final)"
        super().__init__(f"{reason}; allowed now: {offered}.")


@dataclass(frozen=True)
class Step:
    """What one action does: the new status and the amendment bookkeeping it implies."""

    action: Action
    source: str
    target: str
    amendment_in_process: bool
    completes_amendment: bool

    @property
    def executes(self) -> bool:
        return self.target == EXECUTED and self.source != ON_HOLD


def next_actions(status: str, amendment_in_process: bool = False) -> list[str]:
    """The actions possible from ``status``, in the order of ``ACTIONS``."""
    del amendment_in_process  # every status offers the same actions during an amendment
    return [action.name for action in ACTIONS if status in action.sources]


def happy_path_action(status: str, amendment_in_process: bool = False) -> str | None:
    """The action the clock prefers from ``status``; None where none is preferred (Executed, final)."""
    action = HAPPY_PATH.get(status)
    return action if action in next_actions(status, amendment_in_process) else None


def step_for(action_name: str, status: str, amendment_in_process: bool) -> Step:
    """The step ``action_name`` takes from ``status``; raises ``ActionNotAllowed`` if it cannot."""
    allowed = next_actions(status, amendment_in_process)
    if action_name not in allowed:
        raise ActionNotAllowed(action_name, status, allowed)
    action = ACTIONS_BY_NAME[action_name]
    # Signing again completes an amendment (its changes take effect); cancelling ends it too.
    completes = amendment_in_process and action.target == EXECUTED
    ends = amendment_in_process and action.target in (EXECUTED, CANCELLED)
    in_process = action.starts_amendment or (amendment_in_process and not ends)
    return Step(action, status, action.target, in_process, completes)


def amendment_ids(contract_id: str, number: int) -> str:
    """The amendment id people see: the contract id and the amendment's number."""
    return f"{contract_id}-A{number}"


def dates_on_expiry(
    effective: datetime.date | None, expiration: datetime.date | None, today: datetime.date
) -> tuple[datetime.date | None, datetime.date]:
    """The effective and expiration dates of a contract that expires today in the simulation's
    compressed time: an expiration date still ahead (or none) becomes yesterday, one already
    past stays; an effective date after it moves back to it, so the dates stay in order."""
    yesterday = today - datetime.timedelta(days=1)
    if expiration is None or expiration > yesterday:
        expiration = yesterday
    if effective is not None and effective > expiration:
        effective = expiration
    return effective, expiration
