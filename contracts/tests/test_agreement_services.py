"""Purchase agreements and lines through the services: every rule of SPEC §3.4, and the
protection of CLM-owned agreements (§6.4)."""

import datetime
from decimal import Decimal

import pytest

from contracts.choices import (
    AgreementOwnership,
    AgreementStatus,
    CommitmentType,
    LineMatchingPolicy,
)
from contracts.models import (
    CLM_OWNED_EDITABLE_HEADER_FIELDS,
    PurchaseAgreement,
    PurchaseAgreementLine,
)
from contracts.services import (
    ValidationFailed,
    agreement_create,
    agreement_delete,
    agreement_prepare,
    agreement_update,
    line_create,
    line_delete,
    line_prepare,
    line_update,
)
from contracts.tests import factories

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)
DEC_31 = datetime.date(2026, 12, 31)


def problem_of(excinfo, field):
    """The first problem reported under ``field`` (fails clearly when there is none)."""
    problems = [problem for problem in excinfo.value.problems if problem.field == field]
    assert problems, f"no problem under {field!r}; got {excinfo.value.as_list()}"
    return problems[0]


@pytest.fixture
def unit(db):
    return factories.UnitFactory(symbol="ea", description="Each")


@pytest.fixture
def item(legal_entity, unit):
    return factories.ProductFactory(legal_entity=legal_entity, item_number="I-1000", name="Office chair", unit=unit)


@pytest.fixture
def root_category(db):
    return factories.CategoryFactory(name="Office")


@pytest.fixture
def child_category(root_category):
    return factories.CategoryFactory(name="Office chairs", parent=root_category)


@pytest.fixture
def site(legal_entity):
    return factories.SiteFactory(legal_entity=legal_entity, site_id="S1", name="Seattle")


@pytest.fixture
def warehouse(site):
    return factories.WarehouseFactory(legal_entity=site.legal_entity, warehouse_id="WH-11", site=site)


@pytest.fixture
def worker(legal_entity):
    return factories.WorkerFactory(legal_entity=legal_entity, name="April Meyer", email="april.meyer@contoso.com")


@pytest.fixture
def create_agreement(legal_entity, clm_actor, vendor):
    """Creates an SCM agreement for vendor V-1001 in USMF, as the CLM integration would."""

    def create(legal_entity=legal_entity, actor=clm_actor, **data):
        return agreement_create(legal_entity=legal_entity, data={"vendor": "V-1001", **data}, actor=actor)

    return create


@pytest.fixture
def add_line(scm_agreement, clm_actor, item):
    """Adds a line to PA-SCM-1; by default a quantity commitment of 100 x item I-1000."""

    def add(agreement=scm_agreement, actor=clm_actor, **data):
        payload = {"commitment_type": CommitmentType.PRODUCT_QUANTITY, "product": "I-1000", "committed_quantity": 100}
        payload.update(data)
        return line_create(agreement=agreement, data={k: v for k, v in payload.items() if v is not None}, actor=actor)

    return add


def value_line(commitment_type, **data):
    """Line data for a value commitment: an amount, the rest as given."""
    return {
        "commitment_type": commitment_type,
        "product": None,
        "committed_quantity": None,
        "committed_amount": Decimal("25000"),
        **data,
    }


# --- Headers: references resolve in the same legal entity -----------------------------


def test_agreement_header_references_resolve_in_its_legal_entity(create_agreement, legal_entity, vendor, worker, usd):
    classification = factories.ClassificationFactory(legal_entity=legal_entity, name="Blanket")
    cash_discount = factories.CashDiscountFactory(legal_entity=legal_entity, code="2%10")
    contact = factories.ContactPersonFactory(legal_entity=legal_entity, vendor=vendor, contact_person_id="CP-1")
    buyer_group = factories.BuyerGroupFactory(legal_entity=legal_entity, group_id="BG-IT")
    project = factories.ProjectFactory(legal_entity=legal_entity, project_id="PRJ-9")
    terms = factories.PaymentTermsFactory(legal_entity=legal_entity, name="Net30")

    agreement = create_agreement(
        classification="Blanket",
        cash_discount="2%10",
        contact_person="CP-1",
        buyer_group="BG-IT",
        project="PRJ-9",
        payment_terms="Net30",
        currency="USD",
        primary_responsible_worker_name="April Meyer",
        document_title="Office chairs 2026",
    )

    agreement.refresh_from_db()
    assert agreement.vendor == vendor
    assert agreement.invoice_vendor == vendor
    assert (agreement.classification, agreement.cash_discount, agreement.contact_person) == (
        classification,
        cash_discount,
        contact,
    )
    assert (agreement.buyer_group, agreement.project, agreement.payment_terms) == (buyer_group, project, terms)
    assert agreement.currency == usd
    assert agreement.primary_responsible_worker == worker
    assert agreement.ownership == AgreementOwnership.SCM


