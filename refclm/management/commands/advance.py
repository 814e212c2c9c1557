import random

from django.core.management.base import CommandError

from refclm.clock import clock_action_choose
from refclm.protocol import contract_as_control
from refclm.services import contract_advance, contract_find

from ._json import JsonCommand


class Command(JsonCommand):
    help = "Takes one lifecycle action on a contract (by default the one the clock would choose) and delivers it."

    def add_arguments(self, parser):
        parser.add_argument("contract", help="Contract id (RC-000001) or external id.")
        parser.add_argument("--action", default="", help="e.g. submit, approve, sign, amend, terminate.")

    def handle(self, *args, contract, action, **options):
        found = contract_find(contract)
        if found is None:
            raise CommandError(f'There is no contract "{contract}".')
        rng = random.Random()
        if not action:
            if not found.next_actions:
                raise CommandError(f"{found.contract_id} is {found.status}: a final status, no action is possible.")
            action = clock_action_choose(found, rng)
        self.print_json(contract_as_control(contract_advance(contract=found, action=action, rng=rng)))
