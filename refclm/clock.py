"""The clock: the reference CLM living on its own, one event per interval.

Each tick reads master data when it is due, retries pending deliveries, then creates a
contract or moves an open one a step — mostly along the happy path, now and then a detour
(reject, hold, amend, terminate, expire, cancel). clmsite being down only leaves
deliveries pending; the clock goes on.
"""

from __future__ import annotations

import datetime
import logging
import random
import signal
import threading

from django.utils import timezone

from . import lifecycle, masterdata
from .clmsite import ClmsiteError
from .configuration import master_data_refresh
from .delivery import deliveries_run
from .models import Config, Contract, ContractType
from .protocol import delivery_outcome
from .services import ActionRefused, InputInvalid, contract_advance, contract_create

logger = logging.getLogger("refclm.clock")

MASTER_DATA_EVERY = datetime.timedelta(minutes=5)
CREATE_SHARE = 0.3  # of ticks that create a contract while fewer than max_open are open
DETOUR_SHARE = 0.1  # of steps that leave the happy path
EXPIRING_SOON_SHARE = 0.15
TYPE_WEIGHTS = {ContractType.NDA: 3, ContractType.PURCHASE: 5, ContractType.SERVICE: 2}
# What happens to an executed contract when the clock picks it (it has no happy path).
EXECUTED_WEIGHTS = {"amend": 4, "hold": 2, "terminate": 2, "expire": 2}


def clock_tick(*, rng: random.Random, max_open: int = 25) -> str:
    """One step of the clock; returns its log line."""
    config = Config.load()
    due = config.master_data_synced_at is None or timezone.now() - config.master_data_synced_at > MASTER_DATA_EVERY
    if due and config.reaches_clmsite:
        try:
            counts = master_data_refresh()
        except ClmsiteError as error:
            if not masterdata.legal_entity_codes():
                return f"master data: not read ({error})"
            logger.warning("master data: not refreshed (%s); going on with what was read", error)
        else:
            return f"master data: read {sum(counts.values())} changes ({_counts_text(counts)})"
    report = deliveries_run()
    retried = ""
    if report["delivered"] or report["failed"]:
        retried = f" [retried deliveries: {report['delivered']} delivered, {report['failed']} refused]"
    if not masterdata.legal_entity_codes():
        return "waiting for master data (configure the CLM and let it read from clmsite)" + retried
    open_contracts = Contract.objects.exclude(status__in=lifecycle.FINAL_STATUSES)
    open_count = open_contracts.count()
    if open_count == 0 or (open_count < max_open and rng.random() < CREATE_SHARE):
        return _create(rng) + retried
    return _advance(rng, open_contracts) + retried


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items() if count) or "nothing changed"


def _create(rng: random.Random) -> str:
    contract_type = rng.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()))[0]
    try:
        contract = contract_create(
            contract_type=contract_type, expiring_soon=rng.random() < EXPIRING_SOON_SHARE, rng=rng
        )
    except (ActionRefused, InputInvalid) as refused:
        return f"create {contract_type}: {refused}"
    return f"{_label(contract)}: created ({contract.name}), {delivery_outcome(contract)}"


def _advance(rng: random.Random, open_contracts) -> str:
    # Contracts still on their way are moved more often than executed ones sitting still.
    candidates = list(open_contracts.only("pk", "status"))
    weights = [1 if contract.status == lifecycle.EXECUTED else 4 for contract in candidates]
    contract = rng.choices(candidates, weights=weights)[0]
    contract = Contract.objects.get(pk=contract.pk)
    action = clock_action_choose(contract, rng)
    before = contract.status
    try:
        contract = contract_advance(contract=contract, action=action, rng=rng)
    except ActionRefused as refused:
        if action == "approve" and contract.validation and contract.validation.get("ok") is False:
            contract = contract_advance(contract=contract, action="reject", rng=rng)
            problems = "; ".join(refused.problems)
            return f"{_label(contract)}: {before} → {contract.status} (validation: {problems})"
        return f"{_label(contract)}: {action} refused: {refused}"
    except lifecycle.ActionNotAllowed as not_allowed:  # moved by someone else in the meantime
        return f"{_label(contract)}: {not_allowed}"
    return f"{_label(contract)}: {before} → {contract.status}, {delivery_outcome(contract)}"


def clock_action_choose(contract: Contract, rng: random.Random) -> str:
    """Mostly the happy path; sometimes another allowed action. Executed contracts get a detour
    by weight, and a rejected contract that clmsite's validation refused is cancelled."""
    actions = contract.next_actions
    if contract.status == lifecycle.EXECUTED:
        names = [name for name in EXECUTED_WEIGHTS if name in actions]
        return rng.choices(names, weights=[EXECUTED_WEIGHTS[name] for name in names])[0]
    if contract.status == lifecycle.REJECTED and (contract.validation or {}).get("ok") is False:
        return "cancel"
    happy = lifecycle.happy_path_action(contract.status, contract.amendment_in_process)
    if happy and rng.random() >= DETOUR_SHARE:
        return happy
    return rng.choice(actions)


def _label(contract: Contract) -> str:
    return f"{contract.contract_id} {contract.contract_type} {contract.legal_entity}"


def clock_run(*, interval: float, seed: int | None, max_open: int, ticks: int | None = None) -> None:
    """Ticks every ``interval`` seconds until SIGTERM or SIGINT (or ``ticks`` ticks)."""
    rng = random.Random(seed)
    stop = threading.Event()

    def request_stop(signum, frame):
        logger.info("clock: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    logger.info("clock: one event every %ss (seed %s, at most %s open contracts)", interval, seed, max_open)
    done = 0
    while not stop.is_set():
        try:
            logger.info("%s", clock_tick(rng=rng, max_open=max_open))
        except Exception:  # one bad tick (a locked database, a bug) must not end the simulation
            logger.exception("clock: tick failed")
        done += 1
        if ticks is not None and done >= ticks:
            break
        stop.wait(interval)
    logger.info("clock: stopped")
