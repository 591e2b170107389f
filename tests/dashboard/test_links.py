"""A page's state in its URL under stable keys: a shared link opens the same rows in the same
order, a renamed label keeps old links working, and a value the data does not hold is said on
the page (AppTest against the dashboard's small warehouse, DuckDB and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from metrics import DIMENSIONS, KPI_CATALOG, MetricParams, SliceRequest
from metrics.tickets import ticket_page
from tests.dashboard.conftest import ALL_DATES, ALL_RANGE
from warehouse import get_engine

TICKETS = "views/tickets.py"
COHORTS = "views/cohorts.py"


@pytest.fixture
def warehouse_url(any_warehouse_url: str) -> str:
    return any_warehouse_url


def _warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


def _ids(url: str, offset: int, sort: str, descending: bool) -> list[str]:
    found = ticket_page(
        get_engine(url, read_only=True),
        MetricParams(),
        SliceRequest(start=ALL_RANGE[0], end=ALL_RANGE[1]),
        offset=offset,
        limit=50,
        sort=sort,
        descending=descending,
    )
    return [row["ticket_id"] for row in found["rows"]]


def test_a_shared_link_opens_the_tickets_in_its_sort_order_and_page(run_app, loaded_warehouse):
    # 81 tickets (40 recovered, 10 unrecovered, 30 questions, one open): page 2 of the
    # ascending ticket ids holds the 51st to the 81st, as the metrics order them.
    at = run_app(
        loaded_warehouse,
        page=TICKETS,
        link={"page": "2"},
        dates=ALL_DATES,
        sort="ticket_id",
        order="asc",
    )
    assert not at.exception
    shown = list(at.dataframe[0].value["ticket_id"])
    assert shown == _ids(loaded_warehouse, 50, "ticket_id", descending=False)
    assert shown == sorted(shown) and len(shown) == 31
    assert at.selectbox(key="sort").value == "ticket_id" and at.toggle(key="order").value is False
    # the link's state stays in the URL, by id
    assert at.query_params["sort"] == "ticket_id" and at.query_params["order"] == "asc"

    # The same link without its order opens the default, newest or largest first.
    at = run_app(loaded_warehouse, page=TICKETS, dates=ALL_DATES, sort="ticket_id")
    shown = list(at.dataframe[0].value["ticket_id"])
    assert shown == _ids(loaded_warehouse, 0, "ticket_id", descending=True)
    assert shown == sorted(shown, reverse=True)


def test_changing_the_order_writes_it_into_the_url(run_app, loaded_warehouse):
    at = run_app(loaded_warehouse, page=TICKETS, dates=ALL_DATES)
    assert "sort" not in at.query_params and "order" not in at.query_params  # defaults
    at.selectbox(key="sort").set_value("tta_minutes")
    at.toggle(key="order").set_value(False)
    at.run()
    assert at.query_params["sort"] == "tta_minutes" and at.query_params["order"] == "asc"
    shown = list(at.dataframe[0].value["ticket_id"])
    assert shown == _ids(loaded_warehouse, 0, "tta_minutes", descending=False)


def test_a_link_keeps_its_kpi_when_a_label_is_renamed(run_app, loaded_warehouse, monkeypatch):
    link = {"dates": ALL_DATES, "kpi": "tta_median_minutes", "by": "type"}
    monkeypatch.setitem(
        KPI_CATALOG,
        "tta_median_minutes",
        replace(KPI_CATALOG["tta_median_minutes"], label="Median first reply"),
    )
    monkeypatch.setitem(DIMENSIONS, "type", replace(DIMENSIONS["type"], label="Kind"))
    at = run_app(loaded_warehouse, page=COHORTS, **link)
    assert not at.exception and not at.warning
    assert at.selectbox(key="kpi").value == "tta_median_minutes"
    assert at.selectbox(key="by").value == "type"
    assert "Kind" in at.dataframe[0].value.columns  # the renamed label is shown
    assert at.query_params["kpi"] == "tta_median_minutes" and at.query_params["by"] == "type"


def test_an_old_link_with_labels_still_opens_and_is_rewritten_with_ids(run_app, loaded_warehouse):
    at = run_app(
        loaded_warehouse,
        page=COHORTS,
        dates=ALL_DATES,
        kpi=KPI_CATALOG["tta_median_minutes"].label,
        by="Type",
        cohort_by="First failure month",
        across="Channel",
    )
    assert not at.exception and not at.warning
    assert at.selectbox(key="across").value == "channel"
    assert at.query_params["across"] == "channel"
    assert at.selectbox(key="kpi").value == "tta_median_minutes"
    assert at.selectbox(key="by").value == "type"
    assert at.radio(key="cohort_by").value == "first_failure_month"
    assert at.query_params["kpi"] == "tta_median_minutes"
    assert at.query_params["by"] == "type"
    assert at.query_params["cohort_by"] == "first_failure_month"


def test_a_link_value_the_data_does_not_hold_is_said_on_the_page(run_app, loaded_warehouse):
    at = run_app(
        loaded_warehouse,
        page=COHORTS,
        dates=ALL_DATES,
        channel=["fax", "email"],
        plan="platinum",
        kpi="nope",
    )
    assert not at.exception
    said = _warnings(at)
    channels = ", ".join(DIMENSIONS["channel"].values)
    assert f"'fax' is not a channel in this data; channels are {channels}" in said
    # the fixture's customers are all on plan pro
    assert "'platinum' is not a plan in this data; plans are pro" in said
    assert "The link's kpi=nope is not a KPI here" in said
    assert at.selectbox(key="kpi").value == "one_touch_rate"  # the default instead
    assert at.multiselect(key="channel").value == ["email"]  # the known value kept


def test_the_recovery_pages_split_is_linked_by_its_id(run_app, loaded_warehouse):
    # By its id: the split opens and the link keeps the id.
    at = run_app(loaded_warehouse, page="views/recovery.py", dates=ALL_DATES, split="one_touch")
    assert not at.exception and not at.warning
    assert at.selectbox(key="split").value == "one_touch"
    assert at.query_params["split"] == "one_touch"
    # A link saved with the label ("One touch") opens too and is rewritten with the id.
    old = run_app(loaded_warehouse, page="views/recovery.py", dates=ALL_DATES, split="One touch")
    assert old.selectbox(key="split").value == "one_touch"
    assert old.query_params["split"] == "one_touch"
    # The default split leaves the link.
    plain = run_app(loaded_warehouse, page="views/recovery.py", dates=ALL_DATES)
    assert plain.selectbox(key="split").value == "recovery_group"
    assert "split" not in plain.query_params
