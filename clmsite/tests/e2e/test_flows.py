"""The flows of SPEC §5, end to end: people act in the reference CLM, and procurement staff
see the result in clmsite. One test per flow; each walks the contract through the CLM's
own steps and asserts on clmsite's pages."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from clmsite.testing import wait_for
from contracts.choices import AgreementOwnership, AgreementStatus, ContractStatus
from contracts.models import Contract, PurchaseAgreement, Vendor

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# The CLM's way from a draft to a signed contract (and again after an amendment).
HAPPY_PATH = ("submit", "approve", "send_for_signature", "vendor_signs", "sign")


def sign_in_the_clm(clm, contract: dict) -> dict:
    """Takes the contract through approval and both signatures, as people in the CLM would."""
    for _ in range(len(HAPPY_PATH) + 1):
        if contract["status"] == ContractStatus.EXECUTED and not contract["amendment_in_process"]:
            return contract
        action = next(action for action in HAPPY_PATH if action in contract["next_actions"])
        contract = clm.advance(contract, action)
    raise AssertionError(f"{contract['contract_id']} did not reach Executed: {contract}")


def stored(contract: dict) -> Contract | None:
    return Contract.objects.filter(contract_id=contract["contract_id"]).select_related("vendor").first()


def arrives(demo_world, contract: dict, **expected) -> Contract:
    """Waits until clmsite holds the contract with the expected values (the worker applies
    webhooks and pulls in the background)."""

    def matches():
        found = stored(contract)
        return found is not None and all(getattr(found, name) == value for name, value in expected.items())

    assert wait_for(matches, timeout=60), f"{contract['contract_id']} never had {expected}\n{demo_world.logs()}"
    return stored(contract)


def field(page, label: str):
    """The value shown beside ``label`` in a detail page's field list."""
    term = page.locator("dt", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator("dl.fields > div").filter(has=term).locator("dd").first


def open_agreement_of(staff, contract: Contract) -> None:
    staff.goto(f"/contracts/{contract.pk}/")
    staff.locator("#agreements tbody tr").first.get_by_role("link").first.click()
    staff.get_by_role("heading", name="Lines").wait_for()


def test_nda_signed_in_the_clm_is_executed_in_all_contracts_and_on_the_vendor(demo_world, staff):
    clm = demo_world.clm
    nda = clm.create(type="NDA", legal_entity="USMF")
    arrives(demo_world, nda, status=ContractStatus.DRAFT)

    sign_in_the_clm(clm, nda)
    contract = arrives(demo_world, nda, status=ContractStatus.EXECUTED)

    staff.goto(f"/contracts/?q={nda['contract_id']}")
    row = staff.locator("table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Executed")
    row.get_by_role("link", name=nda["contract_id"], exact=True).click()
    history = staff.locator("section", has=staff.get_by_role("heading", name=re.compile("Status history")))
    for label in ("Draft", "Waiting for approval", "Approved", "Executed"):
        expect(history).to_contain_text(label)
    with staff.expect_popup() as opened:
        staff.get_by_role("link", name="View (opens in a new tab)").click()
    in_the_clm = opened.value
    expect(in_the_clm.locator("h1")).to_contain_text(nda["contract_id"])
    expect(in_the_clm.locator("main")).to_contain_text("Executed")
    in_the_clm.close()
    staff.goto(f"/vendors/{contract.vendor.pk}/")
    expect(staff.get_by_text(re.compile("^Under NDA")).first).to_be_visible()
    expect(staff.locator("body")).to_contain_text(nda["contract_id"])


def test_purchase_contract_validated_and_executed_gives_an_effective_agreement_with_its_lines(demo_world, staff):
    clm = demo_world.clm
    purchase = clm.create(type="Purchase", legal_entity="USMF")
    assert purchase["lines"], "a purchase contract in the CLM has lines"

    executed = sign_in_the_clm(clm, purchase)
    assert executed["validation"]["ok"], executed["validation"]
    contract = arrives(demo_world, purchase, status=ContractStatus.EXECUTED)

    agreement = PurchaseAgreement.objects.get(contract=contract)
    assert (agreement.ownership, agreement.status) == (AgreementOwnership.CLM, AgreementStatus.EFFECTIVE)
    open_agreement_of(staff, contract)
    expect(field(staff, "Status")).to_have_text("Effective")
    expect(field(staff, "Ownership")).to_have_text("External contract management")
    lines = staff.locator("#lines tbody tr")
    expect(lines).to_have_count(len(executed["lines"]))
    for line in executed["lines"]:
        shown = line.get("product") or line.get("category")
        expect(staff.locator("#lines tbody")).to_contain_text(shown)


def test_amendment_updates_the_same_agreement_and_lines_in_place(demo_world, staff):
    clm = demo_world.clm
    purchase = sign_in_the_clm(clm, clm.create(type="Purchase", legal_entity="USMF"))
    contract = arrives(demo_world, purchase, status=ContractStatus.EXECUTED)
    agreement = PurchaseAgreement.objects.get(contract=contract)
    lines_before = list(agreement.lines.values_list("pk", flat=True))

    staff.goto(f"/contracts/{contract.pk}/")
    staff.get_by_role("link", name="Amend", exact=True).click()
    expect(staff.locator("h1")).to_have_text(f"Amend {purchase['contract_id']}")  # the CLM's own page
    amending = clm.advance(purchase, "amend")
    assert amending["amendment_in_process"]
    assert wait_for(lambda: PurchaseAgreement.objects.get(pk=agreement.pk).amendment_in_process), demo_world.logs()
    open_agreement_of(staff, contract)
    expect(staff.locator(".detail-title")).to_contain_text("Amendment in process")

    amended = sign_in_the_clm(clm, amending)
    contract = arrives(
        demo_world, amended, latest_amendment_id=amended["latest_amendment_id"], amendment_in_process=False
    )

    assert PurchaseAgreement.objects.filter(contract=contract).count() == 1, "no second agreement"
    agreement.refresh_from_db()
    assert agreement.status == AgreementStatus.EFFECTIVE and not agreement.amendment_in_process
    assert set(lines_before) <= set(agreement.lines.values_list("pk", flat=True)), "lines are updated in place"
    open_agreement_of(staff, contract)
    expect(staff.locator(".eyebrow")).to_contain_text(agreement.agreement_id)
    expect(staff.locator(".detail-title")).not_to_contain_text("Amendment in process")
    expect(field(staff, "Latest amendment ID")).to_have_text(amended["latest_amendment_id"])
    expect(field(staff, "Expiration date")).to_have_text(f"{agreement.default_expiration_date:%-d %b %Y}")
    expected_quantities = {
        str(line["line_number"]): line.get("committed_quantity") or line.get("committed_amount")
        for line in amended["lines"]
    }
    stored_quantities = {
        f"{line.line_number.normalize():f}": line.committed_quantity or line.committed_amount
        for line in agreement.lines.all()
    }
    assert {number: float(value) for number, value in stored_quantities.items()} == {
        number: float(value) for number, value in expected_quantities.items()
    }


def test_termination_in_the_clm_closes_the_agreement(demo_world, staff):
    clm = demo_world.clm
    clm.configure(demo_world.pairing, delivery="webhook-ref")  # clmsite fetches each changed contract
    purchase = sign_in_the_clm(clm, clm.create(type="Service", legal_entity="USMF"))
    contract = arrives(demo_world, purchase, status=ContractStatus.EXECUTED)

    clm.advance(purchase, "terminate")
    arrives(demo_world, purchase, status=ContractStatus.TERMINATED)

    open_agreement_of(staff, contract)
    expect(field(staff, "Status")).to_have_text("Closed")
    expect(field(staff, "Contract status")).to_have_text("Terminated")


def test_expiry_in_the_clm_closes_the_agreement(demo_world, staff):
    clm = demo_world.clm
    clm.configure(demo_world.pairing, delivery="api")  # every change pushed through clmsite's API
    purchase = sign_in_the_clm(clm, clm.create(type="Purchase", legal_entity="USMF"))
    contract = arrives(demo_world, purchase, status=ContractStatus.EXECUTED)

    expired = clm.advance(purchase, "expire")
    contract = arrives(demo_world, purchase, status=ContractStatus.EXPIRED)

    assert contract.expiration_date.isoformat() == expired["expiration_date"]
    open_agreement_of(staff, contract)
    expect(field(staff, "Status")).to_have_text("Closed")
    expect(field(staff, "Contract status")).to_have_text("Expired")


def test_buyer_starts_a_contract_in_the_clm_from_an_scm_agreement(demo_world, staff):
    vendor = Vendor.objects.filter(legal_entity__code="USMF", blocked=False).order_by("account_number").first()
    staff.goto("/agreements/new/?legal_entity=USMF")
    staff.get_by_label("Vendor account").fill(vendor.account_number)
    staff.get_by_label("Title", exact=True).fill("Packaging bought directly")
    staff.get_by_role("button", name=re.compile("^Create")).click()
    staff.get_by_role("heading", name="Packaging bought directly").wait_for()
    agreement = PurchaseAgreement.objects.get(document_title="Packaging bought directly")
    assert agreement.ownership == AgreementOwnership.SCM

    staff.get_by_role("link", name="New", exact=True).click()
    staff.wait_for_url(re.compile(re.escape(demo_world.clm.url)))
    expect(staff.locator("main")).to_contain_text(agreement.agreement_id)
    staff.screenshot(path=str(settings.VAR_DIR / "e2e-clm-new-from-agreement.png"), full_page=True)
    staff.get_by_role("button", name=re.compile("^Create")).click()
    assert wait_for(lambda: PurchaseAgreement.objects.get(pk=agreement.pk).contract_id is not None), demo_world.logs()
    agreement.refresh_from_db()
    contract = agreement.contract
    clm_contract = demo_world.clm.contract(contract.external_contract_id)

    sign_in_the_clm(demo_world.clm, clm_contract)
    arrives(demo_world, {"contract_id": contract.contract_id}, status=ContractStatus.EXECUTED)

    agreement.refresh_from_db()
    assert (agreement.ownership, agreement.status) == (AgreementOwnership.SCM, AgreementStatus.EFFECTIVE)
    assert PurchaseAgreement.objects.filter(contract=contract).count() == 1, "no second agreement"
    staff.goto(f"/agreements/{agreement.pk}/")
    expect(field(staff, "Contract ID")).to_have_text(contract.contract_id)
    expect(field(staff, "Status")).to_have_text("Effective")
