"""``manage.py seed_demo``: the demo data set; ``make run`` calls it with ``--if-empty``."""

import time

from django.core.management.base import BaseCommand, CommandError

from contracts import demo


class Command(BaseCommand):
    help = (
        "Loads a realistic, deterministic demo data set: master data, users, the Reference CLM connection, "
        "and N contracts with status history, purchase agreements and lines. Run again to add N more."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contracts", type=int, default=300, help="How many contracts to add (default 300).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing (but print the logins) if the database has data."
        )

    def handle(self, *args, contracts: int, seed: int, if_empty: bool, **options):
        if contracts < 0:
            raise CommandError("--contracts cannot be negative.")
        if if_empty and demo.database_has_data():
            self.stdout.write("Demo data already present; nothing created.")
            self._print_logins()
            return
        self.started = time.monotonic()
        self.total = contracts
        summary = demo.seed(contracts=contracts, seed=seed, progress=self._progress)
        elapsed = time.monotonic() - self.started
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {summary.contracts:,} contracts ({summary.first_contract_id or '-'} to "
                f"{summary.last_contract_id or '-'}), {summary.status_changes:,} status changes, "
                f"{summary.clm_agreements:,} CLM-owned and {summary.scm_agreements:,} SCM-owned purchase agreements "
                f"with {summary.lines:,} lines in {elapsed:.1f} s ({summary.rows / max(elapsed, 0.001):,.0f} rows/s)."
            )
        )
        self._print_logins()

    def _progress(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        self.stdout.write(f"  {done:,} / {self.total:,} contracts ({elapsed:.0f} s)")

    def _print_logins(self) -> None:
        url = demo.site_url()
        self.stdout.write(f"Open {url} (admin: {url}admin/) and log in as:")
        for login in demo.DEMO_LOGINS:
            self.stdout.write(f"  {login.username} / {login.password}  ({login.role})")
