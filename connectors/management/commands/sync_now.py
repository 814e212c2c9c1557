"""``manage.py sync_now NAME [--full] [--wait]``: pull a connection now."""

from django.core.management.base import BaseCommand, CommandError

from connectors.models import Connection
from connectors.pull import pull_run_describe, pull_run_to_end, pull_start
from contracts.choices import SyncRunStatus
from contracts.services import Actor


class Command(BaseCommand):
    help = (
        "Pulls the contracts changed since the last pull of a connection (all of them with --full). "
        "Queues the pull for a worker and prints its run id, or with --wait runs it here and prints the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection", help="The connection's name.")
        parser.add_argument("--full", action="store_true", help="Pull every contract, not only the changed ones.")
        parser.add_argument("--wait", action="store_true", help="Run the pull in this process until it ends.")

    def handle(self, *args, connection: str, full: bool, wait: bool, **options):
        found = Connection.objects.filter(name=connection).first()
        if found is None:
            names = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f'There is no connection "{connection}" (connections: {names}).')
        run = pull_start(connection_id=found.pk, full=full, actor=Actor.system("sync_now"), enqueue=not wait)
        if run is None:
            raise CommandError(f'Connection "{found}" is disabled; enable it to pull.')
        if not wait:
            self.stdout.write(f"{run} of {found} is {run.get_status_display().lower()}: run id {run.pk}.")
            return
        run = pull_run_to_end(run_id=run.pk)
        if run.status == SyncRunStatus.FAILED:
            raise CommandError(pull_run_describe(run))
        self.stdout.write(self.style.SUCCESS(pull_run_describe(run)))
