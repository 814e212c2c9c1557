"""The Django admin (SPEC §7): every model is there, contracts are view-only, and purchase
agreements obey the services' rules, CLM-owned ones included (SPEC §6.4)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.forms import CheckboxInput, modelform_factory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts import models
from contracts.choices import AgreementOwnership, CommitmentType, ContractStatus
from contracts.forms import show_problems_on_form
from contracts.services import Problem, ValidationFailed
from contracts.tests import factories

pytestmark = pytest.mark.django_db

CONTRACTS_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "contracts"), key=lambda m: m._meta.label
)
VIEW_ONLY_MODELS = {
    models.Contract,
    models.ContractStatusChange,
    models.ChangeLog,
    models.IdempotencyRecord,
    models.AuditEntry,
}


def admin_url(model_or_obj, view: str, *args) -> str:
    opts = model_or_obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def change_url(obj) -> str:
    return admin_url(obj, "change", obj.pk)


def form_data(page) -> dict:
    """What an admin change or add page posts back when nothing is touched."""
    forms_on_page = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms_on_page += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms_on_page:
        for field in form:
            value = field.value()
            if isinstance(field.field.widget, CheckboxInput):
                if value:
                    data[field.html_name] = "on"
            else:
                data[field.html_name] = "" if value is None else value
    return data


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


@pytest.fixture
def one_of_everything(legal_entity, admin_user):
    """A record of every contracts model, so that list pages render real rows."""
    root = factories.CategoryFactory(name="Office")
    factories.CategoryFactory(name="Paper", parent=root)
    factories.CountryFactory()
    factories.PaymentTermsFactory(legal_entity=legal_entity)
    factories.CashDiscountFactory(legal_entity=legal_entity)
    models.DeliveryTerms.objects.create(legal_entity=legal_entity, code="FOB")
    models.VendorPaymentMethod.objects.create(legal_entity=legal_entity, name="Check")
    models.PaymentSchedule.objects.create(legal_entity=legal_entity, name="Monthly")
    factories.ContactPersonFactory(legal_entity=legal_entity)
    factories.WorkerFactory(legal_entity=legal_entity)
    factories.VariantFactory(legal_entity=legal_entity)
    factories.WarehouseFactory(legal_entity=legal_entity)
    factories.ProjectFactory(legal_entity=legal_entity)
    factories.ClassificationFactory(legal_entity=legal_entity)
    factories.BuyerGroupFactory(legal_entity=legal_entity)
    contract = factories.ContractFactory(legal_entity=legal_entity, status=ContractStatus.EXECUTED)
    models.ContractStatusChange.objects.create(
        contract=contract, from_status=ContractStatus.DRAFT, to_status=ContractStatus.EXECUTED
    )
    agreement = factories.AgreementFactory(
        legal_entity=legal_entity, ownership=AgreementOwnership.CLM, contract=contract
    )
    factories.LineFactory(legal_entity=legal_entity, agreement=agreement)
    models.AgreementNumberSequence.objects.create(legal_entity=legal_entity)
    models.LegalEntityGrant.objects.create(user=admin_user, legal_entity=legal_entity)
    client = models.ApiClient.objects.create(name="reporting", key_prefix="0123abcd", key_hash="0" * 64)
    models.IdempotencyRecord.objects.create(
        api_client=client,
        key="k-1",
        method="POST",
        path="/api/v1/contracts/",
        request_hash="0" * 64,
        response_status=201,
        response_body={"contract_id": "C-1"},
    )


# --- Every model is in the admin --------------------------------------------------------


@pytest.mark.parametrize("model", CONTRACTS_MODELS, ids=lambda model: model._meta.label)
def test_every_list_page_loads(admin_client, one_of_everything, model):
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", CONTRACTS_MODELS, ids=lambda model: model._meta.label)
def test_every_add_page_loads_except_for_view_only_records(admin_client, model):
    expected = 403 if model in VIEW_ONLY_MODELS else 200
    assert admin_client.get(admin_url(model, "add")).status_code == expected


@pytest.mark.parametrize("model", CONTRACTS_MODELS, ids=lambda model: model._meta.label)
def test_every_change_page_loads(admin_client, one_of_everything, model):
    record = model._default_manager.first()
    assert admin_client.get(change_url(record)).status_code == 200


def count_list_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(admin_url(model, "changelist")).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "factory",
    [
        factories.ContractFactory,
        factories.AgreementFactory,
        factories.VendorFactory,
        factories.ContactPersonFactory,
        factories.VariantFactory,
        factories.WarehouseFactory,
    ],
    ids=lambda factory: factory._meta.model.__name__,
)
def test_list_pages_do_not_query_once_per_row(admin_client, legal_entity, factory):
    factory(legal_entity=legal_entity)
    with_one_row = count_list_queries(admin_client, factory._meta.model)
    factory.create_batch(5, legal_entity=legal_entity)
    assert count_list_queries(admin_client, factory._meta.model) == with_one_row


# --- Contracts are read-only (SPEC §3.3) ---------------------------------------------


@pytest.fixture
def executed_contract(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity, status=ContractStatus.EXECUTED, name="Paper supply")
    models.ContractStatusChange.objects.create(
        contract=contract, from_status=ContractStatus.DRAFT, to_status=ContractStatus.EXECUTED, changed_by="connector:x"
    )
    return contract


def test_contract_page_is_view_only_and_shows_the_status_history(admin_client, executed_contract):
    page = admin_client.get(change_url(executed_contract))

    assert page.status_code == 200
    assert b"Status history" in page.content
    assert b"connector:x" in page.content
    assert b'name="_save"' not in page.content
    assert b'name="name"' not in page.content


def test_contract_cannot_be_changed_by_posting_to_its_page(admin_client, executed_contract):
    response = admin_client.post(change_url(executed_contract), {"name": "Hijacked", "status": ContractStatus.DRAFT})

    assert response.status_code == 403
    executed_contract.refresh_from_db()
    assert (executed_contract.name, executed_contract.status) == ("Paper supply", ContractStatus.EXECUTED)


def test_contract_cannot_be_added_or_deleted(admin_client, executed_contract):
    delete_url = admin_url(models.Contract, "delete", executed_contract.pk)

    assert admin_client.get(admin_url(models.Contract, "add")).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert models.Contract.objects.filter(pk=executed_contract.pk).exists()


def test_contract_list_shows_the_status_with_its_colour(admin_client, executed_contract):
    page = admin_client.get(admin_url(models.Contract, "changelist"))

    assert b"status-green" in page.content
    assert b"Executed" in page.content


# --- CLM-owned agreements are protected (SPEC §6.4) ----------------------------------


@pytest.fixture
def clm_agreement(legal_entity):
    contract = factories.ContractFactory(legal_entity=legal_entity, status=ContractStatus.EXECUTED)
    agreement = factories.AgreementFactory(
        legal_entity=legal_entity,
        ownership=AgreementOwnership.CLM,
        contract=contract,
        document_title="Paper framework",
        vendor_reference="",
    )
    factories.LineFactory(legal_entity=legal_entity, agreement=agreement, line_number=Decimal(1))
    return agreement


def test_people_can_change_the_vendor_reference_of_a_clm_owned_agreement(admin_client, clm_agreement):
    data = form_data(admin_client.get(change_url(clm_agreement)))
    data["vendor_reference"] = "VR-42"

    response = admin_client.post(change_url(clm_agreement), data)

    assert response.status_code == 302
    clm_agreement.refresh_from_db()
    assert clm_agreement.vendor_reference == "VR-42"
    assert clm_agreement.changed_by == "user:admin"


def test_document_title_of_a_clm_owned_agreement_cannot_be_changed(admin_client, clm_agreement):
    page = admin_client.get(change_url(clm_agreement))
    assert b'name="document_title"' not in page.content
    data = form_data(page)
    data["document_title"] = "Rewritten by hand"

    admin_client.post(change_url(clm_agreement), data)

    clm_agreement.refresh_from_db()
    assert clm_agreement.document_title == "Paper framework"


def test_clm_owned_agreement_cannot_be_deleted(admin_client, clm_agreement):
    page = admin_client.get(change_url(clm_agreement))
    delete_url = admin_url(clm_agreement, "delete", clm_agreement.pk)

    assert delete_url.encode() not in page.content
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert models.PurchaseAgreement.objects.filter(pk=clm_agreement.pk).exists()


def test_bulk_delete_refuses_clm_owned_agreements(admin_client, clm_agreement):
    changelist = admin_url(models.PurchaseAgreement, "changelist")
    selection = {"action": "delete_selected", "_selected_action": [clm_agreement.pk]}

    confirmation = admin_client.post(changelist, selection)
    confirmed_anyway = admin_client.post(changelist, {**selection, "post": "yes"})

    assert b"Cannot delete" in confirmation.content
    assert confirmed_anyway.status_code == 403
    assert models.PurchaseAgreement.objects.filter(pk=clm_agreement.pk).exists()


def test_lines_cannot_be_added_to_a_clm_owned_agreement(admin_client, clm_agreement, legal_entity):
    page = admin_client.get(change_url(clm_agreement))
    assert not page.context["inline_admin_formsets"][0].has_add_permission
    data = form_data(page)
    product = factories.ProductFactory(legal_entity=legal_entity)
    data.update(
        {
            "lines-TOTAL_FORMS": "2",
            "lines-1-commitment_type": CommitmentType.PRODUCT_QUANTITY,
            "lines-1-product": product.pk,
            "lines-1-committed_quantity": "5",
        }
    )

    admin_client.post(change_url(clm_agreement), data)

    assert clm_agreement.lines.count() == 1


def test_only_financial_dimensions_of_a_clm_owned_line_can_be_changed(admin_client, clm_agreement):
    data = form_data(admin_client.get(change_url(clm_agreement)))
    data["lines-0-financial_dimensions"] = "CC-100"
    data["lines-0-committed_quantity"] = "999"

    response = admin_client.post(change_url(clm_agreement), data)

    assert response.status_code == 302
    line = clm_agreement.lines.get()
    assert line.financial_dimensions == "CC-100"
    assert line.committed_quantity == Decimal("100")


# --- SCM-owned agreements go through the services ------------------------------------


@pytest.fixture
def scm_agreement(legal_entity):
    return factories.AgreementFactory(
        legal_entity=legal_entity,
        default_effective_date=datetime.date(2026, 1, 1),
        default_expiration_date=datetime.date(2027, 12, 31),
    )


def test_agreement_with_expiration_before_effective_date_shows_the_service_message(admin_client, scm_agreement):
    data = form_data(admin_client.get(change_url(scm_agreement)))
    data["default_expiration_date"] = "2025-06-30"
    data["document_title"] = "Not saved either"

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 200
    assert form_errors(response)["default_expiration_date"] == [
        "2025-06-30 is before default effective date 2026-01-01."
    ]
    scm_agreement.refresh_from_db()
    assert scm_agreement.default_expiration_date == datetime.date(2027, 12, 31)
    assert scm_agreement.document_title != "Not saved either"


def test_valid_edit_of_an_scm_agreement_is_saved(admin_client, scm_agreement):
    data = form_data(admin_client.get(change_url(scm_agreement)))
    data["default_expiration_date"] = "2028-06-30"

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 302
    scm_agreement.refresh_from_db()
    assert scm_agreement.default_expiration_date == datetime.date(2028, 6, 30)
    assert scm_agreement.changed_by == "user:admin"


def test_vendor_of_another_legal_entity_is_refused_on_the_vendor_field(admin_client, scm_agreement, other_legal_entity):
    foreign_vendor = factories.VendorFactory(legal_entity=other_legal_entity)
    data = form_data(admin_client.get(change_url(scm_agreement)))
    data["vendor"] = foreign_vendor.pk

    response = admin_client.post(change_url(scm_agreement), data)

    assert "belongs to another legal entity" in form_errors(response)["vendor"][0]
    scm_agreement.refresh_from_db()
    assert scm_agreement.vendor != foreign_vendor


def test_responsible_worker_picked_in_the_admin_is_resolved_by_the_service(admin_client, scm_agreement, legal_entity):
    buyer = factories.WorkerFactory(legal_entity=legal_entity, name="Alicia Thornber")
    data = form_data(admin_client.get(change_url(scm_agreement)))
    data["primary_responsible_worker"] = buyer.pk

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 302
    scm_agreement.refresh_from_db()
    assert scm_agreement.primary_responsible_worker == buyer


def test_problem_on_a_field_the_form_lacks_is_shown_above_the_form():
    form = modelform_factory(models.PurchaseAgreement, fields=["vendor_reference"])(data={"vendor_reference": "VR"})
    form.is_valid()
    failure = ValidationFailed(
        [
            Problem("vendor_reference", "is taken."),
            Problem("document_title", "cannot be changed."),
            Problem("primary_responsible_worker_email", "no such worker."),
        ]
    )

    show_problems_on_form(form, failure, aliases={"primary_responsible_worker_email": "vendor_reference"})

    assert form.errors["vendor_reference"] == ["is taken.", "no such worker."]
    assert form.non_field_errors() == ["Document title: cannot be changed."]


def test_agreement_added_in_the_admin_is_scm_owned_and_numbered(admin_client, legal_entity):
    vendor = factories.VendorFactory(legal_entity=legal_entity)
    data = form_data(admin_client.get(admin_url(models.PurchaseAgreement, "add")))
    data.update(
        {"legal_entity": legal_entity.pk, "vendor": vendor.pk, "currency": vendor.currency.pk, "document_title": "New"}
    )

    response = admin_client.post(admin_url(models.PurchaseAgreement, "add"), data)

    assert response.status_code == 302
    agreement = models.PurchaseAgreement.objects.get(document_title="New")
    assert agreement.ownership == AgreementOwnership.SCM
    assert agreement.agreement_id == "PA-000001"
    assert agreement.invoice_vendor == vendor
    assert agreement.changed_by == "user:admin"


def add_line_data(data: dict, **line) -> dict:
    index = int(data["lines-TOTAL_FORMS"])
    data["lines-TOTAL_FORMS"] = str(index + 1)
    data.update({f"lines-{index}-{name}": value for name, value in line.items()})
    return data


def test_category_commitment_without_category_shows_the_error_and_adds_no_line(admin_client, scm_agreement):
    data = add_line_data(
        form_data(admin_client.get(change_url(scm_agreement))),
        commitment_type=CommitmentType.PRODUCT_CATEGORY,
        committed_amount="5000",
    )

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 200
    line_form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert line_form.errors["category"] == ["a procurement category is required for ProductCategory commitments."]
    assert not scm_agreement.lines.exists()


def test_category_commitment_with_category_adds_the_next_line(admin_client, scm_agreement):
    category = factories.CategoryFactory(name="Stationery")
    data = add_line_data(
        form_data(admin_client.get(change_url(scm_agreement))),
        commitment_type=CommitmentType.PRODUCT_CATEGORY,
        committed_amount="5000",
        category=category.pk,
    )

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 302
    line = scm_agreement.lines.get()
    assert (line.line_number, line.category, line.committed_amount) == (Decimal(1), category, Decimal(5000))
    assert line.changed_by == "user:admin"


def test_lines_of_an_scm_agreement_are_changed_and_deleted(admin_client, scm_agreement, legal_entity):
    kept = factories.LineFactory(legal_entity=legal_entity, agreement=scm_agreement, line_number=Decimal(1))
    removed = factories.LineFactory(legal_entity=legal_entity, agreement=scm_agreement, line_number=Decimal(2))
    data = form_data(admin_client.get(change_url(scm_agreement)))
    data["lines-0-committed_quantity"] = "250"
    data["lines-1-DELETE"] = "on"

    response = admin_client.post(change_url(scm_agreement), data)

    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.committed_quantity == Decimal(250)
    assert not models.PurchaseAgreementLine.objects.filter(pk=removed.pk).exists()


def test_scm_agreement_can_be_deleted(admin_client, scm_agreement):
    response = admin_client.post(admin_url(scm_agreement, "delete", scm_agreement.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not models.PurchaseAgreement.objects.filter(pk=scm_agreement.pk).exists()


# --- Contract types (SPEC §3.2) ------------------------------------------------------


def test_contract_type_flow_is_chosen_among_registered_flows(admin_client):
    page = admin_client.get(admin_url(models.ContractType, "add"))
    flow_field = page.context["adminform"].form.fields["flow"]
    assert {"purchase_agreement", "lightweight"} <= {value for value, _ in flow_field.choices}

    response = admin_client.post(admin_url(models.ContractType, "add"), {"name": "NDA", "flow": "no_such_flow"})

    assert "flow" in form_errors(response)
    assert not models.ContractType.objects.filter(name="NDA").exists()


def test_contract_type_name_is_its_key_and_cannot_be_renamed(admin_client):
    contract_type = factories.ContractTypeFactory(name="Purchase")

    page = admin_client.get(change_url(contract_type))

    assert b'name="name"' not in page.content
    assert b'name="flow"' in page.content
