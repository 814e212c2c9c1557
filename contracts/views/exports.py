"""All contracts as filtered, to CSV and Excel (SPEC §6.1).

The export takes the list's own query string (search, filters, sort) through the same
filterset, over the same user-scoped queryset, so it holds exactly the rows the list pages
through — never another legal entity's.

Memory stays flat whatever the row count: rows are read with one query through a
database cursor, ``EXPORT_CHUNK_SIZE`` at a time, as plain tuples (``values_list``, no
model instances, no query per row).

- CSV is streamed to the client as the rows are read, so it has no cap.
- Excel is written row by row by openpyxl's write-only workbook into a temporary file on
  disk, then sent from that file; the response starts once the file is complete. A sheet
  holds at most 1,048,576 rows, so a larger export is refused (one cheap query checks)
  and the user is pointed to CSV.
"""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from contracts import selectors
from contracts.choices import ContractStatus
from contracts.filtersets import ContractFilterSet

from .contracts import ContractAccessMixin

EXPORT_CHUNK_SIZE = 2000
XLSX_MAX_ROWS = 1_048_576 - 1  # Excel's sheet limit, less the header row
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Text that a spreadsheet would run as a formula when it opens a CSV file (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportColumn:
    header: str
    width: int  # in characters, for Excel


# The columns of All contracts; the vendor/party column is split into account and name.
EXPORT_COLUMNS = (
    ExportColumn("Contract ID", 16),
    ExportColumn("Title", 48),
    ExportColumn("Type", 14),
    ExportColumn("Status", 22),
    ExportColumn("Vendor / party account", 16),
    ExportColumn("Vendor / party name", 32),
    ExportColumn("Legal entity", 10),
    ExportColumn("Effective", 12),
    ExportColumn("Expires", 12),
    ExportColumn("Amendment in process", 12),
    ExportColumn("Connection", 20),
)
# The columns of the contracts table, read as tuples in this order by ``_export_rows``.
_FIELDS = selectors.CONTRACT_TABLE_FIELDS


class ContractCsvExportView(ContractAccessMixin, View):
    def get(self, request):
        rows = _export_rows(_filtered_contracts(request))
        response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
        return response


class ContractXlsxExportView(ContractAccessMixin, View):
    def get(self, request):
        contracts = _filtered_contracts(request)
        if contracts.order_by().values("pk")[XLSX_MAX_ROWS : XLSX_MAX_ROWS + 1].exists():
            messages.error(
                request,
                f"These contracts are more than an Excel sheet holds ({XLSX_MAX_ROWS:,} rows). "
                "Narrow the filters, or export CSV.",
            )
            return HttpResponseRedirect(f"{reverse('contracts:list')}?{request.GET.urlencode()}")
        return FileResponse(
            _xlsx_file(_export_rows(contracts)),
            as_attachment=True,
            filename=_filename("xlsx"),
            content_type=XLSX_CONTENT_TYPE,
        )


def _filtered_contracts(request) -> QuerySet:
    filterset = ContractFilterSet(request.GET, queryset=selectors.contracts_visible_to(request.user), request=request)
    filterset.is_valid()  # as on the list page: an invalid filter is not applied
    return filterset.qs


def _export_rows(contracts: QuerySet) -> Iterator[list]:
    """One list of cell values per contract, in ``EXPORT_COLUMNS`` order; dates stay dates."""
    for (
        contract_id,
        name,
        type_name,
        status,
        account,
        party_number,
        party_name,
        vendor_name,
        legal_entity,
        effective,
        expires,
        amendment_in_process,
        connection,
    ) in contracts.values_list(*_FIELDS).iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield [
            contract_id,
            name,
            type_name,
            ContractStatus(status).label,
            account or party_number,
            party_name or vendor_name or "",
            legal_entity,
            effective,
            expires,  # blank: open-ended
            "Yes" if amendment_in_process else "No",
            connection or "",
        ]


def _filename(extension: str) -> str:
    return f"contracts-{timezone.localdate():%Y-%m-%d}.{extension}"


# --- CSV -------------------------------------------------------------------------------


def _csv_chunks(rows: Iterable[list], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text in chunks of many rows (one write per row would be slow to send).

    It starts with a byte-order mark, so that Excel reads the file as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(column.header for column in EXPORT_COLUMNS)
    for number, row in enumerate(rows, start=1):
        writer.writerow(_csv_value(value) for value in row)
        if number % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return value


# --- Excel -----------------------------------------------------------------------------


def _xlsx_file(rows: Iterable[list]):
    """A temporary file holding the workbook, positioned at its start; deleted when closed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contracts")
    sheet.freeze_panes = "A2"
    for index, column in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, column.header, font=bold) for column in EXPORT_COLUMNS])
    last_row = 1
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        last_row += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(EXPORT_COLUMNS))}{last_row}"
    file = tempfile.TemporaryFile()  # noqa: SIM115 - the FileResponse closes it, which deletes it
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


def _xlsx_cell(sheet, value, *, font=None):
    """Text is always text: openpyxl would store a string starting with "=" as a formula."""
    if not isinstance(value, str) and font is None:
        return value  # dates become Excel dates (yyyy-mm-dd)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell
