"""The UI's forms: they only read input; ``refclm.services`` does the work."""

from __future__ import annotations

from django import forms

from . import masterdata
from .models import ContractType


class DateInput(forms.DateInput):
    input_type = "date"


class ContractEditForm(forms.Form):
    name = forms.CharField(max_length=255)
    value = forms.DecimalField(required=False, min_value=0, decimal_places=2, max_digits=20)
    effective_date = forms.DateField(required=False, widget=DateInput)
    expiration_date = forms.DateField(required=False, widget=DateInput)


class AmendmentForm(forms.Form):
    expiration_date = forms.DateField(required=False, widget=DateInput, label="New expiration date")
    value = forms.DecimalField(required=False, min_value=0, decimal_places=2, max_digits=20, label="New value")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("expiration_date") and cleaned.get("value") is None:
            raise forms.ValidationError("Give a new expiration date, a new value, or both.")
        return cleaned


def vendor_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Vendors grouped by legal entity, as ``<legal entity>|<account>`` values."""
    grouped = []
    for code in masterdata.legal_entity_codes():
        vendors = sorted(masterdata.records("vendors", code), key=lambda vendor: vendor["account_number"])
        options = [(f"{code}|{vendor['account_number']}", _vendor_label(vendor)) for vendor in vendors]
        grouped.append((code, options))
    return grouped


def _vendor_label(vendor: dict) -> str:
    blocked = " (blocked)" if vendor.get("blocked") else ""
    return f"{vendor['account_number']} {vendor.get('name', '')}{blocked}"


class NewContractForm(forms.Form):
    contract_type = forms.ChoiceField(choices=ContractType.choices, label="Type")
    vendor = forms.ChoiceField(label="Legal entity and vendor")
    name = forms.CharField(max_length=255, required=False, help_text="Leave empty for a generated title.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vendor"].choices = vendor_choices()

    def legal_entity_and_vendor(self) -> tuple[str, str]:
        legal_entity, _, vendor = self.cleaned_data["vendor"].partition("|")
        return legal_entity, vendor


class AgreementContractForm(forms.Form):
    """A contract started from a purchase agreement: its vendor, currency and lines come from the agreement."""

    contract_type = forms.ChoiceField(
        choices=[(ContractType.PURCHASE, "Purchase"), (ContractType.SERVICE, "Service")], label="Type"
    )
    name = forms.CharField(max_length=255)
