from refclm.configuration import master_data_refresh
from refclm.masterdata import master_data_summary

from ._json import JsonCommand


class Command(JsonCommand):
    help = (
        "Reads master data from clmsite (a snapshot the first time, only the changes afterwards) and reports "
        "this CLM's resulting status on its connection."
    )

    def handle(self, *args, **options):
        read = master_data_refresh()
        self.print_json({"read": read, "held": master_data_summary()})
