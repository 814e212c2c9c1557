from refclm.models import ContractType
from refclm.protocol import contract_as_control
from refclm.services import contract_create, date_parse

from ._json import JsonCommand


class Command(JsonCommand):
    help = "Creates a draft contract from the master data read from clmsite, and delivers it."

    def add_arguments(self, parser):
        parser.add_argument("--type", required=True, choices=ContractType.values, dest="contract_type")
        parser.add_argument("--legal-entity", default="")
        parser.add_argument("--vendor", default="", help="Vendor account number (in that legal entity).")
        parser.add_argument("--name", default="")
        parser.add_argument("--expiration", default="", help="Expiration date, YYYY-MM-DD.")
        parser.add_argument("--expiring-soon", action="store_true", help="Effective long ago, expiring within weeks.")

    def handle(self, *args, contract_type, legal_entity, vendor, name, expiration, expiring_soon, **options):
        contract = contract_create(
            contract_type=contract_type,
            legal_entity=legal_entity,
            vendor=vendor,
            name=name,
            expiration_date=date_parse(expiration, "expiration") if expiration else None,
            expiring_soon=expiring_soon,
        )
        self.print_json(contract_as_control(contract))
