"""Property: versions of tickets and NPS responses, many with equal ``updated_at``, loaded in
any order, split into any files and runs, leave the stored rows and the ticket history that
a plain Python reading of the rule gives (docs/loading.md, "Nothing stale wins": the later
source time wins; of equal ones, the greatest content, compared column by column with a null
lowest and text by code point), on DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from etl.pipeline.load import load_paths
from tests.postgres_server import fresh_database
from warehouse import ensure_schema, get_engine
from warehouse.schema import tables

TICKET_HEADER = (
    "ticket_id,customer_id,created_at,solved_at,status,channel,priority,tags,agent_replies,"
    "csat,updated_at"
)
NPS_HEADER = "response_id,customer_id,responded_at,score,comment,updated_at"
DAY = "2024-03-{:02d}T00:00:00Z"

ticket_version = st.fixed_dictionaries(
    {
        "ticket_id": st.sampled_from(["T1", "T2"]),
        "day": st.integers(1, 3),  # three instants: ties are common
        "status": st.sampled_from(["open", "solved", "closed"]),
        "solved_day": st.sampled_from([None, 1, 2]),
        "agent_replies": st.integers(0, 2),
        "csat": st.sampled_from([None, "good", "bad"]),
        "priority": st.sampled_from(["low", "high"]),
        "tags": st.sampled_from([[], ["a"], ["a", "b"], ["b"], ["B"]]),
    }
)
nps_version = st.fixed_dictionaries(
    {
        "response_id": st.sampled_from(["r1", "r2"]),
        "day": st.integers(1, 2),
        "score": st.sampled_from([3, 9, 10]),
        "comment": st.sampled_from([None, "apple", "Banana", "éclair", "apple pie"]),
    }
)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def warehouse(request, tmp_path_factory) -> Iterator[sa.Engine]:
    """One warehouse per kind for the module; each example empties it."""
    if request.param == "duckdb":
        engine = get_engine(f"duckdb:///{tmp_path_factory.mktemp('w') / 'w.duckdb'}")
        ensure_schema(engine)
        yield engine
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("pg_server")) as url:
        engine = get_engine(url)
        ensure_schema(engine)
        yield engine
        engine.dispose()


def _at(day: int | None) -> dt.datetime | None:
    return None if day is None else dt.datetime(2024, 3, day)


def _ticket_line(v: dict) -> str:
    solved = "" if v["solved_day"] is None else DAY.format(v["solved_day"])
    return (
        f"{v['ticket_id']},C1,2024-02-01T00:00:00Z,{solved},{v['status']},email,"
        f"{v['priority']},{';'.join(v['tags'])},{v['agent_replies']},{v['csat'] or ''},"
        f"{DAY.format(v['day'])}"
    )


def _nps_line(v: dict) -> str:
    return (
        f"{v['response_id']},c1,2024-02-01,{v['score']},{v['comment'] or ''},{DAY.format(v['day'])}"
    )


def _lowest_null(value) -> tuple:
    return (0,) if value is None else (1, value)


def _ticket_content(v: dict) -> tuple:
    """The documented order: the versioned columns first (status, solve time, replies,
    CSAT, of those drawn here), then the rest in the table's order (priority, tags)."""
    fields = (v["status"], _at(v["solved_day"]), v["agent_replies"], v["csat"])
    return tuple(map(_lowest_null, (*fields, v["priority"], v["tags"])))


def _nps_content(v: dict) -> tuple:
    return tuple(map(_lowest_null, (v["score"], v["comment"])))  # the other columns are equal


def _winners(versions: list[dict], key: str, content) -> dict[str, dict[int, dict]]:
    """Per row key, per instant: the version that wins there."""
    found: dict[str, dict[int, dict]] = {}
    for v in versions:
        held = found.setdefault(v[key], {}).get(v["day"])
        if held is None or content(v) > content(held):
            found[v[key]][v["day"]] = v
    return found


