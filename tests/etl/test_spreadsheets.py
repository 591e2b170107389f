"""Freshdesk's export saved as an Excel workbook (.xlsx) and as Excel 2003 XML
(SpreadsheetML under a .xls name): each maps exactly as the CSV does, row by row."""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
import sqlalchemy as sa

from etl.pipeline.formats import detect
from etl.pipeline.frames import UnreadableFile
from etl.pipeline.inspect import inspect_file
from etl.pipeline.load import LoadOptions, load_paths
from etl.sources.spreadsheets import SPREADSHEET_NS
from tests.conftest import FIXTURES
from tests.etl.test_freshdesk import CTX, KOLKATA, REAL, check_real_rows
from tests.processes import cli, json_out

# Freshdesk's "Excel" export: SpreadsheetML whose every element carries the ss: prefix
FRESHDESK_XML = FIXTURES / "freshdesk" / "tickets_export.xls"

DATES = ("Created time", "Resolved time")


def _rows() -> list[list[str]]:
    with REAL.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _xlsx(path: Path) -> Path:
    """The real export as Excel stores it: ids as numbers, times as date cells, empty cells
    left out."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    header, *rows = _rows()
    sheet.append(header)
    for row in rows:
        cells = []
        for name, value in zip(header, row, strict=True):
            if name == "Ticket ID":
                cells.append(int(value))
            elif name in DATES and value:
                cells.append(dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S"))
            else:
                cells.append(value or None)
        sheet.append(cells)
    sheet.append([])  # a trailing empty row, as sheets often have
    workbook.save(path)
    return path


def _cell(name: str, value: str) -> str:
    if not value:
        return ""
    if name == "Ticket ID":
        kind, text = "Number", value
    elif name in DATES:
        kind, text = "DateTime", value.replace(" ", "T") + ".000"
    else:
        kind, text = "String", escape(value)
    return f'<Cell><Data ss:Type="{kind}">{text}</Data></Cell>'


def _spreadsheet_xml(path: Path, prefix: str = "") -> Path:
    """The real export in Excel 2003 XML, as Microsoft's XML Spreadsheet Reference describes
    it: a Workbook of Worksheets, each a Table of Rows of Cells with typed Data; an empty
    cell is left out and the next one carries its position in ss:Index. Elements are in the
    default namespace, as Excel writes them, or carry ``prefix`` (``x`` writes ``x:Row`` and
    ``x:Type``, with no ``ss`` declared)."""
    header, *rows = _rows()
    lines = [
        '<?xml version="1.0"?>',
        '<?mso-application progid="Excel.Sheet"?>',
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"',
        ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">',
        '<Worksheet ss:Name="Tickets"><Table>',
        "<Row>" + "".join(_cell("", f"{n}") for n in header) + "</Row>",
    ]
    for row in rows:
        cells, skipped = [], False
        for position, (name, value) in enumerate(zip(header, row, strict=True), start=1):
            if not value:
                skipped = True
                continue
            cell = _cell(name, value)
            if skipped:
                cell = cell.replace("<Cell>", f'<Cell ss:Index="{position}">', 1)
                skipped = False
            cells.append(cell)
        lines.append("<Row>" + "".join(cells) + "</Row>")
    lines += [
        "</Table></Worksheet>",
        '<Worksheet ss:Name="Other"><Table>',
        '<Row><Cell><Data ss:Type="String">not read</Data></Cell></Row>',
        "</Table></Worksheet></Workbook>",
    ]
    text = "\n".join(lines)
    if prefix:
        text = re.sub(r"<(/?)(Workbook|Worksheet|Table|Row|Cell|Data)\b", rf"<\1{prefix}:\2", text)
        text = text.replace(f'xmlns="{SPREADSHEET_NS}"', f'xmlns:{prefix}="{SPREADSHEET_NS}"')
        text = text.replace(f' xmlns:ss="{SPREADSHEET_NS}"', "").replace("ss:", f"{prefix}:")
    path.write_text(text, encoding="utf-8")
    return path


def test_an_xlsx_workbook_maps_as_the_csv(tmp_path):
    path = _xlsx(tmp_path / "tickets.xlsx")
    fmt = detect(path)
    assert fmt.name == "excel_xlsx"
    result = fmt.read(path, CTX)
    assert result.format == "freshdesk_tickets_csv"
    check_real_rows(result)


def test_excel_2003_xml_under_an_xls_name_maps_as_the_csv(tmp_path):
    path = _spreadsheet_xml(tmp_path / "tickets.xls")
    assert 'ss:Index="' in path.read_text()
    fmt = detect(path)
    assert fmt.name == "excel_2003_xml"
    check_real_rows(fmt.read(path, CTX))


def test_a_workbook_whose_sheet_is_no_known_export_is_refused(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Colour"])
    workbook.active.append(["Pat", "blue"])
    path = tmp_path / "other.xlsx"
    workbook.save(path)
    with pytest.raises(UnreadableFile, match="has a first sheet that matches no export format"):
        detect(path).read(path, CTX)


def test_a_broken_workbook_is_refused_whole(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"xl/" + b"\0" * 100)
    with pytest.raises(UnreadableFile, match="is not an Excel workbook"):
        detect(path).read(path, CTX)


@pytest.mark.parametrize("reference", ["&#0;", "&#xD83D;"])
@pytest.mark.parametrize("write", [_xlsx, _spreadsheet_xml], ids=["xlsx", "xml"])
def test_a_sheet_with_a_character_xml_cannot_hold_is_refused_whole(tmp_path, write, reference):
    """XML holds no NUL and no lone surrogate, not even as a character reference: the sheet
    is not well-formed, and the file is refused with a sentence, not a parser's trace."""
    path = write(tmp_path / ("tickets.xlsx" if write is _xlsx else "tickets.xls"))
    if write is _xlsx:
        with zipfile.ZipFile(path) as workbook:
            parts = {name: workbook.read(name) for name in workbook.namelist()}
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = parts[sheet].replace(b"Acme Inc", f"Acme{reference}".encode(), 1)
        with zipfile.ZipFile(path, "w") as workbook:
            for name, data in parts.items():
                workbook.writestr(name, data)
    else:
        path.write_text(path.read_text().replace("Acme Inc", f"Acme{reference}", 1))
    with pytest.raises(UnreadableFile, match="not well-formed") as refused:
        detect(path).read(path, CTX)
    assert "reference to invalid character number" in refused.value.problem


