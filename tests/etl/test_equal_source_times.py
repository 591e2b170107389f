"""Equal source times: two versions of one row with the same ``updated_at`` and different
content end the same way whatever the order of the files, of the rows inside a file, and
however they are split into runs (docs/loading.md, "Nothing stale wins"), on DuckDB and
PostgreSQL alike. The version whose content sorts greatest wins; the stored rows, the
ticket history and the applied ticket metrics all follow that one rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline.load import LoadOptions, load_paths
from tests.postgres_server import fresh_database
from warehouse import ensure_schema, get_engine
from warehouse.schema import tables

# Where a version was read, and in which run: it differs by run and file, never by content.
BOOKKEEPING = {"batch_id", "source_file", "row_number"}

TICKET_HEADER = (
    "ticket_id,customer_id,created_at,first_reply_at,solved_at,status,channel,type,priority,"
    "tags,group_name,assignee_id,agent_replies,reopens,assignee_stations,group_stations,csat,"
    "compensation,updated_at"
)
SIXTH = "2024-01-06T09:00:00Z"
# Two versions of T1 as of the same instant: "solved" sorts after "open", so it wins.
OPEN = f"T1,C1,2024-01-05T09:00:00Z,,,open,email,incident,high,,Support,A1,0,0,1,1,,,{SIXTH}"
SOLVED = (
    "T1,C1,2024-01-05T09:00:00Z,2024-01-05T09:20:00Z,2024-01-06T09:00:00Z,solved,email,"
    f"incident,high,,Support,A1,1,0,1,1,good,,{SIXTH}"
)
CLOSED = (
    "T1,C1,2024-01-05T09:00:00Z,2024-01-05T09:20:00Z,2024-01-06T09:00:00Z,closed,email,"
    "incident,high,,Support,A1,1,0,1,1,good,,2024-02-01T09:00:00Z"
)
NPS_HEADER = "response_id,customer_id,responded_at,score,comment,updated_at"
CUSTOMER_HEADER = "customer_id,signup_at,churned_at,segment,plan,region,mrr,updated_at"

Scenario = list[list[str]]  # runs, each a list of the sides it loads together
# Both sides in one run, and one run each in both orders.
TWO_SIDES: list[Scenario] = [[["a", "b"]], [["a"], ["b"]], [["b"], ["a"]]]


def _reset(engine: sa.Engine) -> None:
    """Empty every table but the warehouse's settings: the next scenario starts afresh."""
    with engine.begin() as conn:
        for name, table in tables.items():
            if name != "warehouse_meta":
                conn.execute(table.delete())


def _state(engine: sa.Engine, names: tuple[str, ...]) -> dict[str, list[tuple]]:
    """The rows of tables ``names``, without bookkeeping, sorted."""
    state = {}
    with engine.connect() as conn:
        for name in names:
            columns = [c for c in tables[name].columns if c.name not in BOOKKEEPING]
            rows = conn.execute(sa.select(*columns)).all()
            state[name] = sorted((tuple(r) for r in rows), key=repr)
    return state


def _same_whatever_the_order(
    engine: sa.Engine,
    folder: Path,
    sides: dict[str, dict[str, str]],
    names: tuple[str, ...],
    scenarios: list[Scenario] = TWO_SIDES,
) -> dict[str, list[tuple]]:
    """Load ``sides`` (side -> file name -> text) in every scenario into an emptied
    warehouse; assert that each leaves the same rows in tables ``names``; return them."""
    paths: dict[str, list[Path]] = {}
    for side, files in sides.items():
        paths[side] = []
        for name, text in files.items():
            paths[side].append(folder / name)
            paths[side][-1].write_text(text)
    states = {}
    for runs in scenarios:
        _reset(engine)
        for run in runs:
            report = load_paths(engine, [path for side in run for path in paths[side]])
            assert report.status == "succeeded"
        states[repr(runs)] = _state(engine, names)
    first = next(iter(states.values()))
    for runs, state in states.items():
        assert state == first, f"{runs} left {state}, not {first}"
    return first


def _csv(*lines: str) -> str:
    return "\n".join([TICKET_HEADER, *lines]) + "\n"


def _column(state: dict, table: str, name: str) -> list:
    index = [c.name for c in tables[table].columns if c.name not in BOOKKEEPING].index(name)
    return [row[index] for row in state[table]]