def expected(tickets: list[dict], responses: list[dict]) -> dict[str, list[tuple]]:
    current, history = [], []
    for ticket_id, by_day in _winners(tickets, "ticket_id", _ticket_content).items():
        for day, v in by_day.items():
            versioned = (v["status"], _at(v["solved_day"]), v["agent_replies"], v["csat"])
            if day == max(by_day):
                current.append((ticket_id, _at(day), *versioned, v["priority"], v["tags"]))
            else:
                history.append((ticket_id, _at(day), *versioned))
    nps = [
        (response_id, _at(day), v["score"], v["comment"])
        for response_id, by_day in _winners(responses, "response_id", _nps_content).items()
        for day, v in by_day.items()
        if day == max(by_day)
    ]
    return {"tickets": sorted(current), "ticket_versions": sorted(history), "nps": sorted(nps)}


def found(engine: sa.Engine) -> dict[str, list[tuple]]:
    t, v, n = tables["tickets"].c, tables["ticket_versions"].c, tables["nps_responses"].c
    queries = {
        "tickets": sa.select(
            t.ticket_id, t.updated_at, t.status, t.solved_at, t.agent_replies, t.csat,
            t.priority, t.tags,
        ),
        "ticket_versions": sa.select(
            v.ticket_id, v.valid_from, v.status, v.solved_at, v.agent_replies, v.csat
        ),
        "nps": sa.select(n.response_id, n.updated_at, n.score, n.comment),
    }  # fmt: skip
    with engine.connect() as conn:
        return {name: sorted(tuple(r) for r in conn.execute(q)) for name, q in queries.items()}


@st.composite
def deliveries(draw) -> tuple[list[dict], list[dict], list[list[list[tuple[str, dict]]]]]:
    """Versions (some repeated), shuffled, cut into files, the files cut into runs."""
    tickets = draw(st.lists(ticket_version, min_size=1, max_size=7))
    responses = draw(st.lists(nps_version, max_size=5))
    items = [("tickets", v) for v in tickets] + [("nps", v) for v in responses]
    items += draw(st.lists(st.sampled_from(items), max_size=2))  # re-delivered as they were
    items = draw(st.permutations(items))
    file_of = draw(st.lists(st.integers(0, 2), min_size=len(items), max_size=len(items)))
    files = [[item for item, f in zip(items, file_of, strict=True) if f == i] for i in range(3)]
    files = [f for f in files if f]
    run_of = draw(st.lists(st.integers(0, 2), min_size=len(files), max_size=len(files)))
    runs = [[f for f, r in zip(files, run_of, strict=True) if r == i] for i in range(3)]
    return tickets, responses, [run for run in runs if run]


def _reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for name, table in tables.items():
            if name != "warehouse_meta":
                conn.execute(table.delete())


def _write(folder: Path, name: str, header: str, lines: list[str]) -> list[Path]:
    if not lines:
        return []
    path = folder / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return [path]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # Each example is a few loads (seconds): shrinking a failure would take many minutes,
    # and the failing example as drawn is small already.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(drawn=deliveries())
def test_any_order_and_split_of_versions_gives_the_rule_s_rows(warehouse, drawn):
    tickets, responses, runs = drawn
    _reset(warehouse)
    with tempfile.TemporaryDirectory() as folder:
        for r, run in enumerate(runs):
            paths = []
            for f, items in enumerate(run):
                ticket_lines = [_ticket_line(v) for kind, v in items if kind == "tickets"]
                nps_lines = [_nps_line(v) for kind, v in items if kind == "nps"]
                paths += _write(Path(folder), f"t{r}_{f}.csv", TICKET_HEADER, ticket_lines)
                paths += _write(Path(folder), f"n{r}_{f}.csv", NPS_HEADER, nps_lines)
            # a file equal to one loaded before is skipped: its rows are in already
            assert load_paths(warehouse, paths).status in ("succeeded", "skipped")
    assert found(warehouse) == expected(tickets, responses)
