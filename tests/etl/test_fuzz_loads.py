"""Fuzzing the loader: malformed canonical CSV, Zendesk and Delighted files never give a
traceback, the accounting always holds, and a refused file leaves the warehouse as it was.

Hypothesis writes the files (bad dates, out-of-range scores, missing ids, duplicate keys,
truncated lines, non-UTF-8 bytes, extra or missing columns) and loads them in-process into
a copy of a small warehouse; a few fixed cases go through the real command line.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from etl.pipeline.frames import UnreadableFile
from etl.pipeline.load import FileRefused, LoadOptions, load_paths
from tests.processes import cli
from warehouse import get_engine

TICKET_COLUMNS = [
    "ticket_id", "customer_id", "created_at", "first_reply_at", "solved_at", "status",
    "channel", "type", "priority", "tags", "group_name", "assignee_id", "agent_replies",
    "reopens", "assignee_stations", "group_stations", "csat", "compensation", "updated_at",
]  # fmt: skip
NPS_COLUMNS = ["response_id", "customer_id", "responded_at", "score", "comment"]
COUNTED = ("tickets", "nps_responses", "customers", "quarantine")
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

ids = st.integers(min_value=1, max_value=12).map(str)  # few ids: duplicate keys happen
days = st.integers(min_value=1, max_value=28)
bad_text = st.sampled_from(["", "yesterday", "2024-13-45", "-1", "1e400", "nan", "{}", "\x00"])


@st.composite
def ticket_line(draw) -> list[str]:
    day = draw(days)
    row = {
        "ticket_id": draw(ids),
        "customer_id": draw(
            st.sampled_from(["c1", "c2", "Alice@Example.com", "alice@example.com"])
        ),
        "created_at": f"2024-01-{day:02d}T08:00:00Z",
        "first_reply_at": f"2024-01-{day:02d}T09:00:00Z",
        "solved_at": draw(st.sampled_from(["", f"2024-02-{day:02d}T00:00:00Z"])),
        "status": draw(st.sampled_from(["open", "solved", "closed", "archived"])),
        "channel": draw(st.sampled_from(["email", "web", "fax"])),
        "type": draw(st.sampled_from(["", "incident", "question"])),
        "priority": "normal",
        "tags": draw(st.sampled_from(["", "bug", "outage;vip"])),
        "group_name": "Tier 1",
        "assignee_id": "a1",
        "agent_replies": draw(st.sampled_from(["0", "1", "3", "-2", "two"])),
        "reopens": "0",
        "assignee_stations": "1",
        "group_stations": "1",
        "csat": draw(st.sampled_from(["", "good", "bad", "meh"])),
        "compensation": draw(st.sampled_from(["", "10.5", "-3"])),
        "updated_at": f"2024-03-{draw(days):02d}T00:00:00Z",
    }
    broken = draw(st.sampled_from([None, *TICKET_COLUMNS]))
    if broken is not None:
        row[broken] = draw(bad_text)
    return [row[c] for c in TICKET_COLUMNS]


@st.composite
def nps_line(draw) -> list[str]:
    return [
        draw(st.one_of(ids, st.just(""))),
        draw(st.sampled_from(["c1", "c2", "pat@example.com", ""])),
        draw(st.one_of(days.map(lambda d: f"2024-02-{d:02d}"), bad_text)),
        draw(st.one_of(st.integers(-3, 14).map(str), bad_text)),
        draw(st.sampled_from(["", "ok", "mail me: pat@example.com", 'a "quoted", comma'])),
    ]


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_file(draw, columns: list[str], line) -> bytes:
    """A CSV file: the header, rows, and file-level damage."""
    header = list(columns)
    rows = draw(st.lists(line(), min_size=0, max_size=12))
    damage = draw(
        st.sampled_from(
            ["none", "drop_column", "extra_column", "ragged", "truncated", "non_utf8", "crlf"]
        )
    )
    if damage == "drop_column":
        gone = draw(st.integers(0, len(header) - 1))
        header.pop(gone)
        rows = [r[:gone] + r[gone + 1 :] for r in rows]
    elif damage == "extra_column":
        header.append("surprise")
        rows = [[*r, "x"] for r in rows]
    lines = [",".join(header)] + [",".join(map(_csv_field, r)) for r in rows]
    if damage == "ragged" and len(lines) > 1:
        lines[-1] += ",one,too,many"
    text = "\n".join(lines) + "\n"
    if damage == "truncated":
        text = text[: draw(st.integers(1, len(text)))]
    if damage == "crlf":
        text = text.replace("\n", "\r\n")
    data = text.encode()
    if damage == "non_utf8":
        data += "Très – bien\n".encode("cp1252")
    return data


@st.composite
def zendesk_file(draw) -> bytes:
    records = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["tickets", "users", "ticket_metrics"]))
        if kind == "tickets":
            data = {
                "id": draw(st.one_of(st.integers(1, 9), st.just("x"), st.none(), st.just({}))),
                "requester_id": draw(st.sampled_from([1, 2, "2", None])),
                "created_at": draw(st.sampled_from(["2024-01-02T00:00:00Z", "soon", None])),
                "updated_at": "2024-01-03T00:00:00Z",
                "status": draw(st.sampled_from(["open", "solved", "deleted", 7])),
                "via": draw(st.sampled_from([{"channel": "email"}, "email", None])),
                "tags": draw(st.sampled_from([["bug"], "bug vip", None, 5])),
            }
        elif kind == "users":
            data = {
                "id": draw(st.sampled_from([1, 2, None, "u"])),
                "email": draw(st.sampled_from(["a@example.com", None, 3])),
                "external_id": draw(st.sampled_from([None, "crm-1", "b@example.com"])),
            }
        else:
            data = {
                "ticket_id": draw(st.sampled_from([1, 2, None])),
                "replies": draw(st.sampled_from([0, 2, -1, "many"])),
                "reply_time_in_minutes": {"calendar": draw(st.sampled_from([5, None, "x"]))},
                "updated_at": draw(st.sampled_from(["2024-01-04T00:00:00Z", "later"])),
            }
        line = json.dumps({"stream": kind, "data": data})
        if draw(st.booleans()) and draw(st.booleans()):
            line = line[: draw(st.integers(1, len(line)))]  # a truncated line
        records.append(line)
    data = ("\n".join(records) + "\n").encode()
    if draw(st.booleans()) and draw(st.booleans()):
        data = b'{"stream": "tickets", "data": {"subject": "caf\xe9"}}\n' + data
    return data


@st.composite
def delighted_file(draw) -> bytes:
    responses = [
        {
            "id": draw(st.sampled_from(["1", "2", "3", None, 4])),
            "person": draw(st.sampled_from(["p1", {"id": "p2", "email": "x@example.com"}, None])),
            "score": draw(st.sampled_from([9, 0, 11, -1, "ten", None, 7.0])),
            "created_at": draw(st.sampled_from([1706745600, "1706745600", "noon", None])),
            "survey_type": draw(st.sampled_from(["nps", "csat", None])),
            "comment": draw(st.sampled_from([None, "great", {"a": 1}])),
        }
        for _ in range(draw(st.integers(0, 10)))
    ]
    if draw(st.booleans()):
        text = json.dumps(responses)
    else:
        text = "\n".join(json.dumps(r) for r in responses)
    if text and draw(st.booleans()) and draw(st.booleans()):
        text = text[: draw(st.integers(1, len(text)))]
    return text.encode()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A warehouse holding one good row of each table: what a refused file must not change."""
    root = tmp_path_factory.mktemp("fuzz-base")
    (root / "tickets.csv").write_text(
        ",".join(TICKET_COLUMNS) + "\n"
        "T-0,c0,2024-01-01T00:00:00Z,,,open,email,,,,,,,,,,,,2024-01-01T00:00:00Z\n"
    )
    (root / "nps.csv").write_text(",".join(NPS_COLUMNS) + "\nR-0,c0,2024-01-01,8,\n")
    path = root / "base.duckdb"
    engine = get_engine(f"duckdb:///{path}")
    load_paths(engine, [root / "tickets.csv", root / "nps.csv"])
    engine.dispose()
    return path


