"""``manage.py seed_demo``: a realistic, deterministic demo data set that obeys every rule of the services."""

import datetime
import io
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from connectors.models import Connection, NavigationLink
from contracts import models
from contracts.choices import (
    AgreementOwnership,
    AgreementStatus,
    CommitmentType,
    ContractFlowName,
    ContractStatus,
    HandshakeStatus,
    NavigationAction,
    NavigationType,
)
from contracts.services import (
    Actor,
    UpsertOutcome,
    agreement_create,
    agreement_prepare,
    contract_upsert,
    line_prepare,
)
from contracts.services.agreements import HEADER_REFERENCES, HEADER_SCALARS, LINE_REFERENCES, LINE_SCALARS
from contracts.services.contracts import CONTRACT_SCALAR_FIELDS

SMALL = 40

pytestmark = pytest.mark.django_db


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed_demo("--contracts", str(SMALL), "--seed", "7")


def fingerprint() -> dict[str, list]:
    """What two runs must agree on, by natural keys (primary keys differ between databases)."""
    return {
        "contracts": list(
            models.Contract.objects.order_by("contract_id").values_list(
                "contract_id",
                "external_contract_id",
                "name",
                "status",
                "contract_type__name",
                "legal_entity__code",
                "effective_date",
                "expiration_date",
                "account_relation_id",
                "value",
                "source_modified_at",
            )
        ),
        "history": list(
            models.ContractStatusChange.objects.order_by("contract__contract_id", "id").values_list(
                "contract__contract_id", "from_status", "to_status", "changed_at"
            )
        ),
        "agreements": list(
            models.PurchaseAgreement.objects.order_by("legal_entity__code", "agreement_id").values_list(
                "legal_entity__code",
                "agreement_id",
                "ownership",
                "status",
                "vendor__account_number",
                "contract__contract_id",
            )
        ),
        "lines": list(
            models.PurchaseAgreementLine.objects.order_by(
                "legal_entity__code", "agreement__agreement_id", "line_number"
            ).values_list("agreement__agreement_id", "line_number", "commitment_type", "committed_quantity", "price")
        ),
    }


def seed_and_roll_back(seed: int) -> dict[str, list]:
    """Seeds an empty database, notes what it holds, and leaves it empty again."""
    with transaction.atomic():
        seed_demo("--contracts", str(SMALL), "--seed", str(seed))
        seen = fingerprint()
        transaction.set_rollback(True)
    return seen


def as_service_input(record, scalars, references) -> dict:
    """Restates a stored record the way a caller of the services names it: references by natural key."""
    data = {name: getattr(record, name) for name in scalars}
    for name, reference in references.items():
        target = getattr(record, name)
        data[name] = getattr(target, reference.key) if target is not None else None
    return data


def test_seed_demo_creates_every_kind_of_master_data(seeded):
    for model in (
        models.LegalEntity,
        models.Country,
        models.Currency,
        models.PaymentTerms,
        models.CashDiscount,
        models.DeliveryTerms,
        models.VendorPaymentMethod,
        models.PaymentSchedule,
        models.UnitOfMeasure,
        models.ContactPerson,
        models.Worker,
        models.ReleasedProduct,
        models.ProductVariant,
        models.Site,
        models.Warehouse,
        models.Project,
        models.PurchaseAgreementClassification,
        models.BuyerGroup,
    ):
        assert model.objects.exists(), model.__name__
    assert set(models.LegalEntity.objects.values_list("code", flat=True)) >= {"USMF", "DEMF", "GBSI"}
    assert {"USD", "EUR", "GBP"} <= set(models.Currency.objects.values_list("code", flat=True))
    assert 45 <= models.Vendor.objects.count() <= 55
    assert not models.Vendor.objects.filter(contacts__isnull=True).exists()
    roots = models.ProcurementCategory.objects.filter(parent__isnull=True)
    assert roots.count() >= 3
    assert all(root.children.exists() for root in roots)


def test_seed_demo_creates_contract_types_of_both_flows(seeded):
    flows = dict(models.ContractType.objects.values_list("name", "flow"))

    assert flows["Purchase"] == flows["Service"] == ContractFlowName.PURCHASE_AGREEMENT
    assert flows["NDA"] == ContractFlowName.LIGHTWEIGHT


