"""Fixtures shared by the domain tests: one small, realistic company (USMF) and a CLM."""

import pytest

from contracts.choices import AgreementOwnership, AgreementStatus, ContractFlowName, ContractStatus
from contracts.tests import factories


@pytest.fixture
def usd(db):
    return factories.CurrencyFactory(code="USD", name="US dollar")


@pytest.fixture
def vendor(legal_entity, usd):
    return factories.VendorFactory(
        legal_entity=legal_entity, account_number="V-1001", name="Fabrikam Supplies", currency=usd
    )


@pytest.fixture
def connection(db):
    return factories.ConnectionFactory(name="Reference CLM")


@pytest.fixture
def purchase_type(db):
    return factories.ContractTypeFactory(name="Purchase", flow=ContractFlowName.PURCHASE_AGREEMENT)


@pytest.fixture
def nda_type(db):
    return factories.ContractTypeFactory(name="NDA", flow=ContractFlowName.LIGHTWEIGHT)


@pytest.fixture
def clm_agreement(legal_entity, vendor, purchase_type):
    """An agreement the CLM created from an executed purchase contract (SPEC §6.4)."""
    contract = factories.ContractFactory(
        legal_entity=legal_entity, vendor=vendor, contract_type=purchase_type, status=ContractStatus.EXECUTED
    )
    return factories.AgreementFactory(
        legal_entity=legal_entity,
        agreement_id="PA-CLM-1",
        ownership=AgreementOwnership.CLM,
        status=AgreementStatus.EFFECTIVE,
        contract=contract,
        external_contract_id=contract.external_contract_id,
        document_title="Office chairs 2026",
        vendor=vendor,
    )


@pytest.fixture
def scm_agreement(legal_entity, vendor):
    """An agreement buyers created in clmsite: people own it."""
    return factories.AgreementFactory(
        legal_entity=legal_entity,
        agreement_id="PA-SCM-1",
        ownership=AgreementOwnership.SCM,
        document_title="Printer paper",
        vendor=vendor,
    )
