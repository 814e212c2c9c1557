"""``manage.py reencrypt_secrets``: every stored secret under the newest encryption key."""

from django.core.management.base import BaseCommand, CommandError

from connectors.fields import secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Encrypts connection credentials and webhook secrets again with the first key of FIELD_ENCRYPTION_KEYS, "
        "so that the keys after it can be removed. Run it after putting a new key first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail unless every secret is already under the first key.",
        )

    def handle(self, *args, check=False, **options):
        report = secrets_reencrypt(check_only=check)
        verb = "to re-encrypt" if check else "re-encrypted"
        self.stdout.write(f"{report.reencrypted} secret(s) {verb}, {report.current} already under the first key.")
        if report.unreadable:
            raise CommandError(
                f"{len(report.unreadable)} secret(s) cannot be decrypted with any key of FIELD_ENCRYPTION_KEYS "
                f"(put the key they were written with back in the list, or enter them again): "
                + ", ".join(report.unreadable)
            )
        if check and report.reencrypted:
            raise CommandError("Not every secret is under the first key yet: run reencrypt_secrets without --check.")