def test_seed_demo_configures_a_ready_reference_clm_connection_with_every_navigation_link(seeded):
    clm = Connection.objects.get(name="Reference CLM")

    assert (clm.connector, clm.base_url) == ("reference", "http://127.0.0.1:8001")
    assert clm.establishment_status == clm.configuration_status == HandshakeStatus.SUCCESS
    links = {link.navigation_type: link for link in NavigationLink.objects.filter(connection=clm)}
    assert set(links) == set(NavigationType.values)
    for navigation_type, link in links.items():
        expected = (
            NavigationAction.OPEN_IN_NEW_TAB
            if navigation_type == NavigationType.VIEW_CONTRACT
            else NavigationAction.OPEN_IN_EXISTING_TAB
        )
        assert link.action == expected
        assert link.relative_url.startswith("/")
    view = dict(links[NavigationType.VIEW_CONTRACT].parameters.values_list("key", "value"))
    assert view == {"id": "%Contract.ExternalContractId%"}
    from_agreement = links[NavigationType.NEW_CONTRACT_FROM_PURCH_AGREEMENT].parameters.values_list("value", flat=True)
    assert "%PurchaseAgreement.PurchaseAgreementId%" in from_agreement
    assert "%Contract.ContractId%" in links[NavigationType.AMEND_CONTRACT].parameters.values_list("value", flat=True)


def test_seeded_contracts_cover_every_status_and_type_with_their_history(seeded):
    contracts = list(models.Contract.objects.select_related("contract_type").prefetch_related("status_history"))

    assert len(contracts) == SMALL
    assert {c.status for c in contracts} == set(ContractStatus.values)
    assert {c.contract_type.name for c in contracts} == {"Purchase", "Service", "NDA"}
    for contract in contracts:
        history = list(contract.status_history.all())
        assert history[0].from_status == ""
        assert history[-1].to_status == contract.status
        assert all(step.from_status == before.to_status for before, step in pairwise(history))
        assert [step.changed_at for step in history] == sorted(step.changed_at for step in history)
        assert contract.source_modified_at == history[-1].source_modified_at


def test_default_demo_has_open_ended_soon_expiring_and_amended_contracts(db):
    seed_demo("--seed", "3")
    today = datetime.date.today()
    contracts = models.Contract.objects.all()

    assert contracts.count() == 300
    assert contracts.filter(expiration_date__isnull=True).exists()
    for days in (30, 60, 90):
        assert contracts.filter(
            status=ContractStatus.EXECUTED,
            expiration_date__gte=today,
            expiration_date__lte=today + datetime.timedelta(days),
        ).exists()
    assert contracts.filter(status=ContractStatus.EXPIRED, expiration_date__lt=today).exists()
    assert 1 <= contracts.filter(amendment_in_process=True).count() <= 30
    assert 30 <= models.PurchaseAgreement.objects.count() <= 60


def test_seeded_agreements_have_both_ownerships_and_lines_of_every_commitment_type(seeded):
    clm_owned = models.PurchaseAgreement.objects.filter(ownership=AgreementOwnership.CLM).select_related(
        "contract__contract_type"
    )
    scm_owned = models.PurchaseAgreement.objects.filter(ownership=AgreementOwnership.SCM)

    assert clm_owned.exists() and scm_owned.exists()
    assert not scm_owned.filter(contract__isnull=False).exists()
    expected_status = {
        ContractStatus.EXECUTED: AgreementStatus.EFFECTIVE,
        ContractStatus.ON_HOLD: AgreementStatus.ON_HOLD,
        ContractStatus.TERMINATED: AgreementStatus.CLOSED,
        ContractStatus.EXPIRED: AgreementStatus.CLOSED,
    }
    for agreement in clm_owned:
        contract = agreement.contract
        assert contract.contract_type.flow == ContractFlowName.PURCHASE_AGREEMENT
        assert agreement.status == expected_status[contract.status]
        assert agreement.external_contract_id == contract.external_contract_id
        assert agreement.vendor_id == contract.vendor_id
        assert agreement.amendment_in_process == contract.amendment_in_process
    assert set(models.PurchaseAgreementLine.objects.values_list("commitment_type", flat=True)) == set(
        CommitmentType.values
    )
    assert not models.PurchaseAgreement.objects.filter(lines__isnull=True).exists()


def test_every_seeded_agreement_and_line_passes_the_services_validation(seeded):
    actor = Actor.system()
    agreements = models.PurchaseAgreement.objects.select_related(
        "legal_entity", "contract__legal_entity", "primary_responsible_worker", "secondary_responsible_worker"
    )
    for agreement in agreements:
        data = as_service_input(agreement, HEADER_SCALARS, HEADER_REFERENCES)
        for role in ("primary_responsible_worker", "secondary_responsible_worker"):
            worker = getattr(agreement, role)
            data[f"{role}_name"], data[f"{role}_email"] = (worker.name, worker.email) if worker else ("", "")
        if agreement.contract is not None:
            data["contract_id"] = agreement.contract.contract_id
            data["contract_legal_entity"] = agreement.contract.legal_entity.code

        values = agreement_prepare(legal_entity=agreement.legal_entity, data=data, actor=actor, agreement=agreement)

        assert values["vendor"] == agreement.vendor
        for line in agreement.lines.all():
            line_values = line_prepare(
                agreement=agreement, data=as_service_input(line, LINE_SCALARS, LINE_REFERENCES), actor=actor, line=line
            )
            assert line_values["commitment_type"] == line.commitment_type
            line_prepare(agreement=agreement, data={}, actor=actor, line=line)