OTHER_LEGAL_ENTITY_HEADER_REFERENCES = [
    pytest.param("classification", factories.ClassificationFactory, {"name": "DE-Blanket"}, id="classification"),
    pytest.param("vendor", factories.VendorFactory, {"account_number": "V-DE-1"}, id="vendor"),
    pytest.param("invoice_vendor", factories.VendorFactory, {"account_number": "V-DE-1"}, id="invoice-vendor"),
    pytest.param("cash_discount", factories.CashDiscountFactory, {"code": "DE-2%"}, id="cash-discount"),
    pytest.param("contact_person", factories.ContactPersonFactory, {"contact_person_id": "CP-DE-1"}, id="contact"),
    pytest.param("buyer_group", factories.BuyerGroupFactory, {"group_id": "BG-DE"}, id="buyer-group"),
    pytest.param("project", factories.ProjectFactory, {"project_id": "PRJ-DE-1"}, id="project"),
    pytest.param("payment_terms", factories.PaymentTermsFactory, {"name": "DE-Net14"}, id="payment-terms"),
]


@pytest.mark.parametrize(("field", "factory", "key"), OTHER_LEGAL_ENTITY_HEADER_REFERENCES)
def test_header_reference_of_another_legal_entity_is_refused_naming_field_and_value(
    field, factory, key, create_agreement, other_legal_entity
):
    factory(legal_entity=other_legal_entity, **key)
    (value,) = key.values()

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(**{field: value})

    message = problem_of(excinfo, field).message
    assert value in message
    assert "USMF" in message
    assert not PurchaseAgreement.objects.exists()