def test_tied_canonical_tickets_nps_and_customers_end_the_same_in_any_order(any_engine, tmp_path):
    sides = {
        "a": {
            "open.csv": _csv(OPEN),
            # score 9 sorts after 3; plan "pro" after "basic"
            "three.csv": f"{NPS_HEADER}\nr1,c1,2024-02-01,3,meh,2024-02-10\n",
            "pro.csv": f"{CUSTOMER_HEADER}\nc1,2023-01-01,,smb,pro,EU,49,2024-03-01\n",
        },
        "b": {
            "solved.csv": _csv(SOLVED),
            "nine.csv": f"{NPS_HEADER}\nr1,c1,2024-02-01,9,great,2024-02-10\n",
            "basic.csv": f"{CUSTOMER_HEADER}\nc1,2023-01-01,,smb,basic,EU,10,2024-03-01\n",
        },
        # both ticket versions in one file, in either order
        "ab": {"open_solved.csv": _csv(OPEN, SOLVED)},
        "ba": {"solved_open.csv": _csv(SOLVED, OPEN)},
    }
    names = ("tickets", "ticket_versions", "nps_responses", "customers")
    state = _same_whatever_the_order(any_engine, tmp_path, sides, names, [*TWO_SIDES, [["b", "a"]]])
    assert _column(state, "tickets", "status") == ["solved"]
    assert state["ticket_versions"] == []  # a tie has one state at that instant: the winner
    assert _column(state, "nps_responses", "score") == [9]
    assert _column(state, "customers", "plan") == ["pro"]
    names = ("tickets", "ticket_versions")
    assert _same_whatever_the_order(any_engine, tmp_path, sides, names, [[["ab"]], [["ba"]]]) == {
        name: state[name] for name in names
    }


def _zendesk(status: str, updated_at: str = SIXTH) -> dict:
    return {
        "id": 5,
        "requester_id": 7,
        "created_at": "2024-01-05T09:00:00Z",
        "updated_at": updated_at,
        "status": status,
        "via": {"channel": "email"},
        "tags": [],
    }


def _rating(score: str) -> dict:
    return {
        "id": 501,
        "ticket_id": 5,
        "score": score,
        "created_at": SIXTH,
        "updated_at": "2024-01-07T12:00:00Z",
    }


def _delighted(score: int, comment: str) -> str:
    return json.dumps(
        [{"id": "9", "person": "p1", "score": score, "comment": comment,
          "created_at": 1706745600, "updated_at": 1707000000, "survey_type": "nps"}]
    )  # fmt: skip


def test_tied_zendesk_tickets_ratings_groups_and_delighted_responses(any_engine, tmp_path):
    def page(stream: str, item: dict) -> str:
        return json.dumps({stream: [item]})

    sides = {
        "a": {
            "open.json": page("tickets", _zendesk("open")),
            "bad.json": page("satisfaction_ratings", _rating("bad")),
            "support.json": page("groups", {"id": 3, "name": "Support", "updated_at": SIXTH}),
            "two.json": _delighted(2, "still broken"),
        },
        "b": {
            "solved.json": page("tickets", _zendesk("solved")),
            "good.json": page("satisfaction_ratings", _rating("good")),
            "billing.json": page("groups", {"id": 3, "name": "Billing", "updated_at": SIXTH}),
            "ten.json": _delighted(10, "fixed"),
        },
    }
    names = ("tickets", "ticket_versions", "ticket_ratings", "ticket_groups", "nps_responses")
    state = _same_whatever_the_order(any_engine, tmp_path, sides, names)
    assert _column(state, "tickets", "status") == ["solved"]
    assert state["ticket_versions"] == []
    assert _column(state, "ticket_ratings", "score") == ["good"]
    assert _column(state, "ticket_groups", "name") == ["Support"]
    assert _column(state, "nps_responses", "score") == [10]


def test_the_history_keeps_the_winner_of_a_tie(any_engine, tmp_path):
    """Open and solved as of 6 January, closed on 1 February: the history holds the solved
    version of 6 January, however the three arrive."""
    sides = {"open": {"open.csv": _csv(OPEN)}, "solved": {"solved.csv": _csv(SOLVED)}}
    sides["closed"] = {"closed.csv": _csv(CLOSED)}
    scenarios = [
        [["open", "solved", "closed"]],
        [["closed", "solved", "open"]],
        [["open"], ["solved"], ["closed"]],  # the tie replaces the current row, then closed
        [["closed"], ["open"], ["solved"]],  # the tie replaces the version the history holds
        [["closed"], ["solved"], ["open"]],  # the loser comes to the history's winner
        [["solved"], ["open", "closed"]],  # the loser, superseded in its run
        [["closed", "open"], ["solved"]],
    ]
    state = _same_whatever_the_order(
        any_engine, tmp_path, sides, ("tickets", "ticket_versions"), scenarios
    )
    assert _column(state, "tickets", "status") == ["closed"]
    assert _column(state, "ticket_versions", "status") == ["solved"]
    assert [str(v) for v in _column(state, "ticket_versions", "valid_from")] == [
        "2024-01-06 09:00:00"
    ]


def _metrics(replies: int, reply_minutes: int) -> str:
    metric = {
        "ticket_id": 5,
        "reply_time_in_minutes": {"calendar": reply_minutes, "business": None},
        "solved_at": "2024-01-09T00:00:00Z",
        "replies": replies,
        "reopens": 0,
        "assignee_stations": 1,
        "group_stations": 1,
        "updated_at": "2024-01-09T00:00:00Z",
    }
    return json.dumps({"ticket_metrics": [metric]})


