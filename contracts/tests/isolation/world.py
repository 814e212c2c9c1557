"""Two legal entities holding the same kinds of records, and the callers granted only the first.

Company A (USMF) and company B (DEMF) each get master data of every per-legal-entity kind,
a purchase contract with its CLM-owned agreement and line, an executed NDA, an SCM-owned
agreement with lines, status history, deep links, a CLM connection with navigation links,
its CLM API client, a batch import with a failed record and a pull run. Every identifier
carries the company's prefix (ALPHA-…, BRAVO-…), so that an answer that shows one of B's
records is caught by looking for B's prefix in its body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.forms.models import model_to_dict

from connectors.imports import import_package_submit, import_run_apply
from connectors.models import Connection, NavigationLink, SyncRun
from contracts.choices import (
    AgreementOwnership,
    AgreementStatus,
    ApiClientRole,
    ContractFlowName,
    ContractStatus,
    DeepLinkTarget,
    SyncRunKind,
    SyncRunStatus,
)
from contracts.deeplinks import deep_link_token
from contracts.models import (
    TRACKED_ENTITIES,
    ApiClient,
    Contract,
    ContractStatusChange,
    DeliveryTerms,
    LegalEntity,
    LegalEntityGrant,
    PaymentSchedule,
    PurchaseAgreement,
    PurchaseAgreementLine,
    VendorPaymentMethod,
)
from contracts.selectors import CROSS_COMPANY_PERMISSION
from contracts.tests import factories
from contracts.tests.api.factories import ApiClientFactory

A_CODE, B_CODE = "USMF", "DEMF"
A_PREFIX, B_PREFIX = "ALPHA", "BRAVO"


@dataclass
class Company:
    """One legal entity's records; ``secrets`` are the identifiers only its callers may read."""

    prefix: str
    entity: LegalEntity
    connection: Connection
    clm_client: ApiClient
    contract: Contract  # a purchase contract, executed: its agreement is CLM-owned
    nda: Contract
    clm_agreement: PurchaseAgreement
    scm_agreement: PurchaseAgreement
    line: PurchaseAgreementLine  # a line of the SCM-owned agreement
    master_data: dict[str, object]  # tracked entity name → one record of it
    import_run: SyncRun
    pull_run: SyncRun
    link_tokens: dict[str, str]  # deep-link target → token
    secrets: tuple[str, ...] = field(default=())

    @property
    def code(self) -> str:
        return self.entity.code

    @property
    def contracts(self) -> tuple[Contract, ...]:
        return (self.contract, self.nda)

    def contract_ids(self) -> set[str]:
        """Every contract of the legal entity, the imported one included."""
        return set(Contract.objects.filter(legal_entity=self.entity).values_list("contract_id", flat=True))

    @property
    def agreements(self) -> tuple[PurchaseAgreement, ...]:
        return (self.clm_agreement, self.scm_agreement)


@dataclass
class World:
    a: Company
    b: Company
    user: object  # a person granted A only, not staff, with every permission of both apps but cross-company
    reader: ApiClient  # a read-only API client granted A

    def b_rows(self) -> dict:
        """Every record of B that a write could change, as stored values, and the row counts:
        compared before and after a refused write."""
        b = self.b
        records = [*b.contracts, *b.agreements, b.line, *b.master_data.values(), b.connection, b.import_run]
        records += list(NavigationLink.objects.filter(connection=b.connection))
        return {
            "rows": {f"{type(record).__name__}:{record.pk}": _stored(record) for record in records},
            "counts": {
                "contracts": Contract.objects.filter(legal_entity=b.entity).count(),
                "agreements": PurchaseAgreement.objects.filter(legal_entity=b.entity).count(),
                "lines": PurchaseAgreementLine.objects.filter(legal_entity=b.entity).count(),
                "links": NavigationLink.objects.filter(connection=b.connection).count(),
                "runs": SyncRun.objects.filter(connection=b.connection).count(),
            },
        }


def _stored(record) -> dict:
    fresh = type(record)._base_manager.filter(pk=record.pk).first()
    return model_to_dict(fresh) if fresh is not None else {"deleted": True}


