"""Exports saved as spreadsheets: an Excel workbook (.xlsx) and Excel 2003 XML
(SpreadsheetML, which Freshdesk writes for its "Excel" export under a .xls name).

The first worksheet is written out as CSV text (its cells as an export writes them: dates
as ``2025-01-25 01:30:00``, whole numbers without a decimal point, durations as
``26:15:30``) into the run's temporary folder, and that CSV is read by the CSV format whose
columns it has (Freshdesk's, Zendesk Explore's, ...), so a workbook maps exactly as the same
export in CSV would. Grain: that of the CSV format.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from xml.etree import ElementTree

from etl.pipeline.formats import SNIFF_BYTES, Format, batches, detect, whole_file
from etl.pipeline.frames import ReadContext, ReadResult, UnreadableFile

XLSX_DESCRIPTION = "Excel workbook (.xlsx) of an export Turnaround reads as CSV (its first sheet)"
XML_DESCRIPTION = (
    "Excel 2003 XML spreadsheet (SpreadsheetML, often named .xls) of an export Turnaround "
    "reads as CSV (its first worksheet)"
)
SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = f"{{{SPREADSHEET_NS}}}"
# The first element's start tag: after the XML declaration, processing instructions
# (``<?mso-application ...?>``) and comments.
_ROOT_TAG = re.compile(r"<[A-Za-z_][^>]*>")
SheetRows = Callable[[Path], Iterator[list[str]]]


def sniff_xlsx(head: bytes) -> bool:
    """A zip archive (an .xlsx workbook is one) whose entries include the workbook part."""
    return head.startswith(b"PK\x03\x04") and b"xl/" in head


def sniff_spreadsheet_xml(head: str) -> bool:
    """An XML document whose root is SpreadsheetML's Workbook, known by its namespace URI
    whatever prefix the writer binds it to: none (Excel), ``ss:`` (Freshdesk) or any other."""
    start = head.lstrip("\ufeff \t\r\n")
    root = _ROOT_TAG.search(start)
    if not start.startswith("<") or SPREADSHEET_NS not in head or root is None:
        return False
    parser = ElementTree.XMLPullParser(events=("start",))
    try:  # the root's start tag only: a fault further on is the reader's to report
        parser.feed(start[: root.end()])
        return any(element.tag == f"{_SS}Workbook" for _, element in parser.read_events())
    except ElementTree.ParseError:
        return False


def cell_text(value) -> str:
    """A cell as the CSV export would have written it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a duration cell: hours may pass 24
        seconds = round(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_rows(path: Path) -> Iterator[list[str]]:
    """The first worksheet's rows as text, read a row at a time."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(
            str(path), f"is not an Excel workbook Turnaround can open ({exc})", [XLSX_DESCRIPTION]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(v) for v in row]
    except ElementTree.ParseError as exc:  # a NUL or a lone surrogate as &#...;, for one
        raise UnreadableFile(
            str(path), f"has a first sheet whose XML is not well-formed ({exc})", [XLSX_DESCRIPTION]
        ) from None
    finally:
        workbook.close()


def spreadsheet_xml_rows(path: Path) -> Iterator[list[str]]:
    """The first worksheet's rows of an Excel 2003 XML file, parsed as it streams."""
    row: list[str] | None = None
    sheets = 0
    try:
        for event, element in ElementTree.iterparse(path, events=("start", "end")):
            tag = element.tag
            if event == "start" and tag == f"{_SS}Worksheet":
                sheets += 1
            if sheets != 1:
                continue
            if event == "start" and tag == f"{_SS}Row":
                row = []
            elif event == "end" and tag == f"{_SS}Cell" and row is not None:
                index = element.get(f"{_SS}Index")
                if index is not None:  # cells left out before this one are empty
                    row.extend([""] * (int(index) - 1 - len(row)))
                data = element.find(f"{_SS}Data")
                row.append(_xml_value(data))
                element.clear()
            elif event == "end" and tag == f"{_SS}Row" and row is not None:
                yield row
                row = None
                element.clear()
            elif event == "end" and tag == f"{_SS}Worksheet":
                return
    except ElementTree.ParseError as exc:
        raise UnreadableFile(
            str(path), f"is not well-formed Excel 2003 XML ({exc})", [XML_DESCRIPTION]
        ) from None


def _xml_value(data) -> str:
    if data is None or data.text is None:
        return ""
    text = data.text.strip()
    kind = data.get(f"{_SS}Type")
    if kind == "DateTime":  # 2025-01-25T01:30:00.000
        return text.replace("T", " ").removesuffix(".000")
    if kind == "Number" and text.endswith(".0"):
        return text[:-2]
    return text


def _as_csv(rows: Iterator[list[str]], folder: Path) -> Path:
    target = folder / "sheet.csv"
    width = None
    with target.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        for row in rows:
            if width is None:  # the header: its last named column ends every row
                while row and row[-1] == "":
                    row.pop()
                width = len(row)
            # a sheet leaves out empty cells at the end of a row, and may carry empty ones
            # past the header's last column: each row gets the header's width
            while len(row) > width and row[-1] == "":
                row.pop()
            if not any(row):  # an empty sheet row is no record
                continue
            writer.writerow(row + [""] * (width - len(row)))
    return target


@contextmanager
def first_sheet(path: Path, rows_of: SheetRows) -> Iterator[Path]:
    """The first sheet of the spreadsheet ``path``, written out as a UTF-8 CSV file that lasts
    while the context is open."""
    with tempfile.TemporaryDirectory(prefix="turnaround-sheet-") as folder:
        yield _as_csv(rows_of(path), Path(folder))


def sheet_rows_of(path: Path) -> SheetRows | None:
    """How to read ``path``'s rows when it is a spreadsheet (.xlsx or Excel 2003 XML), else
    None."""
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError:
        return None
    if sniff_xlsx(head):
        return xlsx_rows
    if sniff_spreadsheet_xml(head.decode("utf-8", errors="replace")):
        return spreadsheet_xml_rows
    return None


def _read_sheet(rows_of: SheetRows, description: str):
    def read_batches(path: Path, ctx: ReadContext) -> Iterator[ReadResult]:
        with first_sheet(path, rows_of) as sheet:
            try:
                inner = detect(sheet)
            except UnreadableFile as exc:
                raise UnreadableFile(
                    str(path), f"has a first sheet that {exc.problem}", [description]
                ) from None
            yield from _sheet_batches(path, sheet, partial(batches, inner), ctx)

    return read_batches


def _sheet_batches(
    path: Path,
    sheet: Path,
    read_batches: Callable[[Path, ReadContext], Iterator[ReadResult]],
    ctx: ReadContext,
) -> Iterator[ReadResult]:
    utf8 = dataclasses.replace(ctx, encoding="utf-8")  # the sheet is written as UTF-8
    try:
        yield from read_batches(sheet, utf8)
    except UnreadableFile as exc:  # named by the workbook, not the sheet written out
        problem = f"has a first sheet that {exc.problem}"
        raise UnreadableFile(str(path), problem, exc.expected) from None


def or_first_sheet(
    read_batches: Callable[[Path, ReadContext], Iterator[ReadResult]],
) -> Callable[[Path, ReadContext], Iterator[ReadResult]]:
    """``read_batches`` of a CSV reader (a mapping file's) that also reads a spreadsheet, by
    its first sheet as the CSV it would be."""

    def read(path: Path, ctx: ReadContext) -> Iterator[ReadResult]:
        rows_of = sheet_rows_of(path)
        if rows_of is None:
            yield from read_batches(path, ctx)
            return
        with first_sheet(path, rows_of) as sheet:
            if sheet.stat().st_size == 0:
                kind = XLSX_DESCRIPTION if rows_of is xlsx_rows else XML_DESCRIPTION
                raise UnreadableFile(str(path), "has an empty first sheet", [kind])
            yield from _sheet_batches(path, sheet, read_batches, ctx)

    return read


SHEET_ROWS: dict[str, SheetRows] = {  # by format name
    "excel_xlsx": xlsx_rows,
    "excel_2003_xml": spreadsheet_xml_rows,
}
_xlsx_batches = _read_sheet(xlsx_rows, XLSX_DESCRIPTION)
_xml_batches = _read_sheet(spreadsheet_xml_rows, XML_DESCRIPTION)

FORMATS: list[Format] = [
    Format(
        "excel_xlsx",
        XLSX_DESCRIPTION,
        sniff=lambda head: False,
        read=whole_file(_xlsx_batches),
        read_batches=_xlsx_batches,
        sniff_bytes=sniff_xlsx,
    ),
    Format(
        "excel_2003_xml",
        XML_DESCRIPTION,
        sniff=sniff_spreadsheet_xml,
        read=whole_file(_xml_batches),
        read_batches=_xml_batches,
    ),
]
