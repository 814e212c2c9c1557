"""Master data for the CLM with change tracking (SPEC §3.1, §8.4).

A client reads a full snapshot once, then asks only for what changed since the cursor it
got last: each changed record once, at its latest state, deletions included, in the
order of the changes, paged; cursors are signed, and legal entities scope everything.
"""

import pytest
from django.db import transaction

from contracts.choices import ApiClientRole, ChangeOperation
from contracts.models import (
    TRACKED_ENTITIES,
    ChangeLog,
    DeliveryTerms,
    LegalEntity,
    PaymentSchedule,
    Vendor,
    VendorPaymentMethod,
)
from contracts.tests import factories

pytestmark = pytest.mark.django_db

USMF = {"legal_entity": "USMF"}


def read(api, entity: str, **params):
    response = api.get(f"/api/v1/master-data/{entity}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def changes_since(api, cursor: str, entity: str = "vendors", **params):
    return read(api, entity, changed_since=cursor, **{**USMF, **params})


def accounts(page) -> list:
    return [(item["account_number"], item["deleted"]) for item in page["results"]]


def test_changes_since_a_cursor_are_each_changed_record_at_its_latest_state(reader_api, legal_entity):
    # Given vendors A and B, read in a snapshot that hands out a cursor
    vendor_a = factories.VendorFactory(legal_entity=legal_entity, account_number="A", name="Alpha")
    vendor_b = factories.VendorFactory(legal_entity=legal_entity, account_number="B")
    snapshot = read(reader_api, "vendors", **USMF)
    assert accounts(snapshot) == [("A", False), ("B", False)]
    cursor1 = snapshot["next_cursor"]

    # When A changes, B goes and C comes
    vendor_a.name = "Alpha Renamed"
    vendor_a.save()
    vendor_b.delete()
    factories.VendorFactory(legal_entity=legal_entity, account_number="C")

    # Then the changes since cursor1 are A with its new values, B deleted, and C, in that order
    page = changes_since(reader_api, cursor1)
    assert accounts(page) == [("A", False), ("B", True), ("C", False)]
    assert page["results"][0]["name"] == "Alpha Renamed"
    assert page["results"][1] == {"deleted": True, "legal_entity": "USMF", "account_number": "B"}
    assert page["next"] is None

    # And nothing changed since the cursor that answer gave
    assert changes_since(reader_api, page["next_cursor"])["results"] == []


def test_a_record_changed_many_times_comes_once_at_its_latest_change(reader_api, legal_entity):
    cursor = read(reader_api, "vendors", **USMF)["next_cursor"]
    vendor_a = factories.VendorFactory(legal_entity=legal_entity, account_number="A")
    vendor_b = factories.VendorFactory(legal_entity=legal_entity, account_number="B")
    for name in ("one", "two", "three"):
        vendor_a.name = name
        vendor_a.save()

    page = changes_since(reader_api, cursor)

    assert accounts(page) == [("B", False), ("A", False)]
    assert page["results"][1]["name"] == "three"
    vendor_b.delete()
    assert accounts(changes_since(reader_api, cursor)) == [("A", False), ("B", True)]


def test_a_changed_natural_key_is_the_old_key_deleted_and_the_new_one_upserted(reader_api, legal_entity):
    vendor = factories.VendorFactory(legal_entity=legal_entity, account_number="OLD")
    cursor = read(reader_api, "vendors", **USMF)["next_cursor"]

    vendor.account_number = "NEW"
    vendor.save()

    assert accounts(changes_since(reader_api, cursor)) == [("OLD", True), ("NEW", False)]


def test_a_changed_set_larger_than_a_page_is_paged_in_change_order_without_gaps(reader_api, legal_entity):
    cursor = read(reader_api, "vendors", **USMF)["next_cursor"]
    vendors = [factories.VendorFactory(legal_entity=legal_entity, account_number=f"V{n}") for n in range(7)]
    vendors[0].name = "changed last"
    vendors[0].save()

    seen, page, pages = [], changes_since(reader_api, cursor, page_size=3), 1
    seen += accounts(page)
    while page["next"]:
        page = reader_api.get(page["next"]).json()
        seen += accounts(page)
        pages += 1

    assert pages == 3
    assert [account for account, _ in seen] == ["V1", "V2", "V3", "V4", "V5", "V6", "V0"]
    assert changes_since(reader_api, page["next_cursor"])["results"] == []


def test_the_next_page_of_changes_continues_after_the_last_item_even_while_records_change(reader_api, legal_entity):
    cursor = read(reader_api, "vendors", **USMF)["next_cursor"]
    first, second, third = (factories.VendorFactory(legal_entity=legal_entity, account_number=n) for n in "XYZ")

    page = changes_since(reader_api, cursor, page_size=2)
    assert accounts(page) == [("X", False), ("Y", False)]
    first.name = "changed between pages"
    first.save()
    rest = reader_api.get(page["next"]).json()

    assert accounts(rest) == [("Z", False), ("X", False)]
    assert rest["results"][1]["name"] == "changed between pages"


def test_a_snapshot_is_paged_and_its_cursor_catches_what_changed_during_it(reader_api, legal_entity):
    vendors = [factories.VendorFactory(legal_entity=legal_entity, account_number=f"S{n}") for n in range(3)]

    first = read(reader_api, "vendors", page_size=2, **USMF)
    vendors[0].name = "changed during the snapshot"
    vendors[0].save()
    last = reader_api.get(first["next"]).json()

    assert accounts(first) + accounts(last) == [("S0", False), ("S1", False), ("S2", False)]
    assert last["next"] is None
    assert last["next_cursor"] == first["next_cursor"]
    assert accounts(changes_since(reader_api, last["next_cursor"])) == [("S0", False)]


@pytest.mark.parametrize(
    "params",
    [
        {"changed_since": "made-up"},
        {"changed_since": "eyJzZXEiOjB9:1tamper:tampered-signature"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_a_made_up_cursor_is_a_400(reader_api, params):
    response = reader_api.get("/api/v1/master-data/vendors/", {**USMF, **params})

    assert response.status_code == 400
    [problem] = response.json()["errors"]
    assert (problem["field"], problem["code"]) == (next(iter(params)), "invalid")


def test_a_tampered_cursor_is_a_400(reader_api, legal_entity):
    cursor = read(reader_api, "vendors", **USMF)["next_cursor"]
    value, signature = cursor.rsplit(":", 1)
    tampered = f"{value}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"

    response = reader_api.get("/api/v1/master-data/vendors/", {**USMF, "changed_since": tampered})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "changed_since"


def test_a_snapshot_cursor_of_another_entity_is_a_400(reader_api, legal_entity):
    factories.WorkerFactory.create_batch(3, legal_entity=legal_entity)
    next_url = read(reader_api, "workers", page_size=1, **USMF)["next"]

    response = reader_api.get(next_url.replace("/workers/", "/vendors/"))

    assert response.status_code == 400


def test_another_legal_entitys_changes_never_appear(api_client_for, legal_entity, other_legal_entity):
    usmf_reader = api_client_for(ApiClientRole.READ_ONLY, legal_entities=[legal_entity])
    cursor = read(usmf_reader, "vendors", **USMF)["next_cursor"]
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="DE-1").delete()
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="DE-2")
    factories.VendorFactory(legal_entity=legal_entity, account_number="US-1")

    assert accounts(changes_since(usmf_reader, cursor)) == [("US-1", False)]
    assert accounts(read(usmf_reader, "vendors", cross_company="true")) == [("US-1", False)]
    denied = usmf_reader.get("/api/v1/master-data/vendors/", {"legal_entity": "DEMF", "changed_since": cursor})
    assert denied.status_code == 403
    assert usmf_reader.get("/api/v1/master-data/vendors/").json()["errors"][0]["code"] == "scope_required"

    everywhere = api_client_for(ApiClientRole.READ_ONLY, cross_company=True)
    everything = read(everywhere, "vendors", changed_since=cursor, cross_company="true")
    assert accounts(everything) == [("DE-1", True), ("DE-2", False), ("US-1", False)]
    assert everything["results"][0]["legal_entity"] == "DEMF"


def test_shared_master_data_needs_no_legal_entity_and_legal_entities_are_the_granted_ones(
    reader_api, legal_entity, other_legal_entity
):
    root = factories.CategoryFactory(name="Office")
    factories.CategoryFactory(name="Chairs", parent=root)

    categories = read(reader_api, "procurement-categories")["results"]
    legal_entities = read(reader_api, "legal-entities")["results"]

    assert [(c["name"], c["parent"], c["is_root"]) for c in categories] == [
        ("Office", None, True),
        ("Chairs", "Office", False),
    ]
    assert [entity["code"] for entity in legal_entities] == ["USMF"]


def test_a_deleted_shared_record_is_a_change_too(reader_api):
    cursor = read(reader_api, "currencies")["next_cursor"]
    factories.CurrencyFactory(code="EUR", name="Euro").delete()

    assert read(reader_api, "currencies", changed_since=cursor)["results"] == [{"deleted": True, "code": "EUR"}]


def make_record(entity: str, legal_entity: LegalEntity):
    """One record of each master-data entity, in USMF where it belongs to a legal entity."""
    in_usmf = {"legal_entity": legal_entity}
    makers = {
        "legal-entities": lambda: legal_entity,
        "countries": lambda: factories.CountryFactory(code="USA"),
        "currencies": lambda: factories.CurrencyFactory(code="USD"),
        "units": lambda: factories.UnitFactory(symbol="ea"),
        "procurement-categories": lambda: factories.CategoryFactory(
            name="Chairs", parent=factories.CategoryFactory(name="Office")
        ),
        "payment-terms": lambda: factories.PaymentTermsFactory(**in_usmf),
        "cash-discounts": lambda: factories.CashDiscountFactory(**in_usmf),
        "delivery-terms": lambda: DeliveryTerms.objects.create(code="FOB", **in_usmf),
        "vendor-payment-methods": lambda: VendorPaymentMethod.objects.create(name="CHECK", **in_usmf),
        "payment-schedules": lambda: PaymentSchedule.objects.create(name="3-PAYMENTS", **in_usmf),
        "vendors": lambda: factories.VendorFactory(**in_usmf),
        "contact-persons": lambda: factories.ContactPersonFactory(**in_usmf),
        "workers": lambda: factories.WorkerFactory(**in_usmf),
        "released-products": lambda: factories.ProductFactory(**in_usmf),
        "product-variants": lambda: factories.VariantFactory(**in_usmf),
        "sites": lambda: factories.SiteFactory(**in_usmf),
        "warehouses": lambda: factories.WarehouseFactory(**in_usmf),
        "projects": lambda: factories.ProjectFactory(**in_usmf),
        "agreement-classifications": lambda: factories.ClassificationFactory(**in_usmf),
        "buyer-groups": lambda: factories.BuyerGroupFactory(**in_usmf),
    }
    return makers[entity]()


def test_every_master_data_entity_of_the_spec_has_an_endpoint():
    assert len(TRACKED_ENTITIES) == 20


@pytest.mark.parametrize("entity", TRACKED_ENTITIES, ids=lambda entity: entity.name)
def test_every_master_data_entity_reads_as_a_snapshot_and_as_changes(reader_api, legal_entity, entity):
    scope = USMF if entity.per_legal_entity else {}
    cursor = read(reader_api, entity.name, **scope)["next_cursor"]
    if entity.model is LegalEntity:
        legal_entity.name = "Renamed"
        legal_entity.save()
    record = make_record(entity.name, legal_entity)
    key = getattr(record, entity.key)

    snapshot = read(reader_api, entity.name, **scope)["results"]
    changes = read(reader_api, entity.name, changed_since=cursor, **scope)["results"]

    assert key in [item[entity.key] for item in snapshot]
    assert key in [item[entity.key] for item in changes]
    item = next(item for item in changes if item[entity.key] == key)
    assert item["deleted"] is False
    if entity.per_legal_entity:
        assert item["legal_entity"] == "USMF"


def test_references_are_shown_by_their_natural_keys(reader_api, legal_entity):
    product = factories.VariantFactory(legal_entity=legal_entity, variant_number="VAR-1").product

    [variant] = read(reader_api, "product-variants", **USMF)["results"]

    assert variant["product"] == product.item_number


def test_people_need_the_view_permission_of_the_entity(person_for, legal_entity):
    factories.VendorFactory(legal_entity=legal_entity)
    without = person_for(legal_entities=[legal_entity], permissions=())
    allowed = person_for(legal_entities=[legal_entity], permissions=("view_vendor",))

    assert without.get("/api/v1/master-data/vendors/", USMF).status_code == 403
    assert allowed.get("/api/v1/master-data/vendors/", USMF).status_code == 200


def test_the_change_log_is_written_in_the_transaction_of_the_change(legal_entity):
    logged = ChangeLog.objects.filter(entity="vendors", natural_key="ROLLED-BACK")

    with pytest.raises(RuntimeError), transaction.atomic():
        factories.VendorFactory(legal_entity=legal_entity, account_number="ROLLED-BACK")
        assert logged.count() == 1
        raise RuntimeError

    assert logged.count() == 0
    assert not Vendor.objects.filter(account_number="ROLLED-BACK").exists()


def test_the_change_log_names_the_record_by_its_natural_key(legal_entity):
    vendor = factories.VendorFactory(legal_entity=legal_entity, account_number="V-9")
    vendor.delete()

    logged = list(ChangeLog.objects.filter(entity="vendors").values_list("natural_key", "legal_entity", "operation"))

    assert logged == [
        ("V-9", legal_entity.pk, ChangeOperation.UPSERT),
        ("V-9", legal_entity.pk, ChangeOperation.DELETE),
    ]
