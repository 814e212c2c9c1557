from refclm.delivery import deliveries_run

from ._json import JsonCommand


class Command(JsonCommand):
    help = "Sends the pending deliveries to clmsite (held webhooks newest first under the out-of-order fault)."

    def handle(self, *args, **options):
        self.print_json(deliveries_run())
