"""The reference CLM's lifecycle rules (refclm.lifecycle): pure, no database."""

import datetime

import pytest

from refclm import lifecycle as lc


def walk(*actions, status=lc.DRAFT, amendment=False):
    steps = []
    for action in actions:
        step = lc.step_for(action, status, amendment)
        status, amendment = step.target, step.amendment_in_process
        steps.append(step)
    return steps


def test_every_spec_status_is_known_once():
    assert len(lc.STATUSES) == len(set(lc.STATUSES)) == 14


def test_every_status_is_reached_by_some_action():
    reached = {lc.DRAFT} | {action.target for action in lc.ACTIONS}
    assert reached == set(lc.STATUSES)


def test_happy_path_leads_from_draft_to_executed():
    status, amendment, taken = lc.DRAFT, False, []
    while status != lc.EXECUTED:
        action = lc.happy_path_action(status, amendment)
        step = lc.step_for(action, status, amendment)
        status, amendment = step.target, step.amendment_in_process
        taken.append(action)
    assert taken == ["submit", "approve", "send_for_signature", "vendor_signs", "sign"]
    assert lc.happy_path_action(lc.EXECUTED) is None


def test_first_signature_executes_without_amendment():
    sign = walk("submit", "approve", "send_for_signature", "vendor_signs", "sign")[-1]
    assert sign.executes and not sign.completes_amendment and not sign.amendment_in_process


def test_amendment_is_in_process_until_signed_again():
    steps = walk("amend", "approve", "request_signatures", "vendor_signs", "sign", status=lc.EXECUTED)
    assert [step.amendment_in_process for step in steps] == [True, True, True, True, False]
    assert steps[0].target == lc.WAITING_FOR_APPROVAL
    assert steps[-1].executes and steps[-1].completes_amendment


def test_cancelling_an_amendment_ends_it_without_its_changes():
    cancel = walk("amend", "cancel", status=lc.EXECUTED)[-1]
    assert cancel.target == lc.CANCELLED
    assert not cancel.amendment_in_process and not cancel.completes_amendment


def test_resuming_from_hold_is_not_a_new_execution():
    resume = walk("hold", "resume", status=lc.EXECUTED)[-1]
    assert resume.target == lc.EXECUTED and not resume.executes


def test_final_statuses_offer_no_action():
    for status in lc.FINAL_STATUSES:
        assert lc.next_actions(status) == []
        assert lc.happy_path_action(status) is None


def test_cancel_is_offered_only_before_execution():
    offering = {status for status in lc.STATUSES if "cancel" in lc.next_actions(status)}
    assert offering == set(lc.BEFORE_EXECUTION)


def test_action_not_allowed_names_the_status_and_the_allowed_actions():
    with pytest.raises(lc.ActionNotAllowed) as refused:
        lc.step_for("sign", lc.DRAFT, False)
    assert refused.value.status == lc.DRAFT
    assert refused.value.allowed == ["submit", "request_review", "cancel"]
    assert "Draft" in str(refused.value) and "submit" in str(refused.value)


def test_unknown_action_is_not_allowed():
    with pytest.raises(lc.ActionNotAllowed, match="is not an action"):
        lc.step_for("teleport", lc.EXECUTED, False)


def test_amendment_id_counts_amendments():
    assert lc.amendment_ids("RC-000012", 2) == "RC-000012-A2"


TODAY = datetime.date(2026, 5, 10)
YESTERDAY = datetime.date(2026, 5, 9)


@pytest.mark.parametrize(
    ("expiration", "expected"),
    [
        (datetime.date(2031, 1, 1), YESTERDAY),  # ahead: compressed to yesterday
        (None, YESTERDAY),  # open-ended: expires yesterday
        (TODAY, YESTERDAY),
        (datetime.date(2025, 12, 31), datetime.date(2025, 12, 31)),  # already past: kept
    ],
)
def test_expiry_moves_a_future_expiration_date_to_yesterday(expiration, expected):
    assert lc.dates_on_expiry(datetime.date(2025, 1, 1), expiration, TODAY) == (datetime.date(2025, 1, 1), expected)


def test_expiry_keeps_the_dates_in_order():
    assert lc.dates_on_expiry(datetime.date(2026, 6, 1), datetime.date(2027, 5, 31), TODAY) == (YESTERDAY, YESTERDAY)
