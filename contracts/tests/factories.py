"""Factories for tests: realistic defaults, every record in one legal entity unless told."""

import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from connectors.models import Connection, NavigationLink, NavigationLinkParameter
from contracts import models
from contracts.choices import AccountType, AgreementOwnership, AgreementStatus, CommitmentType, ContractStatus


class LegalEntityFactory(DjangoModelFactory):
    class Meta:
        model = models.LegalEntity
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LE{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Company {o.code}")


class CurrencyFactory(DjangoModelFactory):
    class Meta:
        model = models.Currency
        django_get_or_create = ("code",)

    code = "USD"
    name = "US dollar"


class CountryFactory(DjangoModelFactory):
    class Meta:
        model = models.Country
        django_get_or_create = ("code",)

    code = "USA"
    name = "United States"


class UnitFactory(DjangoModelFactory):
    class Meta:
        model = models.UnitOfMeasure
        django_get_or_create = ("symbol",)

    symbol = "ea"
    description = "Each"


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = models.ProcurementCategory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class LegalEntityScopedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    legal_entity = factory.SubFactory(LegalEntityFactory, code="USMF")


class PaymentTermsFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.PaymentTerms

    name = factory.Sequence(lambda n: f"Net{30 + n}")


class CashDiscountFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.CashDiscount

    code = factory.Sequence(lambda n: f"CD{n}")
    discount_percentage = Decimal("2.00")
    days = 10


class VendorFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Vendor

    account_number = factory.Sequence(lambda n: f"V-{n:04d}")
    name = factory.Faker("company")
    party_number = factory.Sequence(lambda n: f"P-{n:05d}")
    currency = factory.SubFactory(CurrencyFactory)


class ContactPersonFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.ContactPerson

    contact_person_id = factory.Sequence(lambda n: f"CP-{n:04d}")
    vendor = factory.SubFactory(VendorFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    name = factory.Faker("name")
    email = factory.Faker("email")


class WorkerFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Worker

    personnel_number = factory.Sequence(lambda n: f"W-{n:04d}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.name.lower().replace(' ', '.')}@example.com")


class ProductFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.ReleasedProduct

    item_number = factory.Sequence(lambda n: f"I-{n:04d}")
    name = factory.Faker("catch_phrase")
    unit = factory.SubFactory(UnitFactory)


class VariantFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.ProductVariant

    product = factory.SubFactory(ProductFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    variant_number = factory.Sequence(lambda n: f"VAR-{n:04d}")


class SiteFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Site

    site_id = factory.Sequence(lambda n: f"S{n}")
    name = factory.Faker("city")


class WarehouseFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Warehouse

    warehouse_id = factory.Sequence(lambda n: f"WH{n}")
    name = factory.Faker("street_name")
    site = factory.SubFactory(SiteFactory, legal_entity=factory.SelfAttribute("..legal_entity"))


class ProjectFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Project

    project_id = factory.Sequence(lambda n: f"PRJ-{n:04d}")
    name = factory.Faker("bs")


class ClassificationFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.PurchaseAgreementClassification

    name = factory.Sequence(lambda n: f"Class{n}")


class BuyerGroupFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.BuyerGroup

    group_id = factory.Sequence(lambda n: f"BG{n}")


class ContractTypeFactory(DjangoModelFactory):
    class Meta:
        model = models.ContractType
        django_get_or_create = ("name",)

    name = "Purchase"
    flow = "purchase_agreement"


class ConnectionFactory(DjangoModelFactory):
    class Meta:
        model = Connection
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"CLM {n}")
    connector = "reference"
    base_url = "https://clm.example.com"


class ContractFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.Contract

    contract_id = factory.Sequence(lambda n: f"CON-{n:05d}")
    external_contract_id = factory.Sequence(lambda n: f"ext-{n:05d}")
    connection = factory.SubFactory(ConnectionFactory)
    contract_type = factory.SubFactory(ContractTypeFactory)
    status = ContractStatus.DRAFT
    name = factory.Faker("catch_phrase")
    effective_date = datetime.date(2026, 1, 1)
    expiration_date = datetime.date(2027, 12, 31)
    account_type = AccountType.VENDOR
    vendor = factory.SubFactory(VendorFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    account_relation_id = factory.LazyAttribute(lambda o: o.vendor.account_number if o.vendor else "")


class AgreementFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.PurchaseAgreement

    agreement_id = factory.Sequence(lambda n: f"PA-T{n:05d}")
    ownership = AgreementOwnership.SCM
    status = AgreementStatus.EFFECTIVE
    document_title = factory.Faker("catch_phrase")
    vendor = factory.SubFactory(VendorFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    currency = factory.SubFactory(CurrencyFactory)
    default_effective_date = datetime.date(2026, 1, 1)
    default_expiration_date = datetime.date(2027, 12, 31)


class LineFactory(LegalEntityScopedFactory):
    class Meta:
        model = models.PurchaseAgreementLine

    agreement = factory.SubFactory(AgreementFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    line_number = factory.Sequence(lambda n: Decimal(n + 1))
    commitment_type = CommitmentType.PRODUCT_QUANTITY
    product = factory.SubFactory(ProductFactory, legal_entity=factory.SelfAttribute("..legal_entity"))
    committed_quantity = Decimal("100")
    price = Decimal("9.50")
    unit = factory.SubFactory(UnitFactory)


class NavigationLinkFactory(DjangoModelFactory):
    class Meta:
        model = NavigationLink

    connection = factory.SubFactory(ConnectionFactory)
    navigation_type = "ViewContract"
    name = "View"
    relative_url = "/contracts/view"


class NavigationLinkParameterFactory(DjangoModelFactory):
    class Meta:
        model = NavigationLinkParameter

    link = factory.SubFactory(NavigationLinkFactory)
    key = "id"
    value = "%Contract.ExternalContractId%"
