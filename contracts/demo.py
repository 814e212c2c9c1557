"""The demo data set behind ``manage.py seed_demo``: realistic, deterministic, and large on demand.

Master data (SPEC §3.1), the contract types, the demo connection and the demo users are
curated lists, created once and reused by every later run. Contracts, their status history,
purchase agreements and lines are drawn from a ``random.Random`` seeded with the run's seed,
so the same seed on an empty database gives the same data, and they are inserted with
``bulk_create`` in batches, so that a million contracts take minutes and little memory.

The bulk inserts bypass the services on purpose: the services validate and save one record
at a time, which is right for the integration and far too slow here. Everything below is
therefore drawn so that it obeys every rule the services enforce (references in the same
legal entity, quantity vs amount, item vs category, root categories, price only on quantity
lines, release minimum not above maximum, dates in order, agreement status as the
purchase-agreement flow would set it); the tests send a sample back through the services'
own validation to prove it.
"""

from __future__ import annotations

import datetime
import os
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, models, reset_queries, transaction
from django.db.models import Max
from django.utils import timezone

from connectors.models import Connection, NavigationLink, NavigationLinkParameter
from contracts.choices import (
    AccountType,
    AgreementOwnership,
    AgreementStatus,
    CommitmentType,
    ContractFlowName,
    ContractStatus,
    HandshakeStatus,
    LineMatchingPolicy,
    NavigationAction,
    NavigationType,
    RenewalType,
)
from contracts.models import (
    AgreementNumberSequence,
    BuyerGroup,
    CashDiscount,
    ContactPerson,
    Contract,
    ContractStatusChange,
    ContractType,
    Country,
    Currency,
    DeliveryTerms,
    LegalEntity,
    LegalEntityGrant,
    PaymentSchedule,
    PaymentTerms,
    ProcurementCategory,
    ProductVariant,
    Project,
    PurchaseAgreement,
    PurchaseAgreementClassification,
    PurchaseAgreementLine,
    ReleasedProduct,
    Site,
    UnitOfMeasure,
    Vendor,
    VendorPaymentMethod,
    Warehouse,
    Worker,
)
from contracts.services import Actor, contract_type_upsert

ACTOR = Actor.system("seed_demo")
BATCH_SIZE = 5_000
PROGRESS_EVERY = 50_000
CONTRACT_ID_PREFIX = "CTR-"
CONTRACT_ID_WIDTH = 7

# SPEC's target data set: 1,000,000 contracts, 50,000 agreements, 500,000 lines. Small runs
# still get a few dozen agreements so that every screen has something to show.
AGREEMENTS_PER_CONTRACT = 0.05
MIN_AGREEMENTS = 36
CLM_OWNED_SHARE = 0.7
MAX_LINES_PER_AGREEMENT = 19  # 1..19, ten on average
SCM_AGREEMENT_BATCH = 500


# --- Who logs in ---------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


PROCUREMENT_GROUP = "Procurement staff"
PROCUREMENT_LEGAL_ENTITIES = ("USMF", "DEMF")
PROCUREMENT_LOGIN = DemoLogin(
    "procurement", "procurement-demo", f"{PROCUREMENT_GROUP}, legal entities {' and '.join(PROCUREMENT_LEGAL_ENTITIES)}"
)
ADMIN_LOGIN = DemoLogin("admin", "admin-demo", "superuser, integration admin")
DEMO_LOGINS = (PROCUREMENT_LOGIN, ADMIN_LOGIN)

# Procurement staff see every domain record and manage purchase agreements (SPEC §2).
PROCUREMENT_CHANGES = ("purchaseagreement", "purchaseagreementline")
NOT_FOR_PROCUREMENT = ("legalentitygrant", "agreementnumbersequence")


def site_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('CLMSITE_PORT', '8000')}/"


# --- Master data ---------------------------------------------------------------------

# code, name, currency, country, e-mail domain of its staff
LEGAL_ENTITIES = (
    ("USMF", "Contoso Entertainment System USA", "USD", "USA", "contoso-us.example.com"),
    ("DEMF", "Contoso Entertainment System Germany", "EUR", "DEU", "contoso-de.example.com"),
    ("GBSI", "Contoso Entertainment System UK", "GBP", "GBR", "contoso-uk.example.com"),
)
# How the contracts spread over the legal entities.
LEGAL_ENTITY_WEIGHTS = (5, 3, 2)

