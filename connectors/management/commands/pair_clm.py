"""``manage.py pair_clm``: connects a connection and a CLM that speaks the reference protocol."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connectors.models import Connection
from connectors.services import connection_pair
from contracts.services import Actor


class Command(BaseCommand):
    help = (
        "Gives a connection's CLM new credentials in both directions (an API key for clmsite, a bearer token "
        "and a webhook secret for the CLM) and writes them as JSON for the CLM to load. Pairing again "
        "invalidates the previous credentials."
    )

    def add_arguments(self, parser):
        parser.add_argument("connection", help="The connection's name.")
        parser.add_argument("--clm-url", required=True, help="The CLM's base URL, e.g. http://127.0.0.1:8001.")
        parser.add_argument(
            "--clmsite-url",
            default="http://127.0.0.1:8000",
            help="Where the CLM reaches clmsite (default %(default)s).",
        )
        parser.add_argument(
            "--write", required=True, type=Path, help="File to write the CLM's side to (created readable by you only)."
        )

    def handle(self, *args, connection, clm_url, clmsite_url, write, **options):
        try:
            found = Connection.objects.get(name=connection)
        except Connection.DoesNotExist:
            names = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f'There is no connection "{connection}" (connections: {names}).') from None
        pairing = connection_pair(
            connection=found, clm_url=clm_url, clmsite_url=clmsite_url, actor=Actor.system("pair_clm")
        )
        write.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(write, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an older file keeps its mode through O_CREAT
        with os.fdopen(descriptor, "w") as file:
            json.dump(pairing.as_dict(), file, indent=2)
        self.stdout.write(f'Paired "{found.name}" with the CLM at {clm_url}; its credentials are in {write}.')
