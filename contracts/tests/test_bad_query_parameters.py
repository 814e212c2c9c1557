"""Bad input in the browser (issue 9): nonsense in a list's query string or an agreement form is
answered with the page and an error next to the field (200), or a 400 — never a 500.

The list pages and their API twins share ``contracts/filtersets.py``, so each filter of each
filterset is tried on both, with values from beyond the calendar, beyond 64 bits and beyond sense.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from contracts.choices import ApiClientRole
from contracts.filtersets import AgreementFilterSet, ContractFilterSet, VendorFilterSet
from contracts.tests import factories
from contracts.tests.api.conftest import api_with_key
from contracts.tests.api.factories import ApiClientFactory
from contracts.tests.strategies import row_counts

pytestmark = pytest.mark.django_db

ODD_VALUES = (
    "99999-01-01",
    "0000-01-01",
    "2026-02-30",
    "-1",
    "0",
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "9" * 40,
    str(2**64),
    "nonsense",
    "",
    " ",
    "%",
    "%00",
    "[]",
    "{}",
    "true,false",
    "-",
    "--ordering",
    "x" * 3000,
    "\u00e9\U0001f600",
    "\ufffd",
)
# What every list reads besides its filters (paging, sorting), and names no list knows.
EXTRA_PARAMETERS = ("page", "per_page", "page_size", "ordering", "sort", "cursor", "value_min", "format")
PAGES = {
    "contracts:list": ContractFilterSet,
    "contracts:export_csv": ContractFilterSet,
    "contracts:agreement_list": AgreementFilterSet,
    "contracts:vendor_list": VendorFilterSet,
}
API_LISTS = {"/api/v1/contracts/": ContractFilterSet, "/api/v1/purchase-agreements/": AgreementFilterSet}


@pytest.fixture
def world(legal_entity, vendor, nda_type, scm_agreement):
    factories.ContractFactory(legal_entity=legal_entity, contract_type=nda_type, vendor=vendor)
    factories.LineFactory(agreement=scm_agreement, legal_entity=legal_entity, line_number=1)
    return scm_agreement


def every_parameter(filterset, value, *, scope: str | None = None) -> dict:
    """A query that gives ``value`` to every parameter at once: filters are checked one by one,
    so an invalid one is shown as an error and the others still apply; ``scope`` keeps the
    API's legal entity."""
    query = dict.fromkeys((*filterset.base_filters, *EXTRA_PARAMETERS), value)
    if scope:
        # DRF answers an unknown ?format= with 404, before any filter is read.
        query.pop("format")
        query["legal_entity"] = scope
    return query


@pytest.mark.parametrize("page", PAGES)
def test_a_list_page_answers_any_value_of_any_parameter_with_the_page_or_a_400(admin_client, world, page):
    url = reverse(page)

    for value in ODD_VALUES:
        for query in (every_parameter(PAGES[page], value), every_parameter(PAGES[page], [value, "-1"])):
            response = admin_client.get(url, query)
            assert response.status_code in (200, 400), (value, response.status_code)


@pytest.mark.parametrize("path", API_LISTS)
def test_an_api_list_answers_any_value_of_any_filter_with_the_list_or_a_400(legal_entity, world, path):
    api = api_with_key(ApiClientFactory(role=ApiClientRole.READ_ONLY, legal_entities=[legal_entity]))

    for value in ODD_VALUES:
        response = api.get(path, every_parameter(API_LISTS[path], value, scope="USMF"))
        assert response.status_code in (200, 400), (value, response.status_code)
        if response.status_code == 400:
            assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("path", API_LISTS)
def test_an_api_list_scoped_to_a_nonsense_legal_entity_is_refused_naming_it(legal_entity, world, path):
    api = api_with_key(ApiClientFactory(role=ApiClientRole.READ_ONLY, legal_entities=[legal_entity]))

    for value in ODD_VALUES:
        response = api.get(path, {"legal_entity": value})
        assert response.status_code in (400, 403), (value, response.status_code)
        assert response.json()["errors"][0]["field"] == "legal_entity"


def test_the_brief_s_example_query_is_a_page_with_errors_not_a_crash(admin_client, world):
    query = "effective_from=99999-01-01&page=-1&sort=nonsense&value_min=1e999&expiring_within=1e999"

    response = admin_client.get(f"{reverse('contracts:list')}?{query}")

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"effective_from", "expiring_within"}


# --- The agreement forms ---------------------------------------------------------------------------

FORM_VALUES = {
    "default_effective_date": ["99999-01-01", "0000-01-01", "2026-02-30", "1e999"],
    "default_expiration_date": ["10000-01-01", "-1"],
    "status": ["Bogus", "x" * 300],
    "default_commitment_type": ["Bogus"],
    "line_matching_policy": ["Bogus"],
    "vendor": ["V-NOPE", "x" * 300, "\ufffd"],
    "currency": ["ZZZ"],
    "agreement_id": ["x" * 300],
    "document_title": ["x" * 10_000],
}
LINE_FORM_VALUES = {
    "line_number": ["1e999", "-1", "0", "9" * 40, "NaN", "1.001"],
    "commitment_type": ["Bogus"],
    "committed_amount": ["1E+100000", "1e-1000", "NaN", "Infinity", "9" * 60, "-5"],
    "price": ["9" * 60],
    "line_discount_percentage": ["101", "1e999"],
    "effective_date": ["99999-01-01"],
    "product": ["NOPE"],
}
VALID_HEADER = {"vendor": "V-1001", "document_title": "Chairs", "status": "OnHold", "default_commitment_type": "ProductVolume"}  # noqa: E501
VALID_LINE = {"commitment_type": "ProductVolume", "committed_amount": "100"}


def header_form_urls(agreement) -> list[str]:
    create = f"{reverse('contracts:agreement_create')}?legal_entity={agreement.legal_entity.code}"
    return [create, reverse("contracts:agreement_update", args=[agreement.pk])]


def line_form_urls(agreement) -> list[str]:
    line = agreement.lines.get()
    return [
        reverse("contracts:agreement_line_create", args=[agreement.pk]),
        reverse("contracts:agreement_line_update", args=[agreement.pk, line.pk]),
    ]


def form_cases():
    for form, urls, valid, values in (
        ("header", header_form_urls, VALID_HEADER, FORM_VALUES),
        ("line", line_form_urls, VALID_LINE, LINE_FORM_VALUES),
    ):
        for field, choices in values.items():
            yield pytest.param(urls, valid, field, choices, id=f"{form}-{field}")


@pytest.mark.parametrize(("urls", "valid", "field", "values"), list(form_cases()))
def test_the_agreement_and_line_forms_answer_a_bad_value_with_an_error_on_the_form(
    admin_client, world, urls, valid, field, values
):
    before = row_counts()

    for url in urls(world):
        for value in values:
            response = admin_client.post(url, {**valid, field: value})
            assert response.status_code == 200, (url, field, value, response.status_code)
            assert response.context["form"].errors, (url, field, value)
    assert row_counts() == before
