from refclm.clock import clock_run

from ._json import JsonCommand


class Command(JsonCommand):
    help = "Runs the clock: one event every interval, until SIGTERM or SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=4.0, help="Seconds between events (default 4).")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the random choices, for a repeatable run.")
        parser.add_argument("--max-open", type=int, default=25, help="Contracts open at most before it stops creating.")
        parser.add_argument("--ticks", type=int, default=None, help="Stop after this many events.")

    def handle(self, *args, interval, seed, max_open, ticks, **options):
        clock_run(interval=interval, seed=seed, max_open=max_open, ticks=ticks)
