"""``python -m refclm <command>``: Django's and the reference CLM's own management commands."""

import os
import sys


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "refclm.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"{sys.executable} -m refclm", *sys.argv[1:]])


if __name__ == "__main__":
    main()
