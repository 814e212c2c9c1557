import json
from pathlib import Path

from django.core.management.base import CommandError

from refclm.configuration import config_apply, config_as_json

from ._json import JsonCommand


class Command(JsonCommand):
    help = (
        "Configures how this CLM and clmsite reach each other, from a JSON file with clmsite_url, api_key, "
        "connection, webhook_secret, pull_token and optionally delivery and public_url (e.g. the file written "
        'by clmsite\'s "manage.py pair_clm").'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            values = json.loads(file.read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        config_apply(values=values)
        self.print_json(config_as_json())
