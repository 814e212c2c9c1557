"""The database itself refuses records that break the data model (SPEC §3).

Services check these rules first and report them politely; the constraints are the last
line of defence for every other path (admin, shell, raw imports), so each is exercised
here directly against the database.
"""

import datetime
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from contracts.choices import AgreementOwnership, CommitmentType
from contracts.models import Contract, PurchaseAgreementLine, Vendor
from contracts.tests import factories

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)
DEC_31 = datetime.date(2026, 12, 31)


@contextmanager
def refused_by_the_database():
    """The write inside fails with IntegrityError, in its own savepoint so the test goes on."""
    with pytest.raises(IntegrityError), transaction.atomic():
        yield


def value_line(commitment_type, **overrides):
    """A valid line of a value commitment: an amount, no quantity, no price."""
    values = {
        "commitment_type": commitment_type,
        "committed_quantity": None,
        "committed_amount": Decimal("5000"),
        "price": None,
    }
    if CommitmentType.needs_category(commitment_type):
        values.update(product=None, category=factories.CategoryFactory(name="Office supplies"))
    values.update(overrides)
    return factories.LineFactory(**values)


# --- Natural keys are unique per legal entity ----------------------------------------

NATURAL_KEYS = [
    pytest.param(factories.ContractFactory, "contract_id", "CON-00042", id="contract"),
    pytest.param(factories.VendorFactory, "account_number", "V-1001", id="vendor"),
    pytest.param(factories.AgreementFactory, "agreement_id", "PA-000001", id="agreement"),
    pytest.param(factories.WorkerFactory, "personnel_number", "W-0001", id="worker"),
    pytest.param(factories.ProductFactory, "item_number", "I-0001", id="released-product"),
    pytest.param(factories.SiteFactory, "site_id", "S1", id="site"),
]


@pytest.mark.parametrize(("factory", "key", "value"), NATURAL_KEYS)
def test_same_natural_key_is_allowed_in_two_legal_entities(factory, key, value, legal_entity, other_legal_entity):
    factory(legal_entity=legal_entity, **{key: value})

    factory(legal_entity=other_legal_entity, **{key: value})

    assert factory._meta.model.objects.filter(**{key: value}).count() == 2


@pytest.mark.parametrize(("factory", "key", "value"), NATURAL_KEYS)
def test_same_natural_key_twice_in_one_legal_entity_is_refused(factory, key, value, legal_entity):
    factory(legal_entity=legal_entity, **{key: value})

    with refused_by_the_database():
        factory(legal_entity=legal_entity, **{key: value})

    assert factory._meta.model.objects.filter(**{key: value}).count() == 1


# --- The CLM's external id is unique per connection ----------------------------------


def test_same_external_contract_id_on_two_connections_is_allowed(legal_entity):
    given = [factories.ConnectionFactory(name="NDA CLM"), factories.ConnectionFactory(name="Purchase CLM")]

    for connection in given:
        factories.ContractFactory(legal_entity=legal_entity, connection=connection, external_contract_id="ext-7")

    assert Contract.objects.filter(external_contract_id="ext-7").count() == 2


def test_external_contract_id_twice_on_one_connection_is_refused_even_across_legal_entities(
    legal_entity, other_legal_entity
):
    connection = factories.ConnectionFactory(name="Purchase CLM")
    factories.ContractFactory(legal_entity=legal_entity, connection=connection, external_contract_id="ext-7")

    with refused_by_the_database():
        factories.ContractFactory(legal_entity=other_legal_entity, connection=connection, external_contract_id="ext-7")


def test_blank_external_contract_id_is_allowed_many_times_on_one_connection(legal_entity):
    connection = factories.ConnectionFactory(name="Purchase CLM")

    for _ in range(3):
        factories.ContractFactory(legal_entity=legal_entity, connection=connection, external_contract_id="")

    assert Contract.objects.filter(connection=connection, external_contract_id="").count() == 3


# --- Expiration never before the effective date ---------------------------------------


