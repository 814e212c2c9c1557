"""What the reference CLM's commands share: they print JSON, and a refusal is a clean error."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from refclm import lifecycle
from refclm.clmsite import ClmsiteError
from refclm.services import ActionRefused, InputInvalid


class JsonCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (InputInvalid, lifecycle.ActionNotAllowed, ActionRefused, ClmsiteError) as refused:
            raise CommandError(str(refused)) from None

    def print_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False))
