"""Dates at the edges: a link's dates far apart, malformed or out of the picker's range, a
range with no data, and far dates stored in the warehouse never end a page in a traceback."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.wording import as_of_text
from tests.conftest import insert_rows
from tests.dashboard.conftest import AS_OF

PAGES = [None, "views/recovery.py", "views/cohorts.py", "views/tickets.py", "views/health.py"]
DUCKDB_ONLY = pytest.mark.parametrize("any_warehouse_url", ["duckdb"], indirect=True)


@pytest.fixture
def warehouse_url(any_warehouse_url: str) -> str:
    return any_warehouse_url


def _callouts(at: AppTest) -> list[str]:
    return [e.value for e in (*at.warning, *at.info, *at.error)]


@DUCKDB_ONLY
@pytest.mark.parametrize("page", PAGES)
def test_a_range_of_centuries_opens_every_page(run_app, loaded_warehouse, page):
    at = run_app(loaded_warehouse, page=page, dates=["1900-01-01", "3801-01-01"])
    assert not at.exception, at.exception
    assert at.sidebar.date_input[0].value == (dt.date(1900, 1, 1), dt.date(3801, 1, 1))


def test_the_overview_of_a_range_of_centuries_has_no_earlier_period(run_app, loaded_warehouse):
    at = run_app(loaded_warehouse, dates=["1900-01-01", "3801-01-01"])
    assert not at.exception, at.exception
    # Nothing to compare with: no tile shows a change (the paradox's verdict tile shows its
    # interval where the others show a change, and is no change between periods).
    changes = [m for m in at.metric if not m.label.startswith("Recovery paradox")]
    assert changes and all(not m.proto.delta for m in changes)
    assert len(changes) == len(at.metric) - 1


@DUCKDB_ONLY
@pytest.mark.parametrize(
    ("dates", "shown"),
    [
        (["1900-01-01", "banana"], "1900-01-01, banana"),
        (["0001-01-01", "9999-12-31"], "0001-01-01, 9999-12-31"),
        (["1899-12-31"], "1899-12-31"),
        (["2026-01-01", "2026-02-01", "2026-03-01"], "2026-01-01, 2026-02-01, 2026-03-01"),
    ],
)
def test_link_dates_that_cannot_be_used_are_refused_in_words(
    run_app, loaded_warehouse, dates, shown
):
    at = run_app(loaded_warehouse, dates=dates)
    assert not at.exception, at.exception
    assert (
        f"The link's dates ({shown}) are not one or two days from 1900-01-01 to 9000-12-31; "
        "showing the last 30 days of data instead."
    ) in _callouts(at)
    assert "02 Oct 2026 to 31 Oct 2026 (30 days)" in at.caption[0].value  # the default range


def test_usable_link_dates_say_nothing():
    from dashboard.filters import url_dates_problem  # here: the pages' tests run without it

    assert url_dates_problem([]) is None
    assert url_dates_problem(["2026-10-01", "2026-10-31"]) is None
    assert url_dates_problem(["2026/10/01"]) is None  # Streamlit's other spelling
    assert url_dates_problem(["1900-01-01", "9000-12-31"]) is None
    assert url_dates_problem(["2026-10-31", "2026-02-30"]) is not None


@DUCKDB_ONLY
def test_a_range_after_the_data_shows_no_trend_rather_than_failing(run_app, loaded_warehouse):
    at = run_app(loaded_warehouse, dates=["2030-01-01", "2030-01-31"])
    assert not at.exception, at.exception
    # the range holds none of the data's days: the page says so, and shows no tile or trend
    assert any(
        text.startswith("No tickets or NPS responses from 01 Jan 2030 to 31 Jan 2030; the data")
        for text in _callouts(at)
    )
    assert not at.metric and not at.get("vega_lite_chart")


@pytest.mark.parametrize("page", PAGES)
def test_far_dates_stored_before_the_check_open_every_page(run_app, engine, loaded_warehouse, page):
    far = dt.datetime(9999, 12, 31, 23, 59, 59)
    insert_rows(
        engine,
        "nps_responses",
        [{"response_id": "far", "customer_id": "r00", "responded_at": far, "score": 0}],
    )
    at = run_app(loaded_warehouse, page=page)
    assert not at.exception, at.exception
    if page is None:
        assert at.caption[0].value.startswith(as_of_text(AS_OF.isoformat()))


@DUCKDB_ONLY
@pytest.mark.parametrize("page", PAGES)
def test_data_stored_before_1900_opens_every_page(run_app, engine, warehouse_url, page):
    early = dt.datetime(1899, 6, 1)
    insert_rows(engine, "customers", [{"customer_id": "c1", "signup_at": early}])
    insert_rows(
        engine,
        "nps_responses",
        [{"response_id": "r1", "customer_id": "c1", "responded_at": early, "score": 9}],
    )
    at = run_app(warehouse_url, page=page)
    assert not at.exception, at.exception
    assert at.sidebar.date_input[0].value == (dt.date(1900, 1, 1), dt.date(1900, 1, 1))