def test_unknown_currency_is_refused_naming_it(create_agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(currency="XYZ")

    assert '"XYZ"' in problem_of(excinfo, "currency").message


def test_currency_defaults_to_the_vendors(create_agreement, usd):
    agreement = create_agreement()

    assert agreement.currency == usd


def test_vendor_without_a_currency_needs_one_given(create_agreement, legal_entity):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-NOCUR", currency=None)

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(vendor="V-NOCUR")

    assert problem_of(excinfo, "currency").code == "required"


def test_agreement_without_a_vendor_is_refused(legal_entity, clm_actor):
    with pytest.raises(ValidationFailed) as excinfo:
        agreement_create(legal_entity=legal_entity, data={"document_title": "No vendor"}, actor=clm_actor)

    assert problem_of(excinfo, "vendor").code == "required"


def test_blocked_vendor_is_refused(create_agreement, legal_entity):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-BLOCK", blocked=True)

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(vendor="V-BLOCK")

    assert "V-BLOCK" in problem_of(excinfo, "vendor").message
    assert not PurchaseAgreement.objects.exists()


def test_changing_to_a_blocked_vendor_is_refused(scm_agreement, legal_entity, person, vendor):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-BLOCK", blocked=True)

    with pytest.raises(ValidationFailed) as excinfo:
        agreement_update(agreement=scm_agreement, data={"vendor": "V-BLOCK"}, actor=person)

    assert problem_of(excinfo, "vendor").code == "blocked"
    scm_agreement.refresh_from_db()
    assert scm_agreement.vendor == vendor


def test_contact_person_of_the_vendor_is_accepted(create_agreement, vendor):
    contact = factories.ContactPersonFactory(vendor=vendor, contact_person_id="CP-1")

    agreement = create_agreement(contact_person="CP-1")

    assert agreement.contact_person == contact


def test_contact_person_of_another_vendor_is_refused(create_agreement, legal_entity):
    other_vendor = factories.VendorFactory(legal_entity=legal_entity, account_number="V-2002")
    factories.ContactPersonFactory(vendor=other_vendor, contact_person_id="CP-2")

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(contact_person="CP-2")

    message = problem_of(excinfo, "contact_person").message
    assert "CP-2" in message
    assert "V-1001" in message


def test_agreement_expiring_before_it_is_effective_is_refused(create_agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(default_effective_date=DEC_31, default_expiration_date=JAN_1)

    assert str(JAN_1) in problem_of(excinfo, "default_expiration_date").message


def test_moving_the_expiration_before_the_stored_effective_date_is_refused(scm_agreement, person):
    with pytest.raises(ValidationFailed) as excinfo:
        agreement_update(agreement=scm_agreement, data={"default_expiration_date": "2025-12-31"}, actor=person)

    assert problem_of(excinfo, "default_expiration_date").code == "date_order"


def test_every_problem_of_a_header_is_reported_at_once(create_agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(
            currency="XYZ", buyer_group="BG-NONE", default_effective_date=DEC_31, default_expiration_date=JAN_1
        )

    assert sorted(p.field for p in excinfo.value.problems) == ["buyer_group", "currency", "default_expiration_date"]
    assert "BG-NONE" in problem_of(excinfo, "buyer_group").message


def test_preparing_a_header_checks_it_and_saves_nothing(legal_entity, clm_actor, vendor):
    values = agreement_prepare(
        legal_entity="USMF", data={"vendor": "V-1001", "document_title": "Draft"}, actor=clm_actor
    )

    assert values["vendor"] == vendor
    assert not PurchaseAgreement.objects.exists()


def test_agreement_key_cannot_be_changed(scm_agreement, person):
    with pytest.raises(ValidationFailed) as excinfo:
        agreement_update(agreement=scm_agreement, data={"agreement_id": "PA-OTHER"}, actor=person)

    assert problem_of(excinfo, "agreement_id").code == "read_only"


def test_clm_owned_agreement_needs_its_contract(legal_entity, clm_actor, vendor):
    with pytest.raises(ValidationFailed) as excinfo:
        agreement_create(
            legal_entity=legal_entity, data={"vendor": "V-1001"}, actor=clm_actor, ownership=AgreementOwnership.CLM
        )

    assert problem_of(excinfo, "contract_id").code == "required"


def test_clm_owned_agreement_links_its_contract(legal_entity, clm_actor, vendor):
    contract = factories.ContractFactory(legal_entity=legal_entity, contract_id="CON-77", vendor=vendor)

    agreement = agreement_create(
        legal_entity=legal_entity,
        data={"vendor": "V-1001", "contract_id": "CON-77"},
        actor=clm_actor,
        ownership=AgreementOwnership.CLM,
    )

    assert agreement.contract == contract


def test_unknown_contract_is_refused_naming_it(create_agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(contract_id="CON-404")

    assert "CON-404" in problem_of(excinfo, "contract_id").message


# --- Headers: responsible workers (name first, email as fallback) ----------------------


def test_responsible_worker_is_resolved_by_name(create_agreement, worker, legal_entity):
    factories.WorkerFactory(legal_entity=legal_entity, name="Other Person", email="other@contoso.com")

    agreement = create_agreement(
        primary_responsible_worker_name="April Meyer", primary_responsible_worker_email="other@contoso.com"
    )

    assert agreement.primary_responsible_worker == worker


def test_responsible_worker_is_resolved_by_email_when_the_name_is_unknown(create_agreement, worker):
    agreement = create_agreement(
        secondary_responsible_worker_name="A. Meyer", secondary_responsible_worker_email="april.meyer@contoso.com"
    )

    assert agreement.secondary_responsible_worker == worker


def test_unresolvable_responsible_worker_is_refused_naming_it(create_agreement, worker):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(
            primary_responsible_worker_name="Jamie Doe", primary_responsible_worker_email="jamie.doe@example.com"
        )

    message = problem_of(excinfo, "primary_responsible_worker_name").message
    assert "Jamie Doe" in message
    assert "jamie.doe@example.com" in message


def test_unresolvable_worker_email_is_refused_under_the_email_field(create_agreement):
    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(secondary_responsible_worker_email="nobody@example.com")

    assert "nobody@example.com" in problem_of(excinfo, "secondary_responsible_worker_email").message


def test_responsible_worker_of_another_legal_entity_is_refused(create_agreement, other_legal_entity):
    factories.WorkerFactory(legal_entity=other_legal_entity, name="Hans Weber", email="hans.weber@contoso.de")

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(primary_responsible_worker_name="Hans Weber")

    assert "Hans Weber" in problem_of(excinfo, "primary_responsible_worker_name").message


# --- Headers: numbering -----------------------------------------------------------------


def test_agreements_without_an_id_are_numbered_from_the_legal_entity_sequence(create_agreement):
    first, second = create_agreement(), create_agreement()

    assert (first.agreement_id, second.agreement_id) == ("PA-000001", "PA-000002")


def test_each_legal_entity_has_its_own_agreement_sequence(create_agreement, other_legal_entity):
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="V-1001")
    create_agreement()
    create_agreement()

    german = create_agreement(legal_entity="DEMF")

    assert german.agreement_id == "PA-000001"


def test_numbering_skips_an_id_already_taken(create_agreement, legal_entity):
    factories.AgreementFactory(legal_entity=legal_entity, agreement_id="PA-000001")

    assert create_agreement().agreement_id == "PA-000002"


def test_agreement_id_given_by_the_caller_is_kept(create_agreement):
    assert create_agreement(agreement_id="PA-CLM-0042").agreement_id == "PA-CLM-0042"


def test_agreement_id_already_used_in_the_legal_entity_is_refused(create_agreement):
    create_agreement(agreement_id="PA-CLM-0042")

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(agreement_id="PA-CLM-0042")

    assert problem_of(excinfo, "agreement_id").code == "conflict"
    assert PurchaseAgreement.objects.count() == 1


def test_agreement_id_longer_than_its_column_is_refused_with_a_problem(create_agreement):
    too_long = "PA-" + "9" * 40

    with pytest.raises(ValidationFailed) as excinfo:
        create_agreement(agreement_id=too_long)

    assert problem_of(excinfo, "agreement_id")
    assert not PurchaseAgreement.objects.exists()


# --- Lines: references ------------------------------------------------------------------


def test_quantity_line_resolves_its_item_and_takes_the_items_unit(add_line, item, unit):
    line = add_line()

    line.refresh_from_db()
    assert line.product == item
    assert line.unit == unit
    assert line.line_number == Decimal("1")
    assert line.committed_quantity == Decimal("100")


def test_line_references_resolve_in_the_agreements_legal_entity(add_line, item, warehouse, legal_entity):
    variant = factories.VariantFactory(legal_entity=legal_entity, product=item, variant_number="VAR-RED")
    project = factories.ProjectFactory(legal_entity=legal_entity, project_id="PRJ-9")

    line = add_line(product_variant="VAR-RED", project="PRJ-9", receiving_site="S1", receiving_warehouse="WH-11")

    assert (line.product_variant, line.project) == (variant, project)
    assert (line.receiving_site, line.receiving_warehouse) == (warehouse.site, warehouse)


OTHER_LEGAL_ENTITY_LINE_REFERENCES = [
    pytest.param("product", factories.ProductFactory, {"item_number": "I-DE-1"}, id="item"),
    pytest.param("product_variant", factories.VariantFactory, {"variant_number": "VAR-DE-1"}, id="variant"),
    pytest.param("project", factories.ProjectFactory, {"project_id": "PRJ-DE-1"}, id="project"),
    pytest.param("receiving_site", factories.SiteFactory, {"site_id": "DE-S1"}, id="site"),
    pytest.param("receiving_warehouse", factories.WarehouseFactory, {"warehouse_id": "DE-WH1"}, id="warehouse"),
]


@pytest.mark.parametrize(("field", "factory", "key"), OTHER_LEGAL_ENTITY_LINE_REFERENCES)
def test_line_reference_of_another_legal_entity_is_refused_naming_field_and_value(
    field, factory, key, add_line, other_legal_entity
):
    factory(legal_entity=other_legal_entity, **key)
    (value,) = key.values()

    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**{field: value})

    message = problem_of(excinfo, field).message
    assert value in message
    assert "USMF" in message
    assert not PurchaseAgreementLine.objects.exists()


def test_unknown_unit_is_refused_naming_it(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(unit="crate")

    assert '"crate"' in problem_of(excinfo, "unit").message


def test_unknown_category_is_refused_naming_it(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(CommitmentType.PRODUCT_CATEGORY, category="Spaceships"))

    assert '"Spaceships"' in problem_of(excinfo, "category").message


# --- Lines: rules by commitment type -----------------------------------------------------


def test_quantity_line_without_item_or_quantity_is_refused(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(product=None, committed_quantity=None)

    assert {p.field for p in excinfo.value.problems} == {"product", "committed_quantity"}


def test_quantity_line_with_an_amount_is_refused(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(committed_amount=Decimal("1000"))

    assert "committed_quantity" in problem_of(excinfo, "committed_amount").message


def test_volume_line_takes_an_item_and_an_amount(add_line, item):
    line = add_line(**value_line(CommitmentType.PRODUCT_VOLUME, product="I-1000"))

    assert (line.product, line.committed_amount, line.committed_quantity) == (item, Decimal("25000"), None)


def test_volume_line_without_an_item_is_refused(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(CommitmentType.PRODUCT_VOLUME))

    assert problem_of(excinfo, "product").code == "required"


@pytest.mark.parametrize(
    ("commitment_type", "subject"),
    [
        (CommitmentType.PRODUCT_VOLUME, {"product": "I-1000"}),
        (CommitmentType.PRODUCT_CATEGORY, {"category": "Office"}),
        (CommitmentType.PRODUCT_ROOT_CATEGORY, {"category": "Office"}),
    ],
)
def test_value_line_with_a_quantity_instead_of_an_amount_is_refused(commitment_type, subject, add_line, root_category):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(commitment_type, **subject, committed_amount=None, committed_quantity=5))

    assert problem_of(excinfo, "committed_amount").code == "required"
    assert "committed_amount" in problem_of(excinfo, "committed_quantity").message


def test_category_line_takes_a_category_and_an_amount(add_line, child_category):
    line = add_line(**value_line(CommitmentType.PRODUCT_CATEGORY, category="Office chairs"))

    assert line.category == child_category


@pytest.mark.parametrize("commitment_type", [CommitmentType.PRODUCT_CATEGORY, CommitmentType.PRODUCT_ROOT_CATEGORY])
def test_category_line_without_a_category_is_refused(commitment_type, add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(commitment_type))

    assert problem_of(excinfo, "category").code == "required"


def test_category_line_with_an_item_is_refused(add_line, child_category):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(CommitmentType.PRODUCT_CATEGORY, category="Office chairs", product="I-1000"))

    assert problem_of(excinfo, "product")


def test_root_category_line_takes_a_root_category(add_line, root_category):
    line = add_line(**value_line(CommitmentType.PRODUCT_ROOT_CATEGORY, category="Office"))

    assert line.category == root_category


def test_root_category_line_with_a_child_category_is_refused(add_line, child_category):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(CommitmentType.PRODUCT_ROOT_CATEGORY, category="Office chairs"))

    problem = problem_of(excinfo, "category")
    assert problem.code == "not_root"
    assert "Office chairs" in problem.message


def test_quantity_line_takes_price_and_discount_amount(add_line):
    line = add_line(price=Decimal("129.00"), price_quantity=1, line_discount_amount=Decimal("5"))

    assert (line.price, line.line_discount_amount) == (Decimal("129.00"), Decimal("5"))


@pytest.mark.parametrize("field", ["price", "price_quantity", "line_discount_amount"])
def test_price_fields_on_a_value_line_are_refused(field, add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(**value_line(CommitmentType.PRODUCT_VOLUME, product="I-1000", **{field: Decimal("1")}))

    assert "ProductQuantity" in problem_of(excinfo, field).message


@pytest.mark.parametrize("percentage", ["0", "100"])
def test_line_discount_percentage_within_0_to_100_is_accepted(percentage, add_line):
    line = add_line(line_discount_percentage=Decimal(percentage))

    assert line.line_discount_percentage == Decimal(percentage)


@pytest.mark.parametrize("percentage", ["-5", "150"])
def test_line_discount_percentage_outside_0_to_100_is_refused_with_a_problem(percentage, add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(line_discount_percentage=Decimal(percentage))

    assert percentage in problem_of(excinfo, "line_discount_percentage").message
    assert not PurchaseAgreementLine.objects.exists()


def test_negative_quantity_is_refused(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(committed_quantity=-3)

    assert problem_of(excinfo, "committed_quantity").code == "negative"


def test_release_amounts_may_be_equal(add_line):
    line = add_line(minimum_release_amount=Decimal("100"), maximum_release_amount=Decimal("100"))

    assert line.maximum_release_amount == Decimal("100")


def test_maximum_release_below_minimum_is_refused_naming_both(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(minimum_release_amount=Decimal("500"), maximum_release_amount=Decimal("100"))

    message = problem_of(excinfo, "maximum_release_amount").message
    assert "100" in message
    assert "500" in message


def test_variant_of_the_item_is_accepted(add_line, item):
    variant = factories.VariantFactory(product=item, variant_number="VAR-RED")

    assert add_line(product_variant="VAR-RED").product_variant == variant


def test_variant_of_another_item_is_refused(add_line, legal_entity):
    desk = factories.ProductFactory(legal_entity=legal_entity, item_number="I-2000")
    factories.VariantFactory(product=desk, variant_number="VAR-OAK")

    with pytest.raises(ValidationFailed) as excinfo:
        add_line(product_variant="VAR-OAK")

    message = problem_of(excinfo, "product_variant").message
    assert "VAR-OAK" in message
    assert "I-1000" in message


def test_warehouse_at_the_site_is_accepted(add_line, warehouse):
    assert add_line(receiving_site="S1", receiving_warehouse="WH-11").receiving_warehouse == warehouse


def test_warehouse_alone_brings_its_site(add_line, warehouse, site):
    assert add_line(receiving_warehouse="WH-11").receiving_site == site


def test_warehouse_at_another_site_is_refused(add_line, warehouse, legal_entity):
    factories.SiteFactory(legal_entity=legal_entity, site_id="S2")

    with pytest.raises(ValidationFailed) as excinfo:
        add_line(receiving_site="S2", receiving_warehouse="WH-11")

    message = problem_of(excinfo, "receiving_warehouse").message
    assert "WH-11" in message
    assert "S2" in message


def test_line_expiring_before_it_is_effective_is_refused(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(effective_date="2026-06-01", expiration_date="2026-05-01")

    assert problem_of(excinfo, "expiration_date").code == "date_order"


# --- Lines: numbering, addressing, updates --------------------------------------------


def test_lines_are_numbered_after_the_last_one(add_line):
    add_line(line_number=10)

    assert add_line().line_number == Decimal("11")


def test_line_number_already_on_the_agreement_is_refused(add_line):
    add_line(line_number=1)

    with pytest.raises(ValidationFailed) as excinfo:
        add_line(line_number=1)

    assert problem_of(excinfo, "line_number").code == "conflict"


def test_line_number_must_be_positive(add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(line_number=0)

    assert problem_of(excinfo, "line_number")
    assert not PurchaseAgreementLine.objects.exists()


def test_line_is_addressed_by_the_external_contract_id_at_creation(clm_agreement, clm_actor, item):
    line = line_create(
        legal_entity="USMF",
        external_contract_id=clm_agreement.external_contract_id,
        data={"product": "I-1000", "committed_quantity": 40},
        actor=clm_actor,
    )

    assert line.agreement == clm_agreement


def test_line_is_addressed_by_the_agreement_id_at_creation(scm_agreement, clm_actor, item):
    line = line_create(
        legal_entity="USMF",
        agreement_id="PA-SCM-1",
        data={"product": "I-1000", "committed_quantity": 40},
        actor=clm_actor,
    )

    assert line.agreement == scm_agreement


def test_unknown_external_contract_id_is_refused_naming_it(clm_actor, legal_entity):
    with pytest.raises(ValidationFailed) as excinfo:
        line_create(
            legal_entity="USMF", external_contract_id="clm-404", data={"committed_quantity": 1}, actor=clm_actor
        )

    assert '"clm-404"' in problem_of(excinfo, "external_contract_id").message


def test_external_contract_id_of_another_legal_entity_does_not_find_the_agreement(
    clm_agreement, clm_actor, other_legal_entity
):
    with pytest.raises(ValidationFailed) as excinfo:
        line_create(
            legal_entity="DEMF",
            external_contract_id=clm_agreement.external_contract_id,
            data={"committed_quantity": 1},
            actor=clm_actor,
        )

    assert problem_of(excinfo, "external_contract_id").code == "not_found"


def test_line_update_changes_the_fields_given(add_line, clm_actor):
    line = add_line()

    line_update(line=line, data={"committed_quantity": 250, "financial_dimensions": "CC-100"}, actor=clm_actor)

    line.refresh_from_db()
    assert (line.committed_quantity, line.financial_dimensions) == (Decimal("250"), "CC-100")


def test_line_update_to_a_value_commitment_needs_an_amount(add_line, clm_actor):
    line = add_line()

    with pytest.raises(ValidationFailed) as excinfo:
        line_update(line=line, data={"commitment_type": CommitmentType.PRODUCT_VOLUME}, actor=clm_actor)

    assert problem_of(excinfo, "committed_amount").code == "required"
    line.refresh_from_db()
    assert line.commitment_type == CommitmentType.PRODUCT_QUANTITY


def test_line_number_cannot_be_changed(add_line, clm_actor):
    line = add_line()

    with pytest.raises(ValidationFailed) as excinfo:
        line_update(line=line, data={"line_number": 7}, actor=clm_actor)

    assert problem_of(excinfo, "line_number").code == "read_only"


def test_every_problem_of_a_line_is_reported_at_once(add_line, item):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(product="I-404", receiving_site="S-404", minimum_release_amount=500, maximum_release_amount=100)

    problems = excinfo.value.problems
    assert sorted(p.field for p in problems) == ["maximum_release_amount", "product", "receiving_site"]
    assert "I-404" in problem_of(excinfo, "product").message
    assert "S-404" in problem_of(excinfo, "receiving_site").message


def test_preparing_a_line_checks_it_and_saves_nothing(scm_agreement, clm_actor, item):
    values = line_prepare(agreement=scm_agreement, data={"product": "I-1000", "committed_quantity": 1}, actor=clm_actor)

    assert values["product"] == item
    assert not PurchaseAgreementLine.objects.exists()


# --- CLM-owned agreements are protected (SPEC §6.4) -------------------------------------

EDITABLE_HEADER_VALUES = {
    "vendor_reference": "FAB-QUOTE-2291",
    "external_document_reference": "EXT-DOC-17",
    "line_matching_policy": LineMatchingPolicy.THREE_WAY,
    "delivery_address": "1 Microsoft Way, Redmond",
    "payment_specification": "SEPA",
    "charges_group": "FREIGHT",
    "mode_of_delivery": "Truck",
    "buyer_group": "BG-IT",
    "pool": "Rush",
    "shipping_carrier": "UPS",
    "carrier_service": "Ground",
    "carrier_group": "Parcel",
    "transport_mode": "Road",
    "route_plan": "West",
    "transportation_template": "Standard",
    "financial_dimensions": "CC-100-DEPT-20",
}


def stored_value(agreement, field):
    value = getattr(agreement, field)
    return value.group_id if field == "buyer_group" else value


@pytest.mark.parametrize("field", CLM_OWNED_EDITABLE_HEADER_FIELDS)
def test_person_may_change_the_editable_fields_of_a_clm_owned_agreement(field, clm_agreement, person, legal_entity):
    factories.BuyerGroupFactory(legal_entity=legal_entity, group_id="BG-IT")

    agreement_update(agreement=clm_agreement, data={field: EDITABLE_HEADER_VALUES[field]}, actor=person)

    clm_agreement.refresh_from_db()
    assert stored_value(clm_agreement, field) == EDITABLE_HEADER_VALUES[field]
    assert clm_agreement.changed_by == "user:buyer"


PROTECTED_HEADER_CHANGES = [
    pytest.param("document_title", "Renamed by a buyer", id="title"),
    pytest.param("vendor", "V-2002", id="vendor"),
    pytest.param("default_effective_date", "2026-02-01", id="effective-date"),
    pytest.param("default_expiration_date", "2030-12-31", id="expiration-date"),
    pytest.param("status", AgreementStatus.CLOSED, id="status"),
    pytest.param("currency", "EUR", id="currency"),
]


@pytest.mark.parametrize(("field", "value"), PROTECTED_HEADER_CHANGES)
def test_person_may_not_change_the_clm_owned_fields(field, value, clm_agreement, person, legal_entity):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-2002")
    factories.CurrencyFactory(code="EUR", name="Euro")
    before = PurchaseAgreement.objects.values().get(pk=clm_agreement.pk)

    with pytest.raises(ValidationFailed) as excinfo:
        agreement_update(agreement=clm_agreement, data={field: value}, actor=person)

    assert problem_of(excinfo, field).code == "protected"
    assert PurchaseAgreement.objects.values().get(pk=clm_agreement.pk) == before


def test_a_protected_change_refuses_the_whole_edit(clm_agreement, person):
    with pytest.raises(ValidationFailed):
        agreement_update(
            agreement=clm_agreement, data={"vendor_reference": "FAB-1", "document_title": "Renamed"}, actor=person
        )

    clm_agreement.refresh_from_db()
    assert (clm_agreement.vendor_reference, clm_agreement.document_title) == ("", "Office chairs 2026")


def test_person_may_resubmit_protected_fields_unchanged(clm_agreement, person):
    """A form posts every field; only the ones that differ count as changes."""
    agreement_update(
        agreement=clm_agreement,
        data={"document_title": "Office chairs 2026", "vendor": "V-1001", "vendor_reference": "FAB-1"},
        actor=person,
    )

    clm_agreement.refresh_from_db()
    assert clm_agreement.vendor_reference == "FAB-1"


@pytest.fixture
def clm_line(clm_agreement, item):
    return factories.LineFactory(agreement=clm_agreement, product=item, line_number=Decimal("1"))


def test_person_may_change_the_financial_dimensions_of_a_clm_owned_line(clm_line, person):
    line_update(line=clm_line, data={"financial_dimensions": "CC-200"}, actor=person)

    clm_line.refresh_from_db()
    assert clm_line.financial_dimensions == "CC-200"


def test_person_may_not_change_the_quantity_of_a_clm_owned_line(clm_line, person):
    with pytest.raises(ValidationFailed) as excinfo:
        line_update(line=clm_line, data={"committed_quantity": 999}, actor=person)

    assert problem_of(excinfo, "committed_quantity").code == "protected"
    clm_line.refresh_from_db()
    assert clm_line.committed_quantity == Decimal("100")


def test_person_may_not_add_a_line_to_a_clm_owned_agreement(clm_agreement, person, add_line):
    with pytest.raises(ValidationFailed) as excinfo:
        add_line(agreement=clm_agreement, actor=person)

    assert problem_of(excinfo, "agreement_id").code == "protected"
    assert not clm_agreement.lines.exists()


def test_person_may_not_delete_a_line_of_a_clm_owned_agreement(clm_line, person):
    with pytest.raises(ValidationFailed) as excinfo:
        line_delete(line=clm_line, actor=person)

    assert problem_of(excinfo, "line_number").code == "protected"
    assert PurchaseAgreementLine.objects.filter(pk=clm_line.pk).exists()


def test_person_may_not_delete_a_clm_owned_agreement(clm_agreement, person):
    with pytest.raises(ValidationFailed) as excinfo:
        agreement_delete(agreement=clm_agreement, actor=person)

    assert problem_of(excinfo, "agreement_id").code == "protected"
    assert PurchaseAgreement.objects.filter(pk=clm_agreement.pk).exists()


def test_integration_may_change_everything_on_a_clm_owned_agreement(clm_agreement, clm_line, clm_actor, add_line):
    agreement_update(
        agreement=clm_agreement,
        data={"document_title": "Office chairs 2026 (amended)", "default_expiration_date": "2028-12-31"},
        actor=clm_actor,
    )
    line_update(line=clm_line, data={"committed_quantity": 150}, actor=clm_actor)
    added = add_line(agreement=clm_agreement, actor=clm_actor)

    clm_agreement.refresh_from_db()
    clm_line.refresh_from_db()
    assert clm_agreement.document_title == "Office chairs 2026 (amended)"
    assert clm_agreement.default_expiration_date == datetime.date(2028, 12, 31)
    assert clm_line.committed_quantity == Decimal("150")
    assert added.line_number == Decimal("2")


def test_integration_may_delete_lines_and_the_clm_owned_agreement(clm_agreement, clm_line, clm_actor):
    line_delete(line=clm_line, actor=clm_actor)
    agreement_delete(agreement=clm_agreement, actor=clm_actor)

    assert not PurchaseAgreement.objects.filter(pk=clm_agreement.pk).exists()


def test_person_may_edit_everything_on_an_scm_owned_agreement(scm_agreement, person, add_line, legal_entity):
    factories.VendorFactory(legal_entity=legal_entity, account_number="V-2002")

    agreement_update(
        agreement=scm_agreement,
        data={
            "document_title": "Printer paper 2027",
            "vendor": "V-2002",
            "default_effective_date": "2027-01-01",
            "default_expiration_date": "2027-12-31",
            "status": AgreementStatus.ON_HOLD,
        },
        actor=person,
    )
    line = add_line(actor=person)
    line_update(line=line, data={"committed_quantity": 5}, actor=person)

    scm_agreement.refresh_from_db()
    assert scm_agreement.document_title == "Printer paper 2027"
    assert scm_agreement.vendor.account_number == "V-2002"
    assert scm_agreement.status == AgreementStatus.ON_HOLD
    line_delete(line=line, actor=person)
    agreement_delete(agreement=scm_agreement, actor=person)
    assert not PurchaseAgreement.objects.exists()


@pytest.mark.parametrize("field", ["vendor", "currency"])
def test_clearing_a_required_reference_of_an_agreement_is_refused(scm_agreement, person, field):
    with pytest.raises(ValidationFailed) as refused:
        agreement_update(agreement=scm_agreement, data={field: None}, actor=person)

    assert [(p.field, p.code) for p in refused.value.problems] == [(field, "required")]
    scm_agreement.refresh_from_db()
    assert getattr(scm_agreement, f"{field}_id") is not None


def test_responsible_worker_can_be_named_by_personnel_number_even_when_names_repeat(scm_agreement, person):
    twin = factories.WorkerFactory(legal_entity=scm_agreement.legal_entity, name="Alex Kim", email="")
    factories.WorkerFactory(legal_entity=scm_agreement.legal_entity, name="Alex Kim", email="")

    agreement_update(agreement=scm_agreement, data={"primary_responsible_worker": twin.personnel_number}, actor=person)

    scm_agreement.refresh_from_db()
    assert scm_agreement.primary_responsible_worker == twin