def test_contract_may_expire_on_its_effective_date_or_be_open_ended(legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, effective_date=JAN_1, expiration_date=JAN_1)
    factories.ContractFactory(legal_entity=legal_entity, effective_date=JAN_1, expiration_date=None)

    assert Contract.objects.count() == 2


def test_contract_expiring_before_it_is_effective_is_refused(legal_entity):
    with refused_by_the_database():
        factories.ContractFactory(legal_entity=legal_entity, effective_date=DEC_31, expiration_date=JAN_1)


def test_agreement_expiring_before_it_is_effective_is_refused(legal_entity):
    factories.AgreementFactory(legal_entity=legal_entity, default_effective_date=JAN_1, default_expiration_date=DEC_31)

    with refused_by_the_database():
        factories.AgreementFactory(
            legal_entity=legal_entity, default_effective_date=DEC_31, default_expiration_date=JAN_1
        )


def test_line_expiring_before_it_is_effective_is_refused(legal_entity):
    factories.LineFactory(legal_entity=legal_entity, effective_date=JAN_1, expiration_date=DEC_31)

    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, effective_date=DEC_31, expiration_date=JAN_1)


# --- Line rules by commitment type ---------------------------------------------------


def test_quantity_line_carries_a_quantity(legal_entity):
    line = factories.LineFactory(legal_entity=legal_entity, committed_quantity=Decimal("250"))

    assert line.commitment_type == CommitmentType.PRODUCT_QUANTITY


def test_quantity_line_with_a_committed_amount_is_refused(legal_entity):
    with refused_by_the_database():
        factories.LineFactory(
            legal_entity=legal_entity, committed_quantity=Decimal("250"), committed_amount=Decimal("1000")
        )


@pytest.mark.parametrize(
    "commitment_type",
    [CommitmentType.PRODUCT_VOLUME, CommitmentType.PRODUCT_CATEGORY, CommitmentType.PRODUCT_ROOT_CATEGORY],
)
def test_value_line_carries_an_amount(commitment_type, legal_entity):
    line = value_line(commitment_type, legal_entity=legal_entity)

    assert line.committed_amount == Decimal("5000")


@pytest.mark.parametrize(
    "commitment_type",
    [CommitmentType.PRODUCT_VOLUME, CommitmentType.PRODUCT_CATEGORY, CommitmentType.PRODUCT_ROOT_CATEGORY],
)
def test_value_line_with_a_committed_quantity_is_refused(commitment_type, legal_entity):
    with refused_by_the_database():
        value_line(commitment_type, legal_entity=legal_entity, committed_quantity=Decimal("10"))


def test_quantity_line_without_an_item_is_refused(legal_entity):
    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, product=None)


def test_volume_line_without_an_item_is_refused(legal_entity):
    value_line(CommitmentType.PRODUCT_VOLUME, legal_entity=legal_entity)

    with refused_by_the_database():
        value_line(CommitmentType.PRODUCT_VOLUME, legal_entity=legal_entity, product=None)


@pytest.mark.parametrize("commitment_type", [CommitmentType.PRODUCT_CATEGORY, CommitmentType.PRODUCT_ROOT_CATEGORY])
def test_category_line_without_a_category_is_refused(commitment_type, legal_entity):
    with refused_by_the_database():
        value_line(commitment_type, legal_entity=legal_entity, category=None)


def test_quantity_line_may_carry_price_and_discount_amount(legal_entity):
    line = factories.LineFactory(
        legal_entity=legal_entity, price=Decimal("9.50"), price_quantity=Decimal("1"), line_discount_amount=Decimal("1")
    )

    assert line.price == Decimal("9.50")


@pytest.mark.parametrize("field", ["price", "price_quantity", "line_discount_amount"])
def test_price_fields_on_a_value_line_are_refused(field, legal_entity):
    with refused_by_the_database():
        value_line(CommitmentType.PRODUCT_VOLUME, legal_entity=legal_entity, **{field: Decimal("1")})


