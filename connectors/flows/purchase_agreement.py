"""The deep flow: an executed purchase contract becomes a purchase agreement (SPEC §4)."""

from dataclasses import replace

from contracts.choices import AgreementOwnership, AgreementStatus, ContractFlowName, ContractStatus
from contracts.services.agreements import agreement_create, agreement_expiry_passed, agreement_update
from contracts.services.common import Problem, ValidationFailed, changed_fields

from .base import ContractFlow
from .registry import register_flow

CLOSING_STATUSES = (ContractStatus.TERMINATED, ContractStatus.CANCELLED)


@register_flow
class PurchaseAgreementFlow(ContractFlow):
    name = ContractFlowName.PURCHASE_AGREEMENT.value
    label = ContractFlowName.PURCHASE_AGREEMENT.label

    def apply(self, contract, *, previous_status, actor):
        # The flow acts for the CLM, which is the master of the agreements it created.
        actor = replace(actor, acts_for_clm=True)
        agreements = list(contract.agreements.select_for_update())
        if contract.status == ContractStatus.EXECUTED and not agreements:
            agreements = [self._create_agreement(contract, actor)]
        for agreement in agreements:
            changes = {"amendment_in_process": contract.amendment_in_process}
            target = self._target_status(contract, agreement)
            if target is not None:
                changes["status"] = target
            if contract.status == ContractStatus.EXECUTED and agreement.is_clm_owned:
                # Executed again after an amendment: the same agreement is updated in place.
                changes.update(self._header_from_contract(contract))
            self._update(agreement, changes, actor)

    @staticmethod
    def _target_status(contract, agreement):
        status = contract.status
        if status == ContractStatus.EXECUTED:
            return AgreementStatus.EFFECTIVE
        if status in CLOSING_STATUSES:
            return AgreementStatus.CLOSED
        if status == ContractStatus.EXPIRED and agreement_expiry_passed(agreement):
            return AgreementStatus.CLOSED
        if status == ContractStatus.ON_HOLD:
            return AgreementStatus.ON_HOLD
        return None

    @staticmethod
    def _header_from_contract(contract):
        return {
            "document_title": contract.name[:255],
            "default_effective_date": contract.effective_date,
            "default_expiration_date": contract.expiration_date,
            "external_contract_id": contract.external_contract_id,
        }

    def _create_agreement(self, contract, actor):
        if contract.vendor is None:
            raise ValidationFailed(
                [
                    Problem(
                        "account_relation_id",
                        "an executed purchase contract needs a vendor account (account type Vend) "
                        "to create its purchase agreement.",
                        "required",
                    )
                ]
            )
        data = {
            **self._header_from_contract(contract),
            "vendor": contract.vendor,
            "contract_id": contract.contract_id,
            "contract_legal_entity": contract.legal_entity.code,
            "contact_person": contract.contact,
            "status": AgreementStatus.ON_HOLD,
        }
        if contract.currency_id:
            data["currency"] = contract.currency
        return agreement_create(
            legal_entity=contract.legal_entity, data=data, actor=actor, ownership=AgreementOwnership.CLM
        )

    @staticmethod
    def _update(agreement, changes, actor):
        if changed_fields(agreement, changes):
            agreement_update(agreement=agreement, data=changes, actor=actor)
