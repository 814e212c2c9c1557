"""``manage.py check_connections``: the handshake with every enabled connection, now."""

from django.core.management.base import BaseCommand

from connectors.handshake import connections_check
from contracts.choices import ConnectionStatus
from contracts.services import Actor


class Command(BaseCommand):
    help = "Asks every enabled connection's CLM whether it is reachable and configured, and records the answer."

    def handle(self, *args, **options):
        for connection in connections_check(actor=Actor.system("check_connections")):
            line = f"{connection}: {connection.status_label}"
            if connection.status_message:
                line += f" - {connection.status_message}"
            ready = connection.status == ConnectionStatus.READY
            self.stdout.write(self.style.SUCCESS(line) if ready else self.style.WARNING(line))
