from refclm.masterdata import master_data_summary, master_data_sync

from ._json import JsonCommand


class Command(JsonCommand):
    help = "Reads master data from clmsite: a snapshot the first time, only the changes afterwards."

    def handle(self, *args, **options):
        read = master_data_sync()
        self.print_json({"read": read, "held": master_data_summary()})
