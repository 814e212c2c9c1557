import random

from refclm.clock import clock_tick

from ._json import JsonCommand


class Command(JsonCommand):
    help = "One step of the clock: read master data when due, retry deliveries, create or advance a contract."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--max-open", type=int, default=25)

    def handle(self, *args, seed, max_open, **options):
        self.print_json({"event": clock_tick(rng=random.Random(seed), max_open=max_open)})
