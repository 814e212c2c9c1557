"""Export of All contracts as filtered, to CSV and Excel (SPEC §6.1)."""

import csv
import datetime
import io

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from contracts.choices import ContractStatus
from contracts.tests import factories
from contracts.tests.test_filtersets import FILTER_CASES, TODAY, build_catalogue, case_id, fix_today, query
from contracts.tests.test_selectors import make_user
from contracts.views import CONTRACT_COLUMNS
from contracts.views.exports import EXPORT_COLUMNS

pytestmark = pytest.mark.django_db

LIST_URL = reverse("contracts:list")
CSV_URL = reverse("contracts:export_csv")
XLSX_URL = reverse("contracts:export_xlsx")
HEADER = [
    "Contract ID",
    "Title",
    "Type",
    "Status",
    "Vendor / party account",
    "Vendor / party name",
    "Legal entity",
    "Effective",
    "Expires",
    "Amendment in process",
    "Connection",
]


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    fix_today(monkeypatch)


@pytest.fixture
def usmf_client(client, django_user_model, legal_entity):
    client.force_login(make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity]))
    return client


@pytest.fixture
def group_client(client, django_user_model):
    client.force_login(make_user(django_user_model, "group-buyer", permissions=("view_contract", "cross_company")))
    return client


@pytest.fixture
def catalogue(legal_entity, other_legal_entity):
    return build_catalogue(legal_entity, other_legal_entity)


def csv_rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(content[1:])))


def xlsx_rows(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(workbook["Contracts"].iter_rows(values_only=True))


# --- CSV -------------------------------------------------------------------------------


def test_csv_has_a_header_and_only_the_filtered_rows(usmf_client, catalogue):
    response = usmf_client.get(CSV_URL, {"status": "Executed", "q": "office", "page": "3"})

    rows = csv_rows(response)
    assert rows[0] == HEADER
    assert rows[1:] == [
        ["PUR-001", "Office chairs 2026", "Purchase", "Executed", "V-1002", "Litware Office", "USMF",
         "2023-01-01", "2026-04-30", "Yes", "Reference CLM"],
    ]  # fmt: skip


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=[case_id(case) for case in FILTER_CASES])
def test_csv_exports_what_the_list_shows(group_client, catalogue, params, expected):
    rows = csv_rows(group_client.get(CSV_URL, query(params)))

    assert sorted(row[0] for row in rows[1:]) == expected


def test_csv_keeps_the_lists_sort_order(group_client, catalogue):
    rows = csv_rows(group_client.get(CSV_URL, {"ordering": "-contract_id"}))

    assert [row[0] for row in rows[1:]] == ["SRV-001", "PUR-002", "PUR-001", "NDA-002", "NDA-001"]


def test_csv_never_holds_another_legal_entitys_contracts(usmf_client, catalogue):
    for params in ({}, {"legal_entity": "DEMF"}, {"q": "NDA-002"}, {"q": "contoso"}):
        ids = [row[0] for row in csv_rows(usmf_client.get(CSV_URL, params))[1:]]
        assert set(ids) <= {"NDA-001", "PUR-001", "PUR-002"}, params
    assert len(csv_rows(usmf_client.get(CSV_URL))) == 1 + 3


def test_csv_is_streamed_as_a_dated_attachment(usmf_client, catalogue):
    response = usmf_client.get(CSV_URL)

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="contracts-{TODAY:%Y-%m-%d}.csv"'


def test_csv_neutralizes_text_that_a_spreadsheet_would_run_as_a_formula(usmf_client, legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, name='=HYPERLINK("http://evil.example","x")')

    rows = csv_rows(usmf_client.get(CSV_URL))

    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","x")'


def test_an_open_ended_contract_exports_a_blank_expiry(usmf_client, legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, expiration_date=None, amendment_in_process=False)

    row = csv_rows(usmf_client.get(CSV_URL))[1]

    assert (row[HEADER.index("Expires")], row[HEADER.index("Amendment in process")]) == ("", "No")


# --- Excel -----------------------------------------------------------------------------


