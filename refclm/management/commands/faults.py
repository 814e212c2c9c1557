from django.core.management.base import CommandError

from refclm.faults import FAULT_NAMES, faults_as_json, faults_set

from ._json import JsonCommand


class Command(JsonCommand):
    help = f"Shows or sets the fault modes: {', '.join(FAULT_NAMES)}."

    def add_arguments(self, parser):
        parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="assignments")
        parser.add_argument("--clear", action="store_true", help="Switch every fault off first.")

    def handle(self, *args, assignments, clear, **options):
        values = {}
        for assignment in assignments:
            name, equals, value = assignment.partition("=")
            if not equals:
                raise CommandError(f'"{assignment}" is not NAME=VALUE.')
            values[name.strip()] = value.strip()
        if values or clear:
            self.print_json(faults_set(values=values, clear=clear))
        else:
            self.print_json(faults_as_json())