@pytest.mark.parametrize("write", [_xlsx, _spreadsheet_xml], ids=["xlsx", "xml"])
def test_inspect_shows_a_workbook_by_its_first_sheet(tmp_path, write):
    from etl.pipeline.inspect import inspect_file

    path = write(tmp_path / ("tickets.xlsx" if write is _xlsx else "tickets.xls"))
    found = inspect_file(path, "utf-8", CTX)  # CTX: the export's time zone given
    header, *rows = _rows()
    assert found.format == detect(path).name and found.problem is None
    assert found.rows == len(rows) == 45
    assert found.columns == header
    assert found.mapped["Ticket ID"] == "ticket_id" and found.mapped["Created time"] == "created_at"
    assert found.description.endswith(
        "Freshdesk ticket export CSV (Ticket ID, Status, Created "
        "time, ...; Excel re-saves included)"
    )
    assert found.skeleton == ""  # it loads as it is


def test_inspect_gives_a_skeleton_for_a_workbook_of_its_own_columns(tmp_path):
    from etl.pipeline.inspect import inspect_file

    workbook = openpyxl.Workbook()
    workbook.active.append(["Case", "Opened", "Who", "State"])
    workbook.active.append([7, "25/01/2025 10:00", "pat@example.com", "Open"])
    path = tmp_path / "own.xlsx"
    workbook.save(path)
    found = inspect_file(path)
    assert found.problem == "its first sheet matches no export format Turnaround reads"
    assert (found.rows, found.columns) == (1, ["Case", "Opened", "Who", "State"])
    assert found.dates["Opened"].startswith("day-first (25/01/2025)")
    assert found.samples["Who"] == "<email>"
    assert "  created_at: Opened  # required" in found.skeleton
    assert '      "Open": "open"' in found.skeleton


def _freshdesk_xml(path: Path) -> Path:
    path.write_bytes(FRESHDESK_XML.read_bytes())
    return path


SHAPES = {
    "ss_prefix": _freshdesk_xml,
    "default_namespace": _spreadsheet_xml,
    "x_prefix": lambda path: _spreadsheet_xml(path, "x"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_excel_2003_xml_is_read_by_its_namespace_whatever_the_prefix(tmp_path, engine, shape):
    """Detected, inspected and loaded by the namespace URI, as a namespace-aware reader does:
    elements in the default namespace (Excel), with ``ss:`` (Freshdesk) or any prefix."""
    path = SHAPES[shape](tmp_path / "tickets.xls")
    text = path.read_text()
    assert {"ss_prefix": "<ss:Row>", "default_namespace": "<Row>", "x_prefix": "<x:Row>"}[
        shape
    ] in text
    assert detect(path).name == "excel_2003_xml"
    check_real_rows(detect(path).read(path, CTX))
    found = inspect_file(path, "utf-8", CTX)
    header, *rows = _rows()
    assert (found.format, found.problem, found.columns, found.rows) == (
        "excel_2003_xml",
        None,
        header,
        45,
    )
    report = load_paths(engine, [path], LoadOptions(source_timezone=KOLKATA))
    assert report.status == "succeeded"
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from tickets")).scalar() == 45


def test_freshdesks_excel_export_is_inspected_and_loaded_by_the_command(tmp_path):
    warehouse = f"duckdb:///{tmp_path / 'w.duckdb'}"
    shown = cli("inspect", str(FRESHDESK_XML), "--source-timezone", KOLKATA, "--json")
    assert shown.returncode == 0, shown.stderr
    found = json_out(shown)
    assert (found["format"], found["loadable"], found["rows"]) == ("excel_2003_xml", True, 45)
    assert found["columns"][:3] == ["Ticket ID", "Subject", "Description"]
    loaded = cli(
        "load", str(FRESHDESK_XML), "--source-timezone", KOLKATA, "--warehouse", warehouse, "--json"
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json_out(loaded)["rows_loaded"] == 45