def test_xlsx_opens_with_a_header_and_the_filtered_rows(usmf_client, catalogue):
    response = usmf_client.get(XLSX_URL, {"status": "Executed", "q": "office"})

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == f'attachment; filename="contracts-{TODAY:%Y-%m-%d}.xlsx"'
    rows = xlsx_rows(response)
    assert list(rows[0]) == HEADER
    assert rows[1:] == [
        ("PUR-001", "Office chairs 2026", "Purchase", "Executed", "V-1002", "Litware Office", "USMF",
         datetime.datetime(2023, 1, 1), datetime.datetime(2026, 4, 30), "Yes", "Reference CLM"),
    ]  # fmt: skip


def test_xlsx_dates_are_spreadsheet_dates_and_text_stays_text(usmf_client, legal_entity):
    factories.ContractFactory(legal_entity=legal_entity, name="=1+1", effective_date=datetime.date(2026, 1, 1))

    sheet = load_workbook(io.BytesIO(b"".join(usmf_client.get(XLSX_URL).streaming_content)))["Contracts"]

    effective = sheet.cell(row=2, column=HEADER.index("Effective") + 1)
    assert effective.is_date and effective.number_format == "yyyy-mm-dd"
    title = sheet.cell(row=2, column=2)
    assert (title.value, title.data_type) == ("=1+1", "s")
    assert sheet.freeze_panes == "A2"


def test_xlsx_never_holds_another_legal_entitys_contracts(usmf_client, catalogue):
    ids = [row[0] for row in xlsx_rows(usmf_client.get(XLSX_URL, {"legal_entity": "DEMF"}))[1:]]

    assert sorted(ids) == ["NDA-001", "PUR-001", "PUR-002"]


def test_xlsx_larger_than_a_sheet_is_refused_with_a_pointer_to_csv(usmf_client, legal_entity, monkeypatch):
    monkeypatch.setattr("contracts.views.exports.XLSX_MAX_ROWS", 2)
    factories.ContractFactory.create_batch(3, legal_entity=legal_entity, status=ContractStatus.DRAFT)

    response = usmf_client.get(XLSX_URL, {"status": "Draft"})

    assert response.status_code == 302
    assert response.url == f"{LIST_URL}?status=Draft"
    assert "export CSV" in usmf_client.get(response.url).content.decode()
    assert usmf_client.get(XLSX_URL, {"status": "Draft", "per_page": "1"}).status_code == 302
    monkeypatch.setattr("contracts.views.exports.XLSX_MAX_ROWS", 3)
    assert len(xlsx_rows(usmf_client.get(XLSX_URL))) == 1 + 3


# --- Both ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_an_export_runs_the_same_queries_for_5_and_50_contracts(usmf_client, legal_entity, url):
    params = {"status": "Draft", "type": "Purchase", "legal_entity": "USMF", "q": "a", "ordering": "-expiration_date"}

    def export_queries() -> int:
        with CaptureQueriesContext(db_connection) as queries:
            response = usmf_client.get(url, params)
            assert response.status_code == 200
            content = b"".join(response.streaming_content)
        assert content
        return len(queries)

    factories.ContractFactory.create_batch(5, legal_entity=legal_entity, name="Chairs and tables")
    with_5 = export_queries()
    factories.ContractFactory.create_batch(45, legal_entity=legal_entity, name="Paper and ink")

    assert export_queries() == with_5


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_exports_need_login_and_the_view_permission(client, django_user_model, legal_entity, url):
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user(django_user_model, "visitor", legal_entities=[legal_entity], permissions=()))
    assert client.get(url).status_code == 403


def test_export_columns_are_the_lists_columns_with_the_party_split_in_two():
    expected = []
    for column in CONTRACT_COLUMNS:
        parts = ("account", "name") if column.label == "Vendor / party" else ()
        expected += [f"{column.label} {part}" for part in parts] or [column.label]

    assert [column.header for column in EXPORT_COLUMNS] == expected == HEADER


def test_list_offers_both_exports_with_the_current_filters(usmf_client, catalogue):
    html = usmf_client.get(LIST_URL, {"status": "Executed", "q": "office", "page": "1"}).content.decode()

    assert f'href="{CSV_URL}?status=Executed&amp;q=office">Export CSV</a>' in html
    assert f'href="{XLSX_URL}?status=Executed&amp;q=office">Export Excel</a>' in html