def test_seeded_contracts_are_unchanged_when_the_clm_delivers_them_again(seeded):
    for contract in models.Contract.objects.select_related("contract_type", "currency", "legal_entity"):
        data = {name: getattr(contract, name) for name in CONTRACT_SCALAR_FIELDS}
        data["contract_type"] = contract.contract_type.name
        data["currency"] = contract.currency.code if contract.currency else None

        result = contract_upsert(
            legal_entity=contract.legal_entity, contract_id=contract.contract_id, data=data, actor=Actor.system()
        )

        assert result.outcome == UpsertOutcome.UNCHANGED, contract.contract_id


def test_services_number_new_agreements_after_the_seeded_ones(seeded):
    vendor = models.Vendor.objects.filter(legal_entity__code="USMF", blocked=False).first()

    agreement = agreement_create(legal_entity="USMF", data={"vendor": vendor.account_number}, actor=Actor.system())

    assert agreement.agreement_id.startswith("PA-")


def test_demo_users_log_in_and_procurement_sees_exactly_two_legal_entities(seeded, client):
    procurement = get_user_model().objects.get(username="procurement")
    admin = get_user_model().objects.get(username="admin")

    assert client.login(username="procurement", password="procurement-demo")
    assert client.login(username="admin", password="admin-demo")
    assert admin.is_superuser
    assert not procurement.is_superuser
    assert set(procurement.legal_entity_grants.values_list("legal_entity__code", flat=True)) == {"USMF", "DEMF"}
    assert models.LegalEntity.objects.exclude(code__in=["USMF", "DEMF"]).exists()
    assert procurement.groups.filter(name="Procurement staff").exists()
    assert procurement.has_perms(
        [
            "contracts.view_contract",
            "contracts.view_vendor",
            "contracts.view_procurementcategory",
            "contracts.add_purchaseagreement",
            "contracts.change_purchaseagreementline",
        ]
    )
    assert not procurement.has_perm("contracts.change_contract")
    assert not procurement.has_perm("contracts.cross_company")


def test_seed_demo_prints_the_logins(seeded):
    assert "http://127.0.0.1:8000/" in seeded
    assert "http://127.0.0.1:8000/admin/" in seeded
    assert "procurement / procurement-demo" in seeded
    assert "admin / admin-demo" in seeded


def test_same_seed_gives_the_same_data_and_another_seed_other_data(db):
    first, again, other = seed_and_roll_back(11), seed_and_roll_back(11), seed_and_roll_back(12)

    assert first == again
    assert first["contracts"] != other["contracts"]


def test_second_run_adds_new_contracts_and_reuses_master_data(seeded):
    vendors, users, links = (
        models.Vendor.objects.count(),
        get_user_model().objects.count(),
        NavigationLink.objects.count(),
    )
    first_ids = set(models.Contract.objects.values_list("contract_id", flat=True))

    seed_demo("--contracts", str(SMALL), "--seed", "7")

    all_ids = set(models.Contract.objects.values_list("contract_id", flat=True))
    assert len(all_ids) == 2 * SMALL
    assert max(first_ids) < min(all_ids - first_ids)
    assert models.Vendor.objects.count() == vendors
    assert get_user_model().objects.count() == users
    assert NavigationLink.objects.count() == links
    external_ids = models.Contract.objects.values_list("external_contract_id", flat=True)
    assert len(set(external_ids)) == 2 * SMALL


def test_if_empty_adds_nothing_to_a_seeded_database_but_prints_the_logins(seeded):
    counts = (models.Contract.objects.count(), models.PurchaseAgreement.objects.count(), models.Vendor.objects.count())

    output = seed_demo("--if-empty")

    assert "Demo data already present" in output
    assert "procurement / procurement-demo" in output
    assert counts == (
        models.Contract.objects.count(),
        models.PurchaseAgreement.objects.count(),
        models.Vendor.objects.count(),
    )


def test_if_empty_seeds_an_empty_database(db):
    seed_demo("--if-empty", "--contracts", "20")

    assert models.Contract.objects.count() == 20


def test_seeding_runs_a_fixed_number_of_reads_whatever_the_number_of_contracts(seeded):
    def reads(contracts: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            seed_demo("--contracts", str(contracts))
        return sum(query["sql"].lstrip().upper().startswith("SELECT") for query in queries.captured_queries)

    assert reads(SMALL) == reads(10 * SMALL)