@pytest.mark.parametrize("percentage", ["0", "12.5", "100"])
def test_line_discount_percentage_from_0_to_100_is_accepted(percentage, legal_entity):
    line = factories.LineFactory(legal_entity=legal_entity, line_discount_percentage=Decimal(percentage))

    assert line.line_discount_percentage == Decimal(percentage)


@pytest.mark.parametrize("percentage", ["-0.01", "100.01", "150"])
def test_line_discount_percentage_outside_0_to_100_is_refused(percentage, legal_entity):
    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, line_discount_percentage=Decimal(percentage))


def test_release_amounts_may_be_equal(legal_entity):
    line = factories.LineFactory(
        legal_entity=legal_entity, minimum_release_amount=Decimal("100"), maximum_release_amount=Decimal("100")
    )

    assert line.maximum_release_amount == line.minimum_release_amount


def test_minimum_release_above_maximum_is_refused(legal_entity):
    with refused_by_the_database():
        factories.LineFactory(
            legal_entity=legal_entity, minimum_release_amount=Decimal("500"), maximum_release_amount=Decimal("100")
        )


def test_line_number_must_be_positive(legal_entity):
    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, line_number=Decimal("0"))


def test_line_number_twice_on_one_agreement_is_refused(legal_entity):
    line = factories.LineFactory(legal_entity=legal_entity, line_number=Decimal("1"))

    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, agreement=line.agreement, line_number=Decimal("1"))

    assert PurchaseAgreementLine.objects.filter(agreement=line.agreement).count() == 1


# --- Ownership and status values ----------------------------------------------------


def test_clm_owned_agreement_without_a_contract_is_refused(legal_entity):
    with refused_by_the_database():
        factories.AgreementFactory(legal_entity=legal_entity, ownership=AgreementOwnership.CLM, contract=None)


def test_unknown_contract_status_is_refused(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity)

    with refused_by_the_database():
        Contract.objects.filter(pk=contract.pk).update(status="Signed")

    contract.refresh_from_db()
    assert contract.status == "Draft"


def test_contract_created_with_an_unknown_status_is_refused(legal_entity):
    with refused_by_the_database():
        factories.ContractFactory(legal_entity=legal_entity, status="Signed")


def test_unknown_agreement_status_is_refused(legal_entity):
    with refused_by_the_database():
        factories.AgreementFactory(legal_entity=legal_entity, status="Approved")


def test_unknown_commitment_type_is_refused(legal_entity):
    with refused_by_the_database():
        factories.LineFactory(legal_entity=legal_entity, commitment_type="ProductService")


# --- References are protected -------------------------------------------------------


def test_vendor_without_contracts_can_be_deleted(legal_entity):
    vendor = factories.VendorFactory(legal_entity=legal_entity)

    vendor.delete()

    assert not Vendor.objects.filter(pk=vendor.pk).exists()


def test_deleting_a_vendor_with_contracts_is_refused(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity)

    with pytest.raises(ProtectedError), transaction.atomic():
        contract.vendor.delete()

    assert Vendor.objects.filter(pk=contract.vendor_id).exists()


def test_deleting_a_vendor_with_agreements_is_refused(legal_entity):
    agreement = factories.AgreementFactory(legal_entity=legal_entity)

    with pytest.raises(ProtectedError), transaction.atomic():
        agreement.vendor.delete()


def test_deleting_a_contract_type_in_use_is_refused(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity)

    with pytest.raises(ProtectedError), transaction.atomic():
        contract.contract_type.delete()


def test_deleting_a_contract_with_an_agreement_is_refused(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity)
    factories.AgreementFactory(legal_entity=legal_entity, ownership=AgreementOwnership.CLM, contract=contract)

    with pytest.raises(ProtectedError), transaction.atomic():
        contract.delete()


def test_deleting_an_item_used_on_a_line_is_refused(legal_entity):
    line = factories.LineFactory(legal_entity=legal_entity)

    with pytest.raises(ProtectedError), transaction.atomic():
        line.product.delete()