def build_world() -> World:
    factories.CurrencyFactory(code="USD", name="US dollar")
    factories.CountryFactory(code="USA", name="United States")
    factories.UnitFactory(symbol="ea", description="Each")
    factories.CategoryFactory(name="Office supplies")
    purchase = factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)
    nda = factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)
    a = _company(A_CODE, A_PREFIX, "Contoso USA", "Northwind CLM", purchase, nda)
    b = _company(B_CODE, B_PREFIX, "Contoso Germany", "Fabrikam CLM", purchase, nda)
    # B's agreement for A's contract (an agreement may link a contract of another legal
    # entity): A's contract page and answers must not show it.
    factories.AgreementFactory(
        legal_entity=b.entity,
        agreement_id="BRAVO-PA-XLINK",
        document_title="BRAVO cross-company agreement",
        contract=a.contract,
        vendor=b.master_data["vendors"],
    )
    user = _person("alpha-buyer", a.entity)
    reader = ApiClientFactory(name="alpha-reporting", role=ApiClientRole.READ_ONLY, legal_entities=[a.entity])
    return World(a=a, b=b, user=user, reader=reader)


def _person(username: str, entity: LegalEntity):
    """Every view/add/change/delete permission of the two apps, but not the cross-company grant."""
    user = get_user_model().objects.create_user(username, password="pw-isolation-1")
    cross_company = CROSS_COMPANY_PERMISSION.split(".")[1]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=("contracts", "connectors")).exclude(
            codename=cross_company
        )
    )
    LegalEntityGrant.objects.create(user=user, legal_entity=entity)
    return user


