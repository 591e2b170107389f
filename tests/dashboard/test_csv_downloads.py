"""CSV downloads are safe to open in a spreadsheet: a text cell that a spreadsheet would run
as a formula (``=cmd|' /C calc'!A0``) is written with a quote before it, numbers never."""

from __future__ import annotations

import csv
import datetime as dt
import io

import polars as pl
import pytest

from dashboard import ui
from metrics import MetricParams, SliceRequest
from metrics.tickets import TICKET_COLUMNS, customer_history, ticket_export
from tests.conftest import insert_rows
from tests.dashboard.conftest import ALL_DATES, ALL_RANGE
from warehouse import get_engine

HOSTILE_GROUP = "=cmd|' /C calc'!A0"
CREATED = dt.datetime(2026, 6, 1, 9, 0)


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("=1+2", "'=1+2"),
        ("+1+2", "'+1+2"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-inf", "'-inf"),  # a spreadsheet reads it as a formula, not a number
        ("-5", "-5"),  # a text cell that is a number stays a number
        ("-0.25", "-0.25"),
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("-.5", "-.5"),
        ("Billing", "Billing"),
        ("a=b", "a=b"),  # only the first character counts
        (" =1", " =1"),
        ("", ""),
        (None, None),
    ],
)
def test_a_text_cell_that_starts_a_formula_gets_a_quote(given, written):
    frame = pl.DataFrame({"cell": [given]}, schema={"cell": pl.String})
    assert ui.spreadsheet_safe(frame).get_column("cell").to_list() == [written]


def test_numeric_columns_and_headers_are_left_alone_and_hostile_headers_quoted():
    frame = pl.DataFrame(
        {"delta": [-5, 3], "share": [-0.25, 0.5], "+1": [0.9, 0.8], "=HYPERLINK()": ["a", "b"]}
    )
    safe = ui.spreadsheet_safe(frame)
    assert safe.columns == ["delta", "share", "+1", "'=HYPERLINK()"]
    assert safe.get_column("delta").to_list() == [-5, 3]
    assert safe.get_column("share").to_list() == [-0.25, 0.5]
    rows = list(csv.reader(io.StringIO(ui.csv_bytes(frame).decode())))
    assert rows == [
        ["delta", "share", "+1", "'=HYPERLINK()"],
        ["-5", "-0.25", "0.9", "a"],
        ["3", "0.5", "0.8", "b"],
    ]


@pytest.fixture
def hostile_warehouse(engine, warehouse_url: str) -> str:
    """One customer with a ticket in a group whose name is a spreadsheet formula."""
    insert_rows(engine, "customers", [{"customer_id": "c1", "signup_at": dt.datetime(2025, 1, 1)}])
    insert_rows(
        engine,
        "tickets",
        [
            {
                "ticket_id": "t1",
                "customer_id": "c1",
                "created_at": CREATED,
                "first_reply_at": CREATED + dt.timedelta(minutes=30),
                "status": "open",
                "type": "incident",
                "group_name": HOSTILE_GROUP,
                "updated_at": CREATED + dt.timedelta(hours=1),
            }
        ],
    )
    return warehouse_url


def _cells(data: bytes, column: str) -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(data.decode()))]


def test_the_ticket_export_quotes_a_formula_group_name(hostile_warehouse):
    """What the Tickets page's CSV button writes: ``ticket_export`` chunks as CSV."""
    engine = get_engine(hostile_warehouse, read_only=True)
    request = SliceRequest(start=ALL_RANGE[0], end=ALL_RANGE[1])
    chunks = list(ticket_export(engine, MetricParams(), request))
    frame = pl.concat([pl.DataFrame(c, infer_schema_length=None) for c in chunks])
    data = ui.csv_bytes(frame.select(TICKET_COLUMNS))
    assert _cells(data, "group") == ["'" + HOSTILE_GROUP]
    assert _cells(data, "tta_minutes") == ["30.0"]  # a number as it was


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The files the page hands to its download buttons, by the name the user downloads
    (AppTest keeps them in memory; this keeps a copy)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    kept: dict[str, bytes] = {}

    class Keeping(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
            if filename and isinstance(path_or_data, bytes):
                kept[filename] = path_or_data
            return super().load_and_get_id(path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Keeping)
    return kept


def test_the_customer_history_download_quotes_a_formula_group_name(
    run_app, hostile_warehouse, downloads
):
    at = run_app(hostile_warehouse, page="views/tickets.py", dates=ALL_DATES, customer="c1")
    assert not at.exception
    history = customer_history(get_engine(hostile_warehouse, read_only=True), "c1")
    assert [t["group"] for t in history["tickets"]] == [HOSTILE_GROUP]  # stored as given
    data = downloads["customer_c1_tickets.csv"]
    assert _cells(data, "group") == ["'" + HOSTILE_GROUP]
    assert _cells(data, "ticket_id") == ["t1"]


def test_the_cohorts_download_quotes_a_formula_group_name(run_app, hostile_warehouse, downloads):
    at = run_app(
        hostile_warehouse, page="views/cohorts.py", dates=ALL_DATES, kpi="ticket_volume", by="group"
    )
    assert not at.exception
    data = downloads["ticket_volume_by_group_week.csv"]
    assert _cells(data, "group") == ["'" + HOSTILE_GROUP]
    assert _cells(data, "ticket_volume") == ["1"]


def test_every_download_button_is_one_of_the_two_in_ui():
    """Pages call ui.csv_button (which always writes through csv_bytes) or ui.chart's PNG:
    no page hands Streamlit bytes of its own."""
    from pathlib import Path

    folder = Path(ui.__file__).parent
    calls = {
        path.relative_to(folder).as_posix(): path.read_text().count("st.download_button(")
        for path in folder.rglob("*.py")
    }
    assert {path: n for path, n in calls.items() if n} == {"ui.py": 2}