def _state(engine: sa.Engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            t: sorted(map(repr, conn.execute(sa.text(f"select * from {t}"))))  # fixed names
            for t in (*COUNTED, "customer_identities", "held_ticket_metrics")
        }


OUTCOMES = ("refused", "loaded")


def _load_and_check(baseline: Path, name: str, data: bytes, limit: float) -> str:
    """Load one fuzzed file into a copy of the baseline; check what must hold either way and
    return which way it went."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        warehouse = folder / "w.duckdb"
        shutil.copy(baseline, warehouse)
        export = folder / name
        export.write_bytes(data)
        engine = get_engine(f"duckdb:///{warehouse}")
        before = _state(engine)
        try:
            report = load_paths(engine, [export], LoadOptions(quarantine_limit=limit))
        except (UnreadableFile, FileRefused) as exc:
            event(f"refused: {type(exc).__name__}")
            assert _state(engine) == before  # refused whole: nothing changed
            with engine.connect() as conn:
                last = conn.execute(
                    sa.text("select status from etl_runs order by started_at desc limit 1")
                ).scalar()
            assert last == "failed"
            engine.dispose()
            return "refused"
        after = _state(engine)
        engine.dispose()
        assert report.status == "succeeded"
        event("loaded, some rows quarantined" if report.totals()["rows_quarantined"] else "loaded")
        for stats in report.stats.values():
            assert stats.balanced, stats
        totals = report.totals()
        assert len(after["quarantine"]) - len(before["quarantine"]) == totals["rows_quarantined"]
        for table in ("tickets", "nps_responses", "customers"):
            loaded = sum(s.rows_loaded for (_, t), s in report.stats.items() if t == table)
            assert len(after[table]) - len(before[table]) == loaded
        assert "@" not in repr(after)  # no raw email, whatever the damage
        return "loaded"


@FUZZ
@given(data=csv_file(TICKET_COLUMNS, ticket_line), limit=st.sampled_from([0.1, 1.0]))
def test_fuzzed_canonical_tickets(baseline, data, limit):
    assert _load_and_check(baseline, "tickets.csv", data, limit) in OUTCOMES


@FUZZ
@given(data=csv_file(NPS_COLUMNS, nps_line), limit=st.sampled_from([0.1, 1.0]))
def test_fuzzed_canonical_nps(baseline, data, limit):
    assert _load_and_check(baseline, "nps.csv", data, limit) in OUTCOMES


@FUZZ
@given(data=zendesk_file(), limit=st.sampled_from([0.1, 1.0]))
def test_fuzzed_zendesk_records(baseline, data, limit):
    assert _load_and_check(baseline, "zendesk.jsonl", data, limit) in OUTCOMES


@FUZZ
@given(data=delighted_file(), limit=st.sampled_from([0.1, 1.0]))
def test_fuzzed_delighted_responses(baseline, data, limit):
    assert _load_and_check(baseline, "delighted.json", data, limit) in OUTCOMES


REAL_PROCESS_CASES = {
    "truncated.csv": (",".join(NPS_COLUMNS) + '\nr1,c1,2024-02-01,9,"never closed\n').encode(),
    "cp1252.csv": (",".join(NPS_COLUMNS) + "\nr1,c1,2024-02-01,9,Très\n").encode("cp1252"),
    "mostly-bad.csv": (",".join(NPS_COLUMNS) + "\nr1,c1,x,99,\nr2,c2,2024-02-01,9,\n").encode(),
    "broken.jsonl": b'{"stream": "tickets", "data": {"id": 1\n{"stream": "users"',
    "empty.json": b"",
}


@pytest.mark.parametrize("name", sorted(REAL_PROCESS_CASES))
def test_malformed_files_through_the_command_line(baseline, tmp_path, name):
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(baseline, warehouse)
    export = tmp_path / name
    export.write_bytes(REAL_PROCESS_CASES[name])
    url = f"duckdb:///{warehouse}"
    engine = get_engine(url)
    before = _state(engine)
    engine.dispose()
    result = cli("load", str(export), "--warehouse", url, "--json")
    assert result.returncode == 1, result.stdout  # every one of these is refused
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"
    assert "Nothing was loaded." in result.stderr
    engine = get_engine(url)
    assert _state(engine) == before
    engine.dispose()