COUNTRIES = (
    ("USA", "United States"),
    ("CAN", "Canada"),
    ("MEX", "Mexico"),
    ("CHN", "China"),
    ("DEU", "Germany"),
    ("FRA", "France"),
    ("NLD", "Netherlands"),
    ("CHE", "Switzerland"),
    ("GBR", "United Kingdom"),
    ("IRL", "Ireland"),
)
CURRENCIES = (
    ("USD", "US dollar"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
    ("CAD", "Canadian dollar"),
    ("MXN", "Mexican peso"),
    ("CHF", "Swiss franc"),
    ("JPY", "Japanese yen"),
    ("SEK", "Swedish krona"),
)
# The currency a vendor invoices in, by its country.
COUNTRY_CURRENCY = {
    "USA": "USD",
    "CAN": "CAD",
    "MEX": "MXN",
    "CHN": "USD",
    "DEU": "EUR",
    "FRA": "EUR",
    "NLD": "EUR",
    "CHE": "CHF",
    "GBR": "GBP",
    "IRL": "EUR",
}
UNITS = (
    ("ea", "Each"),
    ("pcs", "Pieces"),
    ("box", "Box"),
    ("kg", "Kilogram"),
    ("m", "Metre"),
    ("h", "Hour"),
    ("day", "Day"),
    ("mo", "Month"),
    ("lic", "Licence"),
)
CATEGORY_TREE = {
    "IT and telecom": ("Computers", "Software licences", "Network equipment", "Telecom services"),
    "Facilities": ("Cleaning services", "Security services", "Maintenance and repair", "Catering"),
    "Office supplies": ("Paper and print", "Office furniture", "Writing instruments"),
    "Production materials": ("Metals", "Plastics", "Electronic components", "Packaging"),
    "Logistics": ("Freight", "Warehousing"),
    "Professional services": ("Consulting", "Legal services", "Temporary staff"),
}
SERVICE_CATEGORIES = (
    "Cleaning services",
    "Security services",
    "Maintenance and repair",
    "Catering",
    "Telecom services",
    "Freight",
    "Warehousing",
    "Consulting",
    "Legal services",
    "Temporary staff",
)
# item number, name, unit, category, list price, variant suffixes
PRODUCTS = (
    ("IT-1001", "Business laptop 14-inch", "ea", "Computers", "1150.00", ("16GB", "32GB")),
    ("IT-1002", "USB-C docking station", "ea", "Computers", "189.00", ()),
    ("IT-1003", "27-inch monitor", "ea", "Computers", "249.00", ()),
    ("IT-2001", "Office suite subscription", "lic", "Software licences", "12.50", ()),
    ("IT-2002", "CAD design seat", "lic", "Software licences", "1890.00", ()),
    ("IT-3001", "48-port managed switch", "ea", "Network equipment", "2450.00", ()),
    ("IT-3002", "Wireless access point", "ea", "Network equipment", "329.00", ()),
    ("IT-4001", "Mobile data plan", "mo", "Telecom services", "24.00", ()),
    ("FM-1001", "Office cleaning", "h", "Cleaning services", "31.00", ()),
    ("FM-2001", "Site security guard", "h", "Security services", "38.50", ()),
    ("FM-3001", "HVAC maintenance visit", "ea", "Maintenance and repair", "420.00", ()),
    ("FM-4001", "Staff canteen meal", "ea", "Catering", "7.80", ()),
    ("OS-1001", "Copy paper A4 80 g", "box", "Paper and print", "24.90", ()),
    ("OS-1002", "Toner cartridge, black", "ea", "Paper and print", "89.00", ()),
    ("OS-2001", "Ergonomic office chair", "ea", "Office furniture", "379.00", ("BLK", "GRY")),
    ("OS-2002", "Height-adjustable desk", "ea", "Office furniture", "649.00", ()),
    ("OS-3001", "Ballpoint pens", "box", "Writing instruments", "6.40", ("BLUE", "BLACK", "RED")),
    ("PM-1001", "Aluminium sheet 2 mm", "kg", "Metals", "3.85", ()),
    ("PM-1002", "Steel rod 10 mm", "m", "Metals", "2.10", ()),
    ("PM-2001", "ABS granulate", "kg", "Plastics", "2.35", ()),
    ("PM-2002", "Polycarbonate panel", "ea", "Plastics", "54.00", ()),
    ("PM-3001", "Ceramic capacitor 10 uF", "pcs", "Electronic components", "0.08", ()),
    ("PM-3002", "32-bit microcontroller", "pcs", "Electronic components", "3.20", ("QFP", "BGA")),
    ("PM-4001", "Corrugated shipping box", "pcs", "Packaging", "0.95", ()),
    ("LG-1001", "Full truckload, domestic", "ea", "Freight", "1380.00", ()),
    ("LG-2001", "Pallet storage", "day", "Warehousing", "0.65", ()),
    ("PS-1001", "Senior consultant day", "day", "Consulting", "1250.00", ()),
    ("PS-2001", "Contract review", "h", "Legal services", "240.00", ()),
    ("PS-3001", "Temporary warehouse staff", "h", "Temporary staff", "27.00", ()),
)
# Vendors' lines of business: the root category they sell under.
IT, FAC, OFF, PROD, LOG, PRO = CATEGORY_TREE
# The lines of business a contract type is signed for.
TYPE_BUSINESS = {"Purchase": (IT, OFF, PROD), "Service": (IT, FAC, LOG, PRO)}
# Per legal entity: vendor name, country and line of business; the last of each list is blocked.
VENDORS = {
    "USMF": (
        ("Fabrikam Electronics", "USA", PROD),
        ("Litware Office Supplies", "USA", OFF),
        ("Adatum Components", "USA", PROD),
        ("Northwind Traders", "USA", OFF),
        ("Tailspin Logistics", "USA", LOG),
        ("Wide World Importers", "USA", LOG),
        ("Proseware Software", "USA", IT),
        ("Woodgrove Facility Services", "USA", FAC),
        ("Coho Packaging", "USA", PROD),
        ("Fourth Coffee Catering", "USA", FAC),
        ("Trey Research Consulting", "USA", PRO),
        ("Wingtip Furniture", "USA", OFF),
        ("Relecloud Telecom", "USA", IT),
        ("Blue Yonder Freight", "USA", LOG),
        ("Consolidated Messenger", "USA", LOG),
        ("Alpine Metals", "CAN", PROD),
        ("Maple Leaf Plastics", "CAN", PROD),
        ("Sierra Madre Fabrication", "MEX", PROD),
        ("Pearl River Electronics", "CHN", IT),
        ("Lakeshore Staffing", "USA", PRO),
    ),
    "DEMF": (
        ("Rheinland Metallbau GmbH", "DEU", PROD),
        ("Bavaria Kunststoff AG", "DEU", PROD),
        ("Hansa Logistik GmbH", "DEU", LOG),
        ("Schwarzwald Elektronik GmbH", "DEU", PROD),
        ("Spree IT-Systeme GmbH", "DEU", IT),
        ("Elbe Gebäudeservice GmbH", "DEU", FAC),
        ("Mosel Büromöbel GmbH", "DEU", OFF),
        ("Taunus Beratung GmbH", "DEU", PRO),
        ("Neckar Sicherheitsdienst GmbH", "DEU", FAC),
        ("Alster Verpackung GmbH", "DEU", PROD),
        ("Lyon Composants SA", "FRA", PROD),
        ("Rotterdam Cargo BV", "NLD", LOG),
        ("Utrecht Software BV", "NLD", IT),
        ("Zürich Präzision AG", "CHE", PROD),
        ("Bodensee Reinigung GmbH", "DEU", FAC),
        ("Ruhr Personal GmbH", "DEU", PRO),
    ),
    "GBSI": (
        ("Thames Office Supplies Ltd", "GBR", OFF),
        ("Pennine Engineering Ltd", "GBR", PROD),
        ("Cotswold Catering Ltd", "GBR", FAC),
        ("Mersey Freight Ltd", "GBR", LOG),
        ("Clyde Electronics Ltd", "GBR", PROD),
        ("Severn Facilities Ltd", "GBR", FAC),
        ("Highland Security Services Ltd", "GBR", FAC),
        ("Cambridge Analytics Ltd", "GBR", PRO),
        ("Kent Packaging Ltd", "GBR", PROD),
        ("Yorkshire Steel Ltd", "GBR", PROD),
        ("Liffey Software Ltd", "IRL", IT),
        ("Cardiff Legal LLP", "GBR", PRO),
        ("Solent Marine Supplies Ltd", "GBR", OFF),
        ("Midlands Temps Ltd", "GBR", PRO),
    ),
}
WORKERS = {
    "USMF": (
        "Alicia Thornber",
        "Benjamin Martin",
        "Charlie Carson",
        "Dana Birkby",
        "Ellen Gasca",
        "Frank Lee",
        "Grace Wong",
        "Henry Ross",
        "Isabel Cruz",
        "Jamal Carter",
        "Karen Patel",
        "Luis Ortega",
    ),
    "DEMF": (
        "Anna Becker",
        "Bernd Hoffmann",
        "Claudia Schulz",
        "Dirk Wagner",
        "Eva Neumann",
        "Felix Braun",
        "Greta Krüger",
        "Hannes Wolf",
        "Ines Richter",
        "Jonas Weber",
        "Katrin Vogel",
        "Lukas Fischer",
    ),
    "GBSI": (
        "Amelia Hughes",
        "Ben Clarke",
        "Chloe Evans",
        "Daniel Price",
        "Emily Walsh",
        "Finlay Reid",
        "Georgia Shaw",
        "Harry Patel",
        "Isla Murray",
        "Jack Turner",
        "Kate Morgan",
        "Liam Doyle",
    ),
}
# Vendor contact persons are drawn from these (seeded), two or three per vendor.
CONTACT_FIRST_NAMES = (
    "Alex",
    "Maria",
    "Sam",
    "Julia",
    "Tom",
    "Nina",
    "Omar",
    "Lena",
    "Peter",
    "Sofia",
    "Ravi",
    "Emma",
    "Jan",
    "Chen",
    "Lucy",
    "Marco",
    "Hanna",
    "Ivan",
    "Zoe",
    "Kofi",
)
CONTACT_LAST_NAMES = (
    "Miller",
    "Schmidt",
    "Jones",
    "Novak",
    "Garcia",
    "Dubois",
    "Kim",
    "Rossi",
    "Larsen",
    "Singh",
    "Brown",
    "Meyer",
    "Wilson",
    "Costa",
    "Nakamura",
    "Moreau",
    "Taylor",
    "Kowalski",
    "Berg",
    "Okafor",
)
# Per legal entity: operational sites and their warehouses.
SITES = {
    "USMF": (
        ("1", "Dallas", (("11", "Dallas main"), ("12", "Dallas returns"))),
        ("2", "Seattle", (("21", "Seattle"),)),
    ),
    "DEMF": (
        ("1", "Frankfurt", (("11", "Frankfurt Ost"), ("12", "Frankfurt Hafen"))),
        ("2", "Hamburg", (("21", "Hamburg"),)),
    ),
    "GBSI": (
        ("1", "London", (("11", "London Heathrow"),)),
        ("2", "Manchester", (("21", "Manchester"), ("22", "Trafford"))),
    ),
}
PAYMENT_TERMS = (
    ("Net10", "Net 10 days", 10),
    ("Net30", "Net 30 days", 30),
    ("Net45", "Net 45 days", 45),
    ("Net60", "Net 60 days", 60),
    ("COD", "Cash on delivery", 0),
)
CASH_DISCOUNTS = (
    ("2D10", "2% within 10 days", "2.00", 10),
    ("1D15", "1% within 15 days", "1.00", 15),
    ("3D7", "3% within 7 days", "3.00", 7),
)
DELIVERY_TERMS = (
    ("EXW", "Ex works"),
    ("FCA", "Free carrier"),
    ("FOB", "Free on board"),
    ("CIF", "Cost, insurance and freight"),
    ("DAP", "Delivered at place"),
    ("DDP", "Delivered duty paid"),
)
PAYMENT_METHODS = (("CHECK", "Cheque"), ("ELECTRONIC", "Electronic payment"), ("WIRE", "Wire transfer"))
PAYMENT_SCHEDULES = (
    ("Monthly", "Equal monthly instalments"),
    ("Quarterly", "Equal quarterly instalments"),
    ("2Payments", "Half on order, half on delivery"),
)
PROJECTS = (
    ("PRJ-0001", "Warehouse automation"),
    ("PRJ-0002", "ERP roll-out"),
    ("PRJ-0003", "Plant expansion"),
    ("PRJ-0004", "Fleet renewal"),
    ("PRJ-0005", "Office refurbishment"),
)
PROJECT_CATEGORIES = ("Hardware", "Services", "Materials", "Subcontracting")
CLASSIFICATIONS = (
    ("Blanket order", "Quantity or value committed over a period"),
    ("Framework agreement", "Prices and terms for call-offs"),
    ("Consignment", "Vendor-owned stock on our site"),
    ("Service level agreement", "Recurring services with service levels"),
)
BUYER_GROUPS = (
    ("IT", "IT purchasing"),
    ("FAC", "Facilities"),
    ("PROD", "Production materials"),
    ("LOG", "Logistics"),
    ("SRV", "Professional services"),
)
CONTRACT_TYPES = (
    ("Purchase", "Purchase contract; creates a purchase agreement when executed.", ContractFlowName.PURCHASE_AGREEMENT),
    ("Service", "Service contract with value commitments.", ContractFlowName.PURCHASE_AGREEMENT),
    ("NDA", "Non-disclosure agreement; All contracts only.", ContractFlowName.LIGHTWEIGHT),
)

# --- The demo connection and its navigation links (SPEC §3.5, §3.6) -----------------

CONNECTION_NAME = "Reference CLM"
CONNECTION_CONNECTOR = "reference"
CONNECTION_BASE_URL = "http://127.0.0.1:8001"
# navigation type, link name, relative URL, query-string parameters
NAVIGATION_LINKS = (
    (NavigationType.NEW_CONTRACT, "New contract", "/ui/contracts/new", (("source", "clmsite"),)),
    (
        NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT,
        "New contract from purchase agreement",
        "/ui/contracts/new",
        (
            ("source", "clmsite"),
            ("agreement", "%PurchaseAgreement.PurchaseAgreementId%"),
            ("legal_entity", "%PurchaseAgreement.BuyingLegalEntityId%"),
        ),
    ),
    (NavigationType.EDIT_CONTRACT, "Edit contract", "/ui/contracts/edit", (("id", "%Contract.ExternalContractId%"),)),
    (
        NavigationType.AMEND_CONTRACT,
        "Amend contract",
        "/ui/contracts/amend",
        (("id", "%Contract.ExternalContractId%"), ("contract", "%Contract.ContractId%")),
    ),
    (NavigationType.VIEW_CONTRACT, "View contract", "/ui/contracts/view", (("id", "%Contract.ExternalContractId%"),)),
)

# --- How contracts are drawn --------------------------------------------------------

S = ContractStatus
STATUS_WEIGHTS = {
    S.DRAFT: 8,
    S.WAITING_FOR_APPROVAL: 6,
    S.APPROVED: 4,
    S.REJECTED: 2,
    S.WAITING_FOR_SIGNATURES: 4,
    S.WAITING_FOR_EXTERNAL_SIGNATURES: 3,
    S.WAITING_FOR_INTERNAL_SIGNATURES: 3,
    S.EXECUTED: 35,
    S.TERMINATED: 5,
    S.EXPIRED: 10,
    S.ON_HOLD: 3,
    S.CANCELLED: 3,
    S.WAITING_FOR_REVIEW: 4,
    S.REVIEWED: 3,
}
# The statuses clmsite saw on the way to the current one. A synchronized copy sees only
# some of the CLM's steps, so the paths are short; every contract starts as a draft.
STATUS_PATHS = {
    S.DRAFT: (S.DRAFT,),
    S.WAITING_FOR_APPROVAL: (S.DRAFT, S.WAITING_FOR_APPROVAL),
    S.APPROVED: (S.DRAFT, S.WAITING_FOR_APPROVAL, S.APPROVED),
    S.REJECTED: (S.DRAFT, S.WAITING_FOR_APPROVAL, S.REJECTED),
    S.WAITING_FOR_SIGNATURES: (S.DRAFT, S.APPROVED, S.WAITING_FOR_SIGNATURES),
    S.WAITING_FOR_EXTERNAL_SIGNATURES: (S.DRAFT, S.WAITING_FOR_SIGNATURES, S.WAITING_FOR_EXTERNAL_SIGNATURES),
    S.WAITING_FOR_INTERNAL_SIGNATURES: (S.DRAFT, S.WAITING_FOR_EXTERNAL_SIGNATURES, S.WAITING_FOR_INTERNAL_SIGNATURES),
    S.EXECUTED: (S.DRAFT, S.WAITING_FOR_SIGNATURES, S.EXECUTED),
    S.TERMINATED: (S.DRAFT, S.EXECUTED, S.TERMINATED),
    S.EXPIRED: (S.DRAFT, S.EXECUTED, S.EXPIRED),
    S.ON_HOLD: (S.DRAFT, S.EXECUTED, S.ON_HOLD),
    S.CANCELLED: (S.DRAFT, S.WAITING_FOR_APPROVAL, S.CANCELLED),
    S.WAITING_FOR_REVIEW: (S.DRAFT, S.WAITING_FOR_REVIEW),
    S.REVIEWED: (S.DRAFT, S.WAITING_FOR_REVIEW, S.REVIEWED),
}
# What the purchase-agreement flow makes of the agreement of a contract that was executed (SPEC §4).
AGREEMENT_STATUS_OF_CONTRACT = {
    S.EXECUTED: AgreementStatus.EFFECTIVE,
    S.ON_HOLD: AgreementStatus.ON_HOLD,
    S.TERMINATED: AgreementStatus.CLOSED,
    S.EXPIRED: AgreementStatus.CLOSED,  # expired contracts here all lie past their expiration date
}
TYPE_WEIGHTS = {"Purchase": 5, "Service": 2, "NDA": 3}
# Line commitment types, by what the agreement is for.
C = CommitmentType
COMMITMENT_WEIGHTS = {
    "Purchase": {C.PRODUCT_QUANTITY: 55, C.PRODUCT_VOLUME: 25, C.PRODUCT_CATEGORY: 15, C.PRODUCT_ROOT_CATEGORY: 5},
    "Service": {C.PRODUCT_QUANTITY: 10, C.PRODUCT_VOLUME: 10, C.PRODUCT_CATEGORY: 55, C.PRODUCT_ROOT_CATEGORY: 25},
    AgreementOwnership.SCM: {
        C.PRODUCT_QUANTITY: 45,
        C.PRODUCT_VOLUME: 20,
        C.PRODUCT_CATEGORY: 25,
        C.PRODUCT_ROOT_CATEGORY: 10,
    },
}
RENEWAL_WEIGHTS = {RenewalType.NONE: 4, RenewalType.AUTOMATIC: 3, RenewalType.OPTIONAL: 2, RenewalType.EVERGREEN: 1}
CUSTOMERS = ("Alpine Ski House", "Coho Winery", "Lamna Healthcare", "Margie's Travel", "Southridge Video")
PROSPECTS = ("Humongous Insurance", "Lucerne Publishing", "Nod Publishers", "VanArsdel Ltd", "Munson's Pickles")
NDA_PURPOSES = ("Project Falcon", "Project Orion", "new product launch", "supplier evaluation", "joint development")
DELIVERY_MODES = ("Truck", "Air", "Sea", "Courier", "Rail")
CARRIERS = ("UPS", "DHL", "FedEx", "DB Schenker", "Royal Mail")


# --- Entry points --------------------------------------------------------------------


@dataclass
class SeedSummary:
    contracts: int = 0
    status_changes: int = 0
    clm_agreements: int = 0
    scm_agreements: int = 0
    lines: int = 0
    first_contract_id: str = ""
    last_contract_id: str = ""

    @property
    def rows(self) -> int:
        return self.contracts + self.status_changes + self.clm_agreements + self.scm_agreements + self.lines


def database_has_data() -> bool:
    """True once any legal entity or contract exists: ``--if-empty`` then leaves the database alone."""
    return LegalEntity.objects.exists() or Contract.objects.exists()


def seed(
    *,
    contracts: int,
    seed: int,
    today: datetime.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Adds ``contracts`` contracts (with history, agreements and lines) to the demo world.

    Master data, contract types, the connection and the users are created on the first run
    and reused afterwards; contract ids continue from the highest one stored, and the
    random draw depends on where they start, so a second run adds new contracts.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        world = _world_ensure(random.Random(seed))
        users_ensure()
    first_number = _next_contract_number()
    rng = random.Random(f"{seed}:{first_number}")
    contract_maker = _ContractMaker(rng, world, today=today, first_number=first_number)
    agreement_maker = _AgreementMaker(rng, world, today=today, clm_share=_clm_share(contracts))
    summary = SeedSummary()

    for batch in _batches(contracts, BATCH_SIZE):
        with transaction.atomic():
            _insert_contracts(contract_maker, agreement_maker, batch, summary)
        # With DEBUG on, Django keeps the last 9,000 statements, each a multi-megabyte INSERT.
        reset_queries()
        if progress and (summary.contracts % PROGRESS_EVERY == 0 or summary.contracts == contracts):
            progress(summary.contracts)

    wanted = _agreement_target(contracts)
    scm_agreements = max(wanted - summary.clm_agreements, round(wanted * (1 - CLM_OWNED_SHARE)))
    for batch in _batches(scm_agreements, SCM_AGREEMENT_BATCH):
        with transaction.atomic():
            _insert_agreements([agreement_maker.scm_agreement() for _ in batch], agreement_maker.numbers, summary)
        summary.scm_agreements += len(batch)
        reset_queries()
    # Fresh planner statistics: without them SQLite sorts a whole large table for a list page.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return summary


def _batches(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def users_ensure() -> None:
    """The procurement user (two legal entities, not all) and the admin; existing users are kept."""
    User = get_user_model()
    group, _ = Group.objects.get_or_create(name=PROCUREMENT_GROUP)
    group.permissions.add(*_procurement_permissions())
    procurement = User.objects.filter(username=PROCUREMENT_LOGIN.username).first()
    if procurement is None:
        procurement = User.objects.create_user(
            PROCUREMENT_LOGIN.username,
            email="procurement@contoso-us.example.com",
            password=PROCUREMENT_LOGIN.password,
            first_name="Pat",
            last_name="Buyer",
        )
    procurement.groups.add(group)
    for legal_entity in LegalEntity.objects.filter(code__in=PROCUREMENT_LEGAL_ENTITIES):
        LegalEntityGrant.objects.get_or_create(user=procurement, legal_entity=legal_entity)
    if not User.objects.filter(username=ADMIN_LOGIN.username).exists():
        User.objects.create_superuser(ADMIN_LOGIN.username, "admin@contoso-us.example.com", ADMIN_LOGIN.password)


def _procurement_permissions() -> list[Permission]:
    models_seen = [m._meta.model_name for m in apps.get_app_config("contracts").get_models()]
    codenames = [f"view_{name}" for name in models_seen if name not in NOT_FOR_PROCUREMENT]
    codenames += [f"{action}_{name}" for name in PROCUREMENT_CHANGES for action in ("add", "change", "delete")]
    return list(Permission.objects.filter(content_type__app_label="contracts", codename__in=codenames))


# --- The world the contracts live in -----------------------------------------------


@dataclass(eq=False)  # hashable by identity: the generators draw entities by weight
class _Entity:
    """One legal entity's master data, as the generators draw from it."""

    legal_entity: LegalEntity
    currency: Currency
    vendors: list[Vendor]  # not blocked: an agreement cannot name a blocked vendor
    blocked_vendors: list[Vendor]
    vendors_for: dict[str, list[Vendor]]  # by contract type: those in a line of business it is signed for
    business: dict[int, ProcurementCategory]  # by vendor id: the root category it sells under
    contacts: dict[int, list[ContactPerson]]  # by vendor id
    workers: list[Worker]
    products: list[ReleasedProduct]
    products_in: dict[int, list[ReleasedProduct]]  # by root category id
    variants: dict[int, list[ProductVariant]]  # by product id
    warehouses: list[Warehouse]
    projects: list[Project]
    classifications: list[PurchaseAgreementClassification]
    buyer_groups: list[BuyerGroup]
    cash_discounts: list[CashDiscount]


@dataclass
class _World:
    entities: list[_Entity]
    contract_types: dict[str, ContractType]
    connection: Connection
    roots: list[ProcurementCategory]
    children: list[ProcurementCategory]
    list_prices: dict[str, Decimal]  # by item number


def _world_ensure(rng: random.Random) -> _World:
    """Creates whatever master data is missing and returns all of it, stored rows first."""
    countries = _by(_ensure(Country, ("code",), [{"code": c, "name": n} for c, n in COUNTRIES]), "code")
    currencies = _by(_ensure(Currency, ("code",), [{"code": c, "name": n} for c, n in CURRENCIES]), "code")
    units = _by(_ensure(UnitOfMeasure, ("symbol",), [{"symbol": s, "description": d} for s, d in UNITS]), "symbol")
    roots = _ensure(ProcurementCategory, ("name",), [{"name": name, "parent_id": None} for name in CATEGORY_TREE])
    root_ids = {category.name: category.pk for category in roots}
    children = _ensure(
        ProcurementCategory,
        ("name",),
        [{"name": child, "parent_id": root_ids[root]} for root, names in CATEGORY_TREE.items() for child in names],
    )
    categories = _by([*roots, *children], "name")
    legal_entities = _ensure(
        LegalEntity, ("code",), [{"code": code, "name": name} for code, name, *_ in LEGAL_ENTITIES]
    )
    entities = [
        _entity_ensure(rng, position, legal_entity, countries, currencies, units, categories)
        for position, legal_entity in enumerate(legal_entities)
    ]
    return _World(
        entities=entities,
        contract_types=_contract_types_ensure(),
        connection=_connection_ensure(),
        roots=[category for category in roots if category.parent_id is None],
        children=[category for category in children if category.parent_id is not None],
        list_prices={item: Decimal(price) for item, _, _, _, price, _ in PRODUCTS},
    )


def _entity_ensure(rng, position, legal_entity, countries, currencies, units, categories) -> _Entity:
    code, _, currency_code, _, staff_domain = LEGAL_ENTITIES[position]
    le = {"legal_entity_id": legal_entity.pk}

    def ensure(model, key, rows):
        return _ensure(model, ("legal_entity_id", key), [{**le, **row} for row in rows])

    terms = ensure(
        PaymentTerms, "name", [{"name": n, "description": d, "net_days": days} for n, d, days in PAYMENT_TERMS]
    )
    cash_discounts = ensure(
        CashDiscount,
        "code",
        [{"code": c, "description": d, "discount_percentage": Decimal(p), "days": n} for c, d, p, n in CASH_DISCOUNTS],
    )
    ensure(DeliveryTerms, "code", [{"code": c, "description": d} for c, d in DELIVERY_TERMS])
    ensure(VendorPaymentMethod, "name", [{"name": n, "description": d} for n, d in PAYMENT_METHODS])
    ensure(PaymentSchedule, "name", [{"name": n, "description": d} for n, d in PAYMENT_SCHEDULES])

    vendor_specs = VENDORS[code]
    vendors = ensure(
        Vendor,
        "account_number",
        [
            {
                "account_number": f"{code[:2]}-{101 + index}",
                "name": name,
                "party_number": f"{position + 1}{index + 1:05d}",
                "country_id": countries[country].pk,
                "currency_id": currencies[COUNTRY_CURRENCY[country]].pk,
                "payment_terms_id": rng.choice(terms[:4]).pk,
                "blocked": index == len(vendor_specs) - 1,
            }
            for index, (name, country, _) in enumerate(vendor_specs)
        ],
    )
    business = {vendor.pk: categories[root] for vendor, (_, _, root) in zip(vendors, vendor_specs, strict=True)}
    contact_rows = []
    for index, vendor in enumerate(vendors):
        for _ in range(2 + index % 2):
            first, last = rng.choice(CONTACT_FIRST_NAMES), rng.choice(CONTACT_LAST_NAMES)
            contact_rows.append(
                {
                    "contact_person_id": f"CP-{len(contact_rows) + 1:05d}",
                    "vendor_id": vendor.pk,
                    "name": f"{first} {last}",
                    "email": f"{_ascii(first)}.{_ascii(last)}@{_ascii(vendor.name).split('-')[0]}.example.com",
                }
            )
    contacts: dict[int, list[ContactPerson]] = {}
    for contact in ensure(ContactPerson, "contact_person_id", contact_rows):
        contacts.setdefault(contact.vendor_id, []).append(contact)

    workers = ensure(
        Worker,
        "personnel_number",
        [
            {"personnel_number": f"{code[:2]}-{1001 + index}", "name": name, "email": _staff_email(name, staff_domain)}
            for index, name in enumerate(WORKERS[code])
        ],
    )
    products = ensure(
        ReleasedProduct,
        "item_number",
        [
            {"item_number": item, "name": name, "unit_id": units[unit].pk, "category_id": categories[category].pk}
            for item, name, unit, category, _, _ in PRODUCTS
        ],
    )
    product_ids = {product.item_number: product.pk for product in products}
    root_of = {category.pk: category.parent_id or category.pk for category in categories.values()}
    products_in: dict[int, list[ReleasedProduct]] = {}
    for product in products:
        products_in.setdefault(root_of.get(product.category_id), []).append(product)
    variants: dict[int, list[ProductVariant]] = {}
    variant_rows = [
        {"variant_number": f"{item}-{suffix}", "product_id": product_ids[item], "name": f"{name}, {suffix}"}
        for item, name, _, _, _, suffixes in PRODUCTS
        for suffix in suffixes
    ]
    for variant in ensure(ProductVariant, "variant_number", variant_rows):
        variants.setdefault(variant.product_id, []).append(variant)

    sites = _by(ensure(Site, "site_id", [{"site_id": s, "name": n} for s, n, _ in SITES[code]]), "site_id")
    warehouses = ensure(
        Warehouse,
        "warehouse_id",
        [
            {"warehouse_id": w, "name": n, "site_id": sites[site_id].pk}
            for site_id, _, site_warehouses in SITES[code]
            for w, n in site_warehouses
        ],
    )
    return _Entity(
        legal_entity=legal_entity,
        currency=currencies[currency_code],
        vendors=[vendor for vendor in vendors if not vendor.blocked],
        blocked_vendors=[vendor for vendor in vendors if vendor.blocked],
        vendors_for={
            type_name: [v for v in vendors if not v.blocked and business[v.pk].name in lines_of_business]
            for type_name, lines_of_business in TYPE_BUSINESS.items()
        },
        business=business,
        contacts=contacts,
        workers=workers,
        products=products,
        products_in=products_in,
        variants=variants,
        warehouses=warehouses,
        projects=ensure(Project, "project_id", [{"project_id": p, "name": n} for p, n in PROJECTS]),
        classifications=ensure(
            PurchaseAgreementClassification, "name", [{"name": n, "description": d} for n, d in CLASSIFICATIONS]
        ),
        buyer_groups=ensure(BuyerGroup, "group_id", [{"group_id": g, "description": d} for g, d in BUYER_GROUPS]),
        cash_discounts=cash_discounts,
    )


def _contract_types_ensure() -> dict[str, ContractType]:
    existing = _by(ContractType.objects.filter(name__in=[name for name, _, _ in CONTRACT_TYPES]), "name")
    for name, description, flow in CONTRACT_TYPES:
        if name not in existing:
            existing[name] = contract_type_upsert(name=name, description=description, flow=flow, actor=ACTOR)
    return existing


def _connection_ensure() -> Connection:
    connection, created = Connection.objects.get_or_create(
        name=CONNECTION_NAME,
        defaults={
            "connector": CONNECTION_CONNECTOR,
            "base_url": CONNECTION_BASE_URL,
            "establishment_status": HandshakeStatus.SUCCESS,
            "configuration_status": HandshakeStatus.SUCCESS,
            "status_message": "Demo connection to the reference CLM.",
            "status_changed_at": timezone.now(),
            "changed_by": ACTOR.label,
        },
    )
    configured = set(connection.navigation_links.values_list("navigation_type", flat=True))
    for navigation_type, name, relative_url, parameters in NAVIGATION_LINKS:
        if navigation_type in configured:
            continue
        link = NavigationLink.objects.create(
            connection=connection,
            navigation_type=navigation_type,
            name=name,
            relative_url=relative_url,
            action=(
                NavigationAction.OPEN_IN_NEW_TAB
                if navigation_type == NavigationType.VIEW_CONTRACT
                else NavigationAction.OPEN_IN_EXISTING_TAB
            ),
            changed_by=ACTOR.label,
        )
        NavigationLinkParameter.objects.bulk_create(
            NavigationLinkParameter(link=link, key=key, value=value, position=position)
            for position, (key, value) in enumerate(parameters)
        )
    return connection


def _ensure(model: type[models.Model], key: tuple[str, ...], rows: list[dict]) -> list:
    """The records ``rows`` describe, in their order: stored ones as they are, missing ones created.

    Re-runs reuse master data, so whatever an admin changed on a demo record is kept.
    """

    def key_of(record) -> tuple:
        if isinstance(record, dict):
            return tuple(record[name] for name in key)
        return tuple(getattr(record, name) for name in key)

    last = key[-1]
    stored = {key_of(obj): obj for obj in model.objects.filter(**{f"{last}__in": [row[last] for row in rows]})}
    missing = [model(changed_by=ACTOR.label, **row) for row in rows if key_of(row) not in stored]
    for created in model.objects.bulk_create(missing):
        stored[key_of(created)] = created
    return [stored[key_of(row)] for row in rows]


def _by(records, attribute: str) -> dict:
    return {getattr(record, attribute): record for record in records}


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join("".join(ch for ch in word if ch.isalnum()) for word in plain.lower().split()).strip("-")


def _staff_email(name: str, domain: str) -> str:
    return f"{_ascii(name).replace('-', '.')}@{domain}"


# --- Contracts ----------------------------------------------------------------------


def _next_contract_number() -> int:
    highest = Contract.objects.filter(contract_id__startswith=CONTRACT_ID_PREFIX).aggregate(top=Max("contract_id"))
    digits = (highest["top"] or "")[len(CONTRACT_ID_PREFIX) :]
    return int(digits) + 1 if digits.isdigit() else 1


class _Draw:
    """Weighted choices, with the cumulative weights computed once (drawn millions of times)."""

    def __init__(self, rng: random.Random, weights: dict):
        self.rng, self.values, self.cum = rng, list(weights), list(accumulate(weights.values()))

    def __call__(self):
        return self.rng.choices(self.values, cum_weights=self.cum)[0]


def _agreement_target(contracts: int) -> int:
    return max(round(contracts * AGREEMENTS_PER_CONTRACT), min(contracts, MIN_AGREEMENTS))


def _clm_share(contracts: int) -> float:
    """The share of executed purchase contracts that carry an agreement.

    Only a share does, so that the data keeps the spec's proportions (about one agreement
    per twenty contracts); the others stand for contracts executed before the integration
    went live.
    """
    purchase_flow = sum(w for name, w in TYPE_WEIGHTS.items() if name != "NDA") / sum(TYPE_WEIGHTS.values())
    executed = sum(STATUS_WEIGHTS[s] for s in AGREEMENT_STATUS_OF_CONTRACT) / sum(STATUS_WEIGHTS.values())
    eligible = contracts * purchase_flow * executed
    return min(1.0, _agreement_target(contracts) * CLM_OWNED_SHARE / eligible) if eligible else 0.0


class _ContractMaker:
    """Draws contracts and the status history that brought each to its status."""

    def __init__(self, rng: random.Random, world: _World, *, today: datetime.date, first_number: int):
        self.rng, self.world, self.today, self.first_number = rng, world, today, first_number
        self.now = timezone.now()
        # Nothing is reported later than the start of ``today``, so one day's runs agree.
        self.cutoff = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
        self.entity = _Draw(rng, dict(zip(world.entities, LEGAL_ENTITY_WEIGHTS, strict=True)))
        self.status, self.type_name = _Draw(rng, STATUS_WEIGHTS), _Draw(rng, TYPE_WEIGHTS)
        self.nda_party = _Draw(rng, {AccountType.VENDOR: 14, AccountType.CUSTOMER: 3, AccountType.PARTY: 3})
        self.renewal = _Draw(rng, RENEWAL_WEIGHTS)
        # The first contracts of a run cover every status and every type, so that even a
        # small demo shows them all.
        self.first_statuses, self.first_types = list(STATUS_PATHS), list(TYPE_WEIGHTS)
        # What a contract is about: a category of its vendor's line of business, goods for a
        # purchase contract, services for a service contract.
        self.subjects = {
            (root, type_name): [c for c in children if (c in SERVICE_CATEGORIES) == (type_name == "Service")]
            or list(children)
            for root, children in CATEGORY_TREE.items()
            for type_name in TYPE_BUSINESS
        }

    def make(self, index: int) -> tuple[Contract, list[ContractStatusChange]]:
        if index < len(self.first_statuses):
            status, type_name = self.first_statuses[index], self.first_types[index % len(self.first_types)]
        else:
            status, type_name = self.status(), self.type_name()
        entity: _Entity = self.entity()
        requester = self.rng.choice(entity.workers)
        effective, expiration, moments = self._lifecycle(status)
        contract = Contract(
            legal_entity_id=entity.legal_entity.pk,
            contract_id=f"{CONTRACT_ID_PREFIX}{self.first_number + index:0{CONTRACT_ID_WIDTH}d}",
            external_contract_id=self._uuid(),
            connection_id=self.world.connection.pk,
            contract_type_id=self.world.contract_types[type_name].pk,
            status=status,
            effective_date=effective,
            expiration_date=expiration,
            requester_worker_name=requester.name,
            requester_worker_email=requester.email,
            requester_worker_id=requester.pk,
            source_modified_at=moments[-1],
            source_sequence=len(moments),
            last_synced_at=self.now,
            changed_by=ACTOR.label,
        )
        vendor = self._party(contract, entity, type_name)
        self._terms(contract, entity, type_name, vendor)
        path = STATUS_PATHS[status]
        history = [
            ContractStatusChange(
                contract=contract,
                from_status=previous,
                to_status=step,
                changed_at=moment,
                changed_by=ACTOR.label,
                source_modified_at=moment,
            )
            for previous, step, moment in zip(("", *path[:-1]), path, moments, strict=True)
        ]
        return contract, history

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _party(self, contract: Contract, entity: _Entity, type_name: str) -> Vendor | None:
        """The contracting party: purchase and service contracts are with an unblocked vendor of
        a fitting line of business, NDAs with a vendor (now and then a blocked one), a customer
        or a prospective supplier."""
        rng = self.rng
        kind = AccountType.VENDOR if type_name != "NDA" else self.nda_party()
        contract.account_type = kind
        if kind != AccountType.VENDOR:
            names = CUSTOMERS if kind == AccountType.CUSTOMER else PROSPECTS
            number = rng.randrange(len(names))
            contract.party_name = names[number]
            contract.party_number = f"{8 if kind == AccountType.CUSTOMER else 9}{number + 1:05d}"
            if kind == AccountType.CUSTOMER:
                contract.account_relation_id = f"{entity.legal_entity.code[:2]}-C{number + 1:03d}"
            return None
        blocked = type_name == "NDA" and entity.blocked_vendors and rng.random() < 0.1
        vendor = rng.choice(entity.blocked_vendors if blocked else entity.vendors_for.get(type_name) or entity.vendors)
        contract.vendor_id = vendor.pk
        contract.account_relation_id = vendor.account_number
        contract.party_number = vendor.party_number
        contract.party_name = vendor.name
        contact = rng.choice(entity.contacts.get(vendor.pk) or [None])
        if contact is not None:
            contract.contact_id, contract.contact_person_id = contact.pk, contact.contact_person_id
        return vendor

    def _terms(self, contract: Contract, entity: _Entity, type_name: str, vendor: Vendor | None) -> None:
        """Title, value, renewal and amendments, as the CLM would report them (``vendor`` is
        set for every contract but an NDA)."""
        rng = self.rng
        party = contract.party_name
        if type_name == "NDA":
            kind = "Mutual NDA" if rng.random() < 0.7 else "One-way NDA"
            contract.name = f"{kind} – {party} ({rng.choice(NDA_PURPOSES)})"
            return
        year = contract.effective_date.year
        subject = rng.choice(self.subjects[entity.business[vendor.pk].name, type_name])
        if type_name == "Service":
            contract.name = f"{subject} {year} – {party}"
            contract.value = Decimal(rng.randrange(100, 50_000) * 100)
        else:
            contract.name = f"{subject} supply {year} – {party}"
            contract.value = Decimal(rng.randrange(50, 25_000) * 100)
        foreign = vendor.currency_id and rng.random() < 0.15
        contract.currency_id = vendor.currency_id if foreign else entity.currency.pk
        renewal = self.renewal()
        if renewal == RenewalType.EVERGREEN and contract.status == S.EXPIRED:
            renewal = RenewalType.NONE  # an evergreen contract does not expire
        contract.renewal_type = renewal
        if renewal == RenewalType.EVERGREEN:
            contract.expiration_date = None
        if renewal in (RenewalType.AUTOMATIC, RenewalType.OPTIONAL):
            contract.notice_period_days = rng.choice((30, 60, 90))
            if contract.expiration_date:
                notice = contract.expiration_date - datetime.timedelta(days=contract.notice_period_days)
                contract.notice_date = notice if notice >= contract.effective_date else None
        if contract.status in AGREEMENT_STATUS_OF_CONTRACT and rng.random() < 0.25:
            contract.amendment_in_process = contract.status == S.EXECUTED and rng.random() < 0.3
            contract.latest_amendment_id = f"{contract.contract_id}-A{rng.randint(1, 3):02d}"
            contract.latest_external_amendment_id = self._uuid()

    def _lifecycle(self, status: str) -> tuple[datetime.date, datetime.date | None, list[datetime.datetime]]:
        """Effective and expiration dates, and when each status of the path was reported."""
        rng, today, days = self.rng, self.today, datetime.timedelta
        open_ended = rng.random() < 0.1
        if status in AGREEMENT_STATUS_OF_CONTRACT:
            if status == S.EXPIRED:
                expiration = today - days(rng.randint(1, 700))
                effective = expiration - days(rng.randint(364, 1095))
            elif status == S.TERMINATED:
                effective = today - days(rng.randint(30, 1400))
                expiration = None if open_ended else effective + days(rng.randint(365, 1460))
            else:
                effective = today - days(rng.randint(0, 1400))
                # Some run out within 30, 60 or 90 days, for the "expiring within N days" filter.
                expiration = today + days(rng.randint(1, 90) if rng.random() < 0.2 else rng.randint(91, 1100))
                expiration = None if open_ended else expiration
            days_reported = [effective - days(rng.randint(0, 20))]  # executed
            for _ in STATUS_PATHS[status][: STATUS_PATHS[status].index(S.EXECUTED)]:
                days_reported.insert(0, days_reported[0] - days(rng.randint(2, 15)))
            executed = days_reported[-1]
            if status == S.EXPIRED:
                days_reported.append(expiration + days(1))
            elif status != S.EXECUTED:
                days_reported.append(_day_between(rng, executed + days(1), min(today, expiration or today)))
        else:
            days_reported = [today - days(rng.randint(0, 45))]
            for _ in STATUS_PATHS[status][1:]:
                days_reported.insert(0, days_reported[0] - days(rng.randint(1, 10)))
            effective = days_reported[-1] + days(rng.randint(7, 150))
            expiration = None if open_ended else effective + days(rng.choice((365, 730, 1095)) - 1)
        moments = []
        for day in days_reported:
            at = datetime.time(rng.randint(7, 18), rng.randint(0, 59))
            moment = min(datetime.datetime.combine(day, at, tzinfo=datetime.UTC), self.cutoff)
            moments.append(max(moment, moments[-1]) if moments else moment)
        return effective, expiration, moments


def _day_between(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _insert_contracts(contract_maker, agreement_maker, indexes: range, summary: SeedSummary) -> None:
    contracts, history, agreements = [], [], []
    for index in indexes:
        contract, changes = contract_maker.make(index)
        contracts.append(contract)
        history += changes
        agreement = agreement_maker.for_contract(contract)
        if agreement is not None:
            agreements.append(agreement)
    Contract.objects.bulk_create(contracts, batch_size=BATCH_SIZE)
    with _given_timestamps(ContractStatusChange, "changed_at"):
        ContractStatusChange.objects.bulk_create(history, batch_size=BATCH_SIZE)
    _insert_agreements(agreements, agreement_maker.numbers, summary)
    summary.contracts += len(contracts)
    summary.status_changes += len(history)
    summary.clm_agreements += len(agreements)
    summary.first_contract_id = summary.first_contract_id or contracts[0].contract_id
    summary.last_contract_id = contracts[-1].contract_id


def _insert_agreements(agreements: list[tuple[PurchaseAgreement, list]], numbers, summary: SeedSummary) -> None:
    PurchaseAgreement.objects.bulk_create([agreement for agreement, _ in agreements], batch_size=BATCH_SIZE)
    lines = [line for _, agreement_lines in agreements for line in agreement_lines]
    PurchaseAgreementLine.objects.bulk_create(lines, batch_size=BATCH_SIZE)
    numbers.save()
    summary.lines += len(lines)


@contextmanager
def _given_timestamps(model: type[models.Model], field_name: str) -> Iterator[None]:
    """``bulk_create`` stamps an ``auto_now_add`` field with the current time; demo history
    describes the past, so while it is inserted the field keeps the value it is given."""
    model_field = model._meta.get_field(field_name)
    model_field.auto_now_add = False
    try:
        yield
    finally:
        model_field.auto_now_add = True


# --- Purchase agreements and lines ---------------------------------------------------


class _AgreementNumbers:
    """Hands out agreement ids from each legal entity's sequence, as ``agreement_create``
    numbers them, skipping ids already taken; ``save`` moves the sequences on."""

    def __init__(self, legal_entities: list[LegalEntity]):
        self.sequences = {
            le.pk: AgreementNumberSequence.objects.get_or_create(legal_entity=le)[0] for le in legal_entities
        }
        self.taken = {
            le_id: set(
                PurchaseAgreement.objects.filter(
                    legal_entity_id=le_id, agreement_id__startswith=sequence.prefix
                ).values_list("agreement_id", flat=True)
            )
            for le_id, sequence in self.sequences.items()
        }

    def take(self, legal_entity_id: int) -> str:
        sequence = self.sequences[legal_entity_id]
        while True:
            candidate = f"{sequence.prefix}{sequence.next_number:0{sequence.width}d}"
            sequence.next_number += 1
            if candidate not in self.taken[legal_entity_id]:
                return candidate

    def save(self) -> None:
        for sequence in self.sequences.values():
            AgreementNumberSequence.objects.filter(pk=sequence.pk).update(next_number=sequence.next_number)


AgreementWithLines = tuple[PurchaseAgreement, list[PurchaseAgreementLine]]


class _AgreementMaker:
    """Draws CLM-owned agreements for executed purchase contracts, SCM-owned ones, and their lines."""

    def __init__(self, rng: random.Random, world: _World, *, today: datetime.date, clm_share: float):
        self.rng, self.world, self.today, self.clm_share = rng, world, today, clm_share
        self.numbers = _AgreementNumbers([entity.legal_entity for entity in world.entities])
        self.entities = {entity.legal_entity.pk: entity for entity in world.entities}
        self.vendors = {vendor.pk: vendor for entity in world.entities for vendor in entity.vendors}
        self.purchase_flow_types = {
            t.pk: name for name, t in world.contract_types.items() if t.flow == ContractFlowName.PURCHASE_AGREEMENT
        }
        self.commitment = {kind: _Draw(rng, weights) for kind, weights in COMMITMENT_WEIGHTS.items()}
        self.entity = _Draw(rng, dict(zip(world.entities, LEGAL_ENTITY_WEIGHTS, strict=True)))
        self.scm_status = _Draw(
            rng, {AgreementStatus.EFFECTIVE: 14, AgreementStatus.ON_HOLD: 3, AgreementStatus.CLOSED: 3}
        )
        # The first lines of a run cover every commitment type, so that even a small demo shows them all.
        self.first_commitments = list(CommitmentType)
        self.lines_made = self.clm_made = 0

    def for_contract(self, contract: Contract) -> AgreementWithLines | None:
        """The agreement the purchase-agreement flow keeps for ``contract``, for a share of them."""
        type_name = self.purchase_flow_types.get(contract.contract_type_id)
        status = AGREEMENT_STATUS_OF_CONTRACT.get(contract.status)
        if type_name is None or status is None or contract.vendor_id not in self.vendors:
            return None
        if self.clm_made and self.rng.random() >= self.clm_share:
            return None
        self.clm_made += 1
        vendor = self.vendors[contract.vendor_id]
        agreement = self._header(self.entities[contract.legal_entity_id], vendor)
        # What the flow copies from the contract (connectors.flows.purchase_agreement).
        agreement.ownership = AgreementOwnership.CLM
        agreement.contract = contract
        agreement.external_contract_id = contract.external_contract_id
        agreement.status = status
        agreement.amendment_in_process = contract.amendment_in_process
        agreement.document_title = contract.name[:255]
        agreement.default_effective_date = contract.effective_date
        agreement.default_expiration_date = contract.expiration_date
        agreement.contact_person_id = contract.contact_id
        agreement.currency_id = contract.currency_id or vendor.currency_id
        return agreement, self._lines(agreement, self.commitment[type_name])

    def scm_agreement(self) -> AgreementWithLines:
        rng, days = self.rng, datetime.timedelta
        entity: _Entity = self.entity()
        vendor = rng.choice(entity.vendors)
        agreement = self._header(entity, vendor)
        agreement.ownership = AgreementOwnership.SCM
        agreement.status = self.scm_status()
        effective = self.today - days(rng.randint(0, 900))
        agreement.default_effective_date = effective
        agreement.default_expiration_date = None if rng.random() < 0.1 else effective + days(rng.randint(365, 1095))
        agreement.document_title = f"{agreement.classification.name} – {vendor.name}"
        contact = rng.choice(entity.contacts.get(vendor.pk) or [None])
        agreement.contact_person_id = contact.pk if contact else None
        agreement.currency_id = vendor.currency_id or entity.currency.pk
        return agreement, self._lines(agreement, self.commitment[AgreementOwnership.SCM])

    def _header(self, entity: _Entity, vendor: Vendor) -> PurchaseAgreement:
        """What both ownerships share: the references a buyer or the CLM fills in."""
        rng = self.rng
        primary, secondary = rng.sample(entity.workers, 2)
        return PurchaseAgreement(
            legal_entity_id=entity.legal_entity.pk,
            agreement_id=self.numbers.take(entity.legal_entity.pk),
            vendor_id=vendor.pk,
            invoice_vendor_id=vendor.pk,
            payment_terms_id=vendor.payment_terms_id,
            vendor_reference=f"{vendor.account_number}/{rng.randint(1000, 9999)}",
            classification=rng.choice(entity.classifications),
            primary_responsible_worker_id=primary.pk,
            secondary_responsible_worker_id=secondary.pk if rng.random() < 0.6 else None,
            cash_discount_id=rng.choice(entity.cash_discounts).pk if rng.random() < 0.4 else None,
            buyer_group_id=rng.choice(entity.buyer_groups).pk,
            project_id=rng.choice(entity.projects).pk if rng.random() < 0.2 else None,
            line_matching_policy=rng.choice(LineMatchingPolicy.values),
            mode_of_delivery=rng.choice(DELIVERY_MODES),
            shipping_carrier=rng.choice(CARRIERS),
            financial_dimensions=f"CC{rng.randint(100, 199)}-D{rng.randint(10, 40)}",
            changed_by=ACTOR.label,
        )

    def _lines(self, agreement: PurchaseAgreement, draw: _Draw) -> list[PurchaseAgreementLine]:
        lines = []
        for number in range(1, self.rng.randint(1, MAX_LINES_PER_AGREEMENT) + 1):
            if self.lines_made < len(self.first_commitments):
                commitment = self.first_commitments[self.lines_made]
            else:
                commitment = draw()
            lines.append(self._line(agreement, number, commitment))
            self.lines_made += 1
        agreement.default_commitment_type = lines[0].commitment_type
        return lines

    def _line(self, agreement: PurchaseAgreement, number: int, commitment: str) -> PurchaseAgreementLine:
        """One line that ``line_prepare`` accepts (the rules are in the module docstring)."""
        rng, entity = self.rng, self.entities[agreement.legal_entity_id]
        line = PurchaseAgreementLine(
            legal_entity_id=agreement.legal_entity_id,
            agreement=agreement,
            line_number=Decimal(number),
            external_contract_line_id=(
                f"{agreement.external_contract_id}-L{number}" if agreement.external_contract_id else ""
            ),
            commitment_type=commitment,
            effective_date=agreement.default_effective_date,
            expiration_date=agreement.default_expiration_date,
            line_discount_percentage=Decimal(rng.choice((0, 2, 5, 10))) if rng.random() < 0.5 else None,
            is_commitment_maximum_enforced=rng.random() < 0.3,
            is_price_and_discount_fixed=rng.random() < 0.5,
            changed_by=ACTOR.label,
        )
        # Mostly what the vendor is in business for, now and then something else.
        business = entity.business[agreement.vendor_id] if rng.random() < 0.85 else rng.choice(self.world.roots)
        product = rng.choice(entity.products_in.get(business.pk) or entity.products)
        if CommitmentType.needs_item(commitment):
            line.product_id, line.unit_id = product.pk, product.unit_id
            variants = entity.variants.get(product.pk)
            if variants and rng.random() < 0.7:
                line.product_variant_id = rng.choice(variants).pk
        if CommitmentType.is_quantity(commitment):
            list_price = self.world.list_prices.get(product.item_number, Decimal("10.00"))
            line.price = (list_price * rng.randint(85, 110) / 100).quantize(Decimal("0.01"))
            line.price_quantity = Decimal(1)
            line.committed_quantity = Decimal(max(1, int(rng.randint(2_000, 400_000) / list_price)))
            if rng.random() < 0.2:
                line.line_discount_amount = (line.price * Decimal("0.05")).quantize(Decimal("0.01"))
        else:
            # A value commitment on one item is smaller than one on a whole category.
            amount = rng.randint(20, 4_000 if line.product_id else 20_000) * 100
            line.committed_amount = Decimal(amount)
            if rng.random() < 0.6:
                line.minimum_release_amount, line.maximum_release_amount = Decimal(amount // 100), Decimal(amount // 4)
        if commitment == CommitmentType.PRODUCT_CATEGORY:
            line.category_id = product.category_id or rng.choice(self.world.children).pk
        elif commitment == CommitmentType.PRODUCT_ROOT_CATEGORY:
            line.category_id = business.pk
        if rng.random() < 0.6:
            warehouse = rng.choice(entity.warehouses)
            line.receiving_warehouse_id, line.receiving_site_id = warehouse.pk, warehouse.site_id
        if agreement.project_id and rng.random() < 0.7:
            line.project_id = agreement.project_id
            line.project_category_id = rng.choice(PROJECT_CATEGORIES)
            line.project_activity_number = f"A{rng.randint(1, 999):06d}"
        return line