def _company(code: str, prefix: str, name: str, clm_name: str, purchase, nda_type) -> Company:
    entity = factories.LegalEntityFactory(code=code, name=name)
    scoped = {"legal_entity": entity}
    # Connections are not per legal entity (any page may name them): their names are no secret.
    connection = factories.ConnectionFactory(name=clm_name)
    factories.NavigationLinkParameterFactory(
        link=factories.NavigationLinkFactory(connection=connection, relative_url=f"/view/{prefix}")
    )
    vendor = factories.VendorFactory(**scoped, account_number=f"{prefix}-V1", name=f"{prefix} Vendor Supplies")
    product = factories.ProductFactory(**scoped, item_number=f"{prefix}-I1", name=f"{prefix} office chair")
    site = factories.SiteFactory(**scoped, site_id=f"{prefix}-S1", name=f"{prefix} site")
    master_data = {
        "payment-terms": factories.PaymentTermsFactory(**scoped, name=f"{prefix}-PT"),
        "cash-discounts": factories.CashDiscountFactory(**scoped, code=f"{prefix}-CD"),
        "delivery-terms": DeliveryTerms.objects.create(**scoped, code=f"{prefix}-DT"),
        "vendor-payment-methods": VendorPaymentMethod.objects.create(**scoped, name=f"{prefix}-PM"),
        "payment-schedules": PaymentSchedule.objects.create(**scoped, name=f"{prefix}-PS"),
        "vendors": vendor,
        "contact-persons": factories.ContactPersonFactory(
            **scoped, vendor=vendor, contact_person_id=f"{prefix}-CP1", name=f"{prefix} Contact"
        ),
        "workers": factories.WorkerFactory(**scoped, personnel_number=f"{prefix}-W1", name=f"{prefix} Buyer"),
        "released-products": product,
        "product-variants": factories.VariantFactory(**scoped, product=product, variant_number=f"{prefix}-VAR1"),
        "sites": site,
        "warehouses": factories.WarehouseFactory(**scoped, site=site, warehouse_id=f"{prefix}-WH"),
        "projects": factories.ProjectFactory(**scoped, project_id=f"{prefix}-PRJ1", name=f"{prefix} project"),
        "agreement-classifications": factories.ClassificationFactory(**scoped, name=f"{prefix}-CLS"),
        "buyer-groups": factories.BuyerGroupFactory(**scoped, group_id=f"{prefix}-BG"),
    }
    per_legal_entity = {entity.name for entity in TRACKED_ENTITIES if entity.per_legal_entity}
    assert per_legal_entity == master_data.keys(), "a new kind of master data needs a record here"

    def contract(contract_id: str, title: str, contract_type, expiration):
        made = factories.ContractFactory(
            **scoped,
            contract_id=contract_id,
            external_contract_id=f"{contract_id}-EXT",
            name=title,
            contract_type=contract_type,
            status=ContractStatus.EXECUTED,
            vendor=vendor,
            connection=connection,
            expiration_date=expiration,
        )
        ContractStatusChange.objects.create(contract=made, to_status=ContractStatus.DRAFT, changed_by="test-clm")
        ContractStatusChange.objects.create(
            contract=made, from_status=ContractStatus.DRAFT, to_status=ContractStatus.EXECUTED, changed_by="test-clm"
        )
        return made

    purchase_contract = contract(f"{prefix}-CON1", f"{prefix} chairs contract", purchase, None)
    nda = contract(f"{prefix}-NDA1", f"{prefix} secrecy agreement", nda_type, None)
    clm_agreement = factories.AgreementFactory(
        **scoped,
        agreement_id=f"{prefix}-PA-CLM",
        ownership=AgreementOwnership.CLM,
        status=AgreementStatus.EFFECTIVE,
        contract=purchase_contract,
        external_contract_id=purchase_contract.external_contract_id,
        document_title=f"{prefix} chairs agreement",
        vendor=vendor,
    )
    factories.LineFactory(**scoped, agreement=clm_agreement, product=product, line_number=Decimal(1))
    scm_agreement = factories.AgreementFactory(
        **scoped, agreement_id=f"{prefix}-PA-SCM", document_title=f"{prefix} paper agreement", vendor=vendor
    )
    line = factories.LineFactory(**scoped, agreement=scm_agreement, product=product, line_number=Decimal(1))
    factories.LineFactory(**scoped, agreement=scm_agreement, product=product, line_number=Decimal(2))

    clm_client = ApiClientFactory(
        name=f"{prefix.lower()}-clm", role=ApiClientRole.CLM_INTEGRATION, legal_entities=[entity], connection=connection
    )
    import_run = _failed_import(clm_client, code, prefix)
    pull_run = SyncRun.objects.create(
        connection=connection, kind=SyncRunKind.PULL, status=SyncRunStatus.SUCCEEDED, processed=3, updated=3
    )
    link_tokens = {
        DeepLinkTarget.VENDOR: deep_link_token(DeepLinkTarget.VENDOR, vendor),
        DeepLinkTarget.CONTRACT: deep_link_token(DeepLinkTarget.CONTRACT, purchase_contract),
        DeepLinkTarget.AGREEMENT: deep_link_token(DeepLinkTarget.AGREEMENT, scm_agreement),
    }
    company = Company(
        prefix=prefix,
        entity=entity,
        connection=connection,
        clm_client=clm_client,
        contract=purchase_contract,
        nda=nda,
        clm_agreement=clm_agreement,
        scm_agreement=scm_agreement,
        line=line,
        master_data=master_data,
        import_run=import_run,
        pull_run=pull_run,
        link_tokens=link_tokens,
    )
    # The prefix alone finds every identifier above; the list names the ones a test asserts on by name.
    company.secrets = (
        prefix,
        entity.code,
        entity.name,
        *(made.contract_id for made in company.contracts),
        *(made.external_contract_id for made in company.contracts),
        *(made.name for made in company.contracts),
        *(made.agreement_id for made in company.agreements),
        *(made.document_title for made in company.agreements),
        vendor.account_number,
        vendor.name,
    )
    return company


def _failed_import(client: ApiClient, code: str, prefix: str) -> SyncRun:
    """A batch import with one applied and one failed record, applied as a worker would."""
    package = {
        "contracts": [
            {"legal_entity": code, "contract_id": f"{prefix}-CON8", "contract_type": "Purchase", "name": "Imported"},
            {"legal_entity": code, "contract_id": f"{prefix}-CON9", "contract_type": f"{prefix}-NO-SUCH-TYPE"},
        ]
    }
    run = import_package_submit(content=json.dumps(package).encode(), api_client=client)
    import_run_apply(run_id=run.pk)
    run.refresh_from_db()
    assert run.failed == 1 and run.errors.count() == 1, "the import should keep one failed record"
    return run