def test_tied_ticket_metrics_end_the_same_in_any_order(any_engine, tmp_path):
    """Two ticket_metrics of one ticket as of the same instant: applied at once, or held until
    the ticket comes, the ticket ends with the same ones (45 reply minutes sort after 5)."""
    sides = {
        "ticket": {"ticket.json": json.dumps({"tickets": [_zendesk("solved")]})},
        "slow": {"slow.json": _metrics(replies=3, reply_minutes=45)},
        "fast": {"fast.json": _metrics(replies=1, reply_minutes=5)},
    }
    scenarios = [
        [["ticket", "slow", "fast"]],
        [["fast", "slow", "ticket"]],
        [["ticket"], ["slow"], ["fast"]],  # the tie loses to the ticket's metrics
        [["ticket"], ["fast"], ["slow"]],  # the tie replaces the ticket's metrics
        [["fast"], ["slow"], ["ticket"]],  # the tie replaces the held metrics
        [["slow"], ["fast"], ["ticket"]],  # the tie loses to the held metrics
    ]
    state = _same_whatever_the_order(
        any_engine, tmp_path, sides, ("tickets", "held_ticket_metrics"), scenarios
    )
    assert _column(state, "tickets", "agent_replies") == [3]
    assert [str(v) for v in _column(state, "tickets", "first_reply_at")] == ["2024-01-05 09:45:00"]
    assert state["held_ticket_metrics"] == []


def test_metrics_that_came_separately_do_not_decide_a_zendesk_tie(any_engine, tmp_path):
    """Two Zendesk versions that differ in priority alone ("low" sorts after "high"): the
    stored one has the ticket's metrics by then, which the other never carries (they come in
    their own stream); the priority decides all the same."""
    sides = {
        "low": {"low.json": json.dumps({"tickets": [_zendesk("open") | {"priority": "low"}]})},
        "high": {"high.json": json.dumps({"tickets": [_zendesk("open") | {"priority": "high"}]})},
        "metrics": {"metrics.json": _metrics(replies=3, reply_minutes=45)},
    }
    scenarios = [
        [["low", "high", "metrics"]],
        [["low", "metrics"], ["high"]],
        [["high", "metrics"], ["low"]],
    ]
    state = _same_whatever_the_order(any_engine, tmp_path, sides, ("tickets",), scenarios)
    assert _column(state, "tickets", "priority") == ["low"]
    assert _column(state, "tickets", "agent_replies") == [3]


@pytest.mark.parametrize("scenario", ["one run", "two runs"])
def test_a_tie_loser_is_a_duplicate_and_an_equal_version_too(any_engine, tmp_path, scenario):
    """The accounting: the version that loses a tie counts among the duplicates, in one run
    or two, and so does a version equal in content (a re-delivery)."""
    open_, solved = tmp_path / "open.csv", tmp_path / "solved.csv"
    open_.write_text(_csv(OPEN))
    solved.write_text(_csv(SOLVED))
    if scenario == "one run":
        copy = tmp_path / "solved_again.csv"
        copy.write_text(_csv(SOLVED))
        totals = load_paths(any_engine, [solved, open_, copy]).totals()
        assert (totals["rows_loaded"], totals["rows_duplicates"]) == (1, 2)
    else:
        load_paths(any_engine, [solved])
        before = _state(any_engine, ("tickets", "ticket_versions"))
        totals = load_paths(any_engine, [open_, solved], LoadOptions(force=True)).totals()
        assert (totals["rows_replaced"], totals["rows_duplicates"]) == (0, 2)
        assert _state(any_engine, ("tickets", "ticket_versions")) == before
    assert _column(_state(any_engine, ("tickets",)), "tickets", "status") == ["solved"]


@pytest.fixture
def en_us_engine(pg_server) -> Iterator[sa.Engine]:
    """A PostgreSQL database whose text sorts as en-US does (ICU): ``apple`` before
    ``Banana``, where code points put ``Banana`` first."""
    with fresh_database(pg_server) as url:
        name = sa.engine.make_url(url).database
        admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # a generated name, not input
            conn.execute(sa.text(f'DROP DATABASE "{name}"'))
            conn.execute(
                sa.text(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                    "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            )
        admin.dispose()
        engine = get_engine(url)
        ensure_schema(engine)
        yield engine
        engine.dispose()


def test_text_ties_go_by_code_point_whatever_postgresql_collation(en_us_engine, tmp_path):
    """A run ranks its own rows in DuckDB; a later run compares with PostgreSQL's rows. Both
    order text by code point, so "apple" beats "Banana" in one run or two."""
    with en_us_engine.connect() as conn:
        assert conn.execute(sa.text("select 'apple' < 'Banana'")).scalar()  # en-US order
    sides = {
        "a": {"apple.csv": f"{NPS_HEADER}\nr1,c1,2024-02-01,9,apple,2024-02-10\n"},
        "b": {"banana.csv": f"{NPS_HEADER}\nr1,c1,2024-02-01,9,Banana,2024-02-10\n"},
    }
    state = _same_whatever_the_order(en_us_engine, tmp_path, sides, ("nps_responses",))
    assert _column(state, "nps_responses", "comment") == ["apple"]
