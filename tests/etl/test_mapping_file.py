"""Any CSV with a mapping file, and ``turnaround inspect``: as a user runs them, and the
mapping's conversions row by row."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest
import yaml

from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.pipeline.inspect import date_shape, inspect_file
from etl.sources.mapping_file import MappingError, load_mapping, parse_mapping
from tests.conftest import FIXTURES, TEST_HASH_KEY
from tests.processes import cli, json_out

# A helpdesk's own spreadsheet: its column names, day-first dates in Berlin time, a
# semicolon in a quoted value, its own status words.
CASES = (
    "Case Number,Customer Email,Opened,First Answer,Closed,State,Via,Labels,Notes\n"
    "C-1,Pat@Example.com,25.01.2025 09:30,25.01.2025 09:50,26.01.2025 10:00,Done,Mail,"
    '"outage|vip","call back; urgent"\n'
    "C-2,CRM-22,03.02.2025 14:00,,,Waiting,Phone,,\n"
    "C-3,kim@example.com,30.03.2025 02:30,,,Open,Mail,,\n"  # no such time in Berlin
    "C-4,lee@example.com,04.02.2025 08:00,,,Escalated,Portal,,\n"
)
MAPPING = {
    "table": "tickets",
    "source": "helpdesk",
    "timezone": "Europe/Berlin",
    "date_format": "%d.%m.%Y %H:%M",
    "columns": {
        "ticket_id": "Case Number",
        "customer_id": "Customer Email",
        "created_at": "Opened",
        "first_reply_at": "First Answer",
        "solved_at": "Closed",
        "status": {
            "column": "State",
            "values": {"Open": "open", "Waiting": "pending", "Done": "solved"},
            "unmapped": "other",
        },
        "channel": {
            "column": "Via",
            "values": {"Mail": "email", "Phone": "voice"},
            "unmapped": "other",
        },
        "tags": {"column": "Labels", "separator": "|"},
    },
}


LIMIT = ("--quarantine-limit", "0.5")  # one bad row of four is more than the default 10%


def _email_id(email: str, key: str) -> str:
    digest = hmac.new(key.encode(), email.strip().lower().encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


def _write(tmp_path: Path, mapping: dict = MAPPING) -> tuple[Path, Path]:
    data, spec = tmp_path / "cases.csv", tmp_path / "mapping.yaml"
    data.write_text(CASES)
    spec.write_text(yaml.safe_dump(mapping))
    return data, spec


def test_a_mapped_file_converts_row_by_row(tmp_path):
    data, spec = _write(tmp_path)
    fmt = load_mapping(spec)
    result = fmt.read(data, ReadContext(hash_key="k"))
    got = {t["ticket_id"]: t for t in result.tickets.to_dicts()}
    assert result.tickets.get_column("row_number").to_list() == [1, 2, 4]
    one = got["C-1"]
    assert one["customer_id"] == _email_id("pat@example.com", "k")
    # 25.01.2025 09:30 in Berlin (CET, UTC+1)
    assert one["created_at"] == dt.datetime(2025, 1, 25, 8, 30)
    assert one["first_reply_at"] == dt.datetime(2025, 1, 25, 8, 50)
    assert one["solved_at"] == dt.datetime(2025, 1, 26, 9, 0)
    assert (one["status"], one["channel"], one["tags"]) == ("solved", "email", ["outage", "vip"])
    assert one["updated_at"] == dt.datetime(2025, 1, 26, 9, 0)  # the latest of its times
    assert (got["C-2"]["customer_id"], got["C-2"]["status"], got["C-2"]["channel"]) == (
        "CRM-22",
        "pending",
        "voice",
    )
    assert (got["C-4"]["status"], got["C-4"]["channel"]) == ("other", "other")
    assert result.unmapped == {
        ("State", "Escalated", "other", None): 1,
        ("Via", "Portal", "other", None): 1,
    }
    [gap] = result.rejected  # 30.03.2025 02:30 is skipped by the clocks going forward
    assert gap.row_number == 3
    assert "created_at: '30.03.2025 02:30 (no such local time in Europe/Berlin)'" in gap.reason
    assert "kim@example.com" not in gap.reason
    assert result.format == "mapped_tickets_csv" and result.source == "helpdesk"


def test_a_file_without_a_mapped_column_is_refused_naming_it(tmp_path):
    data, spec = _write(tmp_path)
    data.write_text(CASES.replace("First Answer", "Answered"))
    with pytest.raises(UnreadableFile, match="lacks the column\\(s\\) 'First Answer'"):
        load_mapping(spec).read(data, ReadContext(hash_key="k"))


def test_a_person_field_the_file_lacks_is_refused_naming_it(tmp_path):
    """A misspelt person field would leave the names it meant in quarantine: refused."""
    data, spec = _write(tmp_path, {**MAPPING, "person_fields": ["Customer name"]})
    with pytest.raises(UnreadableFile, match="lacks the column\\(s\\) 'Customer name'"):
        load_mapping(spec).read(data, ReadContext(hash_key="k"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"table": "orders"}, "table must be one of tickets, nps_responses, customers"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"timezone": "Mars/Olympus"}, "timezone must be an IANA time zone name"),
        ({"date_order": "year-first"}, "date_order must be day-first or month-first"),
        ({"columns": {"ticket_id": "Case Number"}}, "lacks the required column(s) customer_id"),
        (
            {"columns": {**MAPPING["columns"], "severity": "Prio"}},
            "'severity' is not a column of tickets",
        ),
        (
            {
                "columns": {
                    **MAPPING["columns"],
                    "status": {"column": "State", "values": {"Done": "finished"}},
                }
            },
            "columns.status: 'finished' is not one of new, open",
        ),
        (
            {"columns": {**MAPPING["columns"], "channel": {"value": "fax"}}},
            "columns.channel.value: 'fax' is not one of email, web",
        ),
        (
            {"columns": {**MAPPING["columns"], "channel": {"value": "email", "column": "Via"}}},
            "value: stands alone, without 'column'",
        ),
        (
            {"columns": {**MAPPING["columns"], "customer_id": {"value": "one"}}},
            "columns.customer_id must come from a column of the file",
        ),
        (
            {"columns": {**MAPPING["columns"], "ticket_id": {"value": "T1"}}},
            "columns.ticket_id must come from a column of the file",
        ),
        ({"person_fields": "Name"}, "person_fields must be a list of the file's column names"),
        ({"person_fields": ["Name", 3]}, "person_fields must be a list of the file's column"),
        ({"person_fields": ["Name", " "]}, "person_fields must be a list of the file's column"),
    ],
)
def test_a_mapping_that_cannot_be_used_names_the_key(change, message):
    with pytest.raises(MappingError) as refused:
        parse_mapping({**MAPPING, **change}, "m.yaml")
    assert message in str(refused.value) and str(refused.value).startswith("mapping file m.yaml")


def test_load_with_a_mapping_and_with_a_broken_one_from_the_command_line(tmp_path):
    data, spec = _write(tmp_path)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = cli("load", str(data), "--mapping", str(spec), "--warehouse", url, "--json", *LIMIT)
    assert done.returncode == 0, done.stderr
    report = json_out(done)
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"]) == (4, 3, 1)
    assert any(
        "State values with no canonical match, loaded as other" in n for n in report["notes"]
    )
    assert "Pat@Example.com".lower() not in done.stdout.lower()
    spec.write_text("table: tickets\ncolumns: [1, 2]\n")
    broken = cli("load", str(data), "--mapping", str(spec), "--warehouse", url)
    assert broken.returncode == 2
    assert "columns must be a table" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_inspect_names_a_known_export_and_its_columns():
    export = str(FIXTURES / "zendesk_explore" / "tickets.csv")
    zoneless = cli("inspect", export, "--json")  # as a load without a time zone: refused
    assert zoneless.returncode == 1 and json_out(zoneless)["loadable"] is False
    assert json_out(zoneless)["problem"].startswith(  # the reader's own refusal
        "has timestamps without a UTC offset in 'Ticket created - Timestamp' (such as "
        "'2024-03-01T09:15:00'); give their time zone with --source-timezone"
    )
    assert json_out(zoneless)["skeleton"] == ""  # it needs an option, not a mapping
    done = cli("inspect", export, "--source-timezone", "America/New_York", "--json")
    assert done.returncode == 0, done.stderr
    found = json_out(done)
    assert (found["format"], found["rows"], found["loadable"]) == (
        "zendesk_explore_tickets_csv",
        5,
        True,
    )
    assert found["mapped"]["Requester email"] == "customer_id"
    assert found["unmapped"] == ["Full resolution time brackets"]
    assert found["dates"]["Ticket created - Timestamp"] == (
        "ISO 8601 without an offset: needs a time zone"
    )
    assert found["samples"]["Requester email"] == "<email>"
    assert found["skeleton"] == ""  # it loads as it is


def test_inspect_gives_a_skeleton_that_loads_once_its_guesses_are_decided(tmp_path):
    data = tmp_path / "cases.csv"
    data.write_text(CASES)
    done = cli("inspect", str(data))
    assert done.returncode == 1  # no format Turnaround reads: it needs a mapping
    assert "no format Turnaround reads" in done.stdout
    found = inspect_file(data)
    assert found.rows == 4
    skeleton = yaml.safe_load(found.skeleton)
    assert skeleton["table"] == "tickets"
    assert skeleton["columns"]["ticket_id"] == "Case Number"
    assert skeleton["columns"]["customer_id"] == "Customer Email"
    assert skeleton["columns"]["created_at"] == "Opened"
    assert skeleton["columns"]["status"] == {
        "column": "State",
        "values": {"Done": "?", "Escalated": "?", "Open": "open", "Waiting": "?"},
    }
    with pytest.raises(MappingError, match="timezone must be an IANA time zone name"):
        parse_mapping(skeleton, "skeleton")  # an undecided zone stops the load
    assert skeleton["timezone"] == "?"
    skeleton["timezone"] = "Europe/Berlin"
    with pytest.raises(MappingError, match="'\\?' is not one of"):
        parse_mapping(skeleton, "skeleton")  # so do undecided values
    skeleton["columns"]["status"]["values"] = {
        "Done": "solved",
        "Escalated": "open",
        "Open": "open",
        "Waiting": "pending",
    }
    skeleton["columns"]["channel"] = {"column": "Via", "values": {}, "unmapped": "other"}
    skeleton["columns"].pop("updated_at", None)
    skeleton |= {"date_order": "day-first"}
    mapping = parse_mapping(skeleton, "skeleton")
    assert {f.target for f in mapping.fields} >= {"ticket_id", "customer_id", "created_at"}
    assert "# person_fields: [] " in found.skeleton  # none seen: the key is shown, commented


def test_the_skeleton_lists_the_columns_that_seem_to_name_a_person(tmp_path):
    data = tmp_path / "cases.csv"
    data.write_text(
        CASES.replace("Notes\n", "Notes,Customer Name,Phone\n").replace("\nC-", ",x,y\nC-")
    )
    skeleton = yaml.safe_load(inspect_file(data).skeleton)
    assert skeleton["person_fields"] == ["Customer Name", "Phone"]


def test_date_shapes():
    assert date_shape(["2025-01-25T09:30:00Z", "2025-02-01T10:00:00+01:00"]) == (
        "ISO 8601 with a UTC offset"
    )
    assert date_shape(["25/01/2025 1:30", "03/02/2025 10:00"]).startswith("day-first")
    assert date_shape(["01/25/2025", "02/03/2025"]).startswith("month-first")
    assert "needs date_order" in date_shape(["01/02/2025", "03/04/2025"])
    assert date_shape(["Open", "Done"]) is None
    assert date_shape(["01/25/2025 10:00 -0500", "02/13/2025 1:30 +01:00"]) == (
        "month-first (01/25/2025), with a UTC offset"
    )
    assert date_shape(["01/25/2025 10:00 -0500", "02/13/2025 1:30"]).endswith(
        "without an offset: needs a time zone"
    )


def test_inspect_refuses_what_the_load_refuses_and_passes_what_it_reads(tmp_path):
    header = "Ticket ID,Status,Priority,Created time,Contact ID\n"
    offsets = tmp_path / "offsets.csv"
    offsets.write_text(header + "1,Open,Low,01/25/2025 10:00 -0500,c1\n")
    assert cli("inspect", str(offsets)).returncode == 0  # every time has its offset
    day_first = tmp_path / "day_first.csv"
    day_first.write_text(header + "1,Open,Low,25/01/2025 10:00,c1\n")
    options = ("--source-timezone", "UTC", "--json")
    said = cli("inspect", str(day_first), "--date-order", "month-first", *options)
    assert said.returncode == 1
    assert "written day-first, but they are read month-first" in json_out(said)["problem"]
    assert cli("inspect", str(day_first), *options).returncode == 0


def test_a_key_given_twice_in_a_mapping_file_is_refused(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "table: tickets\ncolumns:\n  ticket_id: Case\n  channel: Via\n  channel: {value: email}\n"
    )
    with pytest.raises(MappingError, match="the key 'channel' is given twice"):
        load_mapping(spec)


def test_a_workbook_with_an_empty_first_sheet_is_refused_saying_so(tmp_path):
    import openpyxl

    _, spec = _write(tmp_path)
    book = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(book)
    with pytest.raises(UnreadableFile, match="has an empty first sheet"):
        load_mapping(spec).read(book, ReadContext(hash_key="k"))


def test_inspect_counts_a_json_export():
    found = inspect_file(FIXTURES / "real" / "zendesk_api_tickets_page_offset.json")
    assert (found.format, found.rows, found.problem) == ("zendesk_json", 91, None)


def test_the_hash_key_of_the_suite_is_used_by_the_cli(tmp_path):
    """The CLI test above hashes with the suite's key: the stored id is the keyed hash."""
    import sqlalchemy as sa

    data, spec = _write(tmp_path)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = cli("load", str(data), "--mapping", str(spec), "--warehouse", url, *LIMIT)
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select customer_id from tickets where ticket_id = 'C-1'"))
        assert stored.scalar() == _email_id("pat@example.com", TEST_HASH_KEY)
    engine.dispose()


def test_a_value_fills_a_column_the_export_lacks_in_every_row(tmp_path):
    columns = {**MAPPING["columns"], "channel": {"value": "web"}, "priority": {"value": "high"}}
    data, spec = _write(tmp_path, {**MAPPING, "columns": columns})
    data.write_text(CASES.replace("Via", "Medium"))  # the column is not read at all
    result = load_mapping(spec).read(data, ReadContext(hash_key="k"))
    rows = result.tickets.select("ticket_id", "channel", "priority").rows()
    assert rows == [("C-1", "web", "high"), ("C-2", "web", "high"), ("C-4", "web", "high")]
    assert not any("channel" in note for note in result.notes)
    # a value the mapping gives is the row's, not a default that stored tickets keep theirs over
    assert "channel" not in result.absent_columns.get("tickets", ())


def test_a_workbook_loads_by_a_mapping_file_as_its_csv_would(tmp_path):
    import csv
    import io

    import openpyxl

    data, spec = _write(tmp_path)
    workbook = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(CASES)):
        workbook.active.append(row)
    book = tmp_path / "cases.xlsx"
    workbook.save(book)
    fmt = load_mapping(spec)
    ctx = ReadContext(hash_key="k")
    from_csv, from_book = fmt.read(data, ctx), fmt.read(book, ctx)
    assert from_book.tickets.to_dicts() == from_csv.tickets.to_dicts()
    assert from_book.tickets.height == 3
    assert [(r.row_number, r.reason) for r in from_book.rejected] == [
        (r.row_number, r.reason) for r in from_csv.rejected
    ]
    workbook.active["A1"] = "Case"  # the sheet lacks a column the mapping names
    workbook.save(book)
    with pytest.raises(UnreadableFile, match="has a first sheet that lacks the column") as refused:
        fmt.read(book, ctx)
    assert refused.value.path == str(book)


def test_inspect_reads_the_config_as_a_load_does(tmp_path):
    export = FIXTURES / "real" / "qualtrics_export_3header.csv"
    refused = cli("inspect", str(export), "--json", cwd=tmp_path)
    assert (
        refused.returncode == 1
        and "[sources.qualtrics] nps_question" in (json_out(refused)["problem"])
    )
    (tmp_path / "turnaround.toml").write_text(
        '[sources.qualtrics]\nnps_question = "Q1"\ntimezone = "Europe/Zurich"\n'
    )
    named = cli("inspect", str(export), "--json", cwd=tmp_path)  # the folder's config
    assert named.returncode == 0, named.stdout
    assert json_out(named)["mapped"]["Q1"] == "score"
    other = tmp_path / "other.toml"
    other.write_text('[load]\ndate_order = "day-first"\n')
    by_option = cli("inspect", str(export), "--config", str(other), "--json", cwd=tmp_path)
    assert by_option.returncode == 1  # --config names another file: its settings, not the folder's


def _laughs(levels: int = 9) -> str:
    """Billion laughs: each level an anchor holding ten aliases of the one before, so
    ``columns`` would expand to 10**levels strings (gigabytes at nine)."""
    lines = ['a0: &a0 "lol"']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(["table: tickets", *lines, f"columns: *a{levels}"]) + "\n"


def test_a_yaml_alias_bomb_is_refused_before_anything_is_expanded(tmp_path):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(_laughs())
    assert spec.stat().st_size < 1000  # a few hundred bytes that would expand to 10**9
    with pytest.raises(MappingError) as refused:
        load_mapping(spec)
    assert str(refused.value) == (
        f"mapping file {spec}: uses the alias *a0 (line 3): a mapping file takes no YAML "
        "anchors or aliases (& and *); write each value out"
    )


def test_any_alias_is_refused_even_a_harmless_one(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "table: tickets\ncolumns:\n  ticket_id: &id Case\n  created_at: Opened\n"
        "  assignee_id: *id\n"
    )
    with pytest.raises(MappingError, match=r"uses the alias \*id \(line 5\)"):
        load_mapping(spec)


def test_a_mapping_file_larger_than_any_mapping_is_refused_unread(tmp_path):
    from etl.sources.mapping_file import MAX_MAPPING_BYTES

    spec = tmp_path / "m.yaml"
    spec.write_text("table: tickets\n" + "# padding\n" * (MAX_MAPPING_BYTES // 10 + 1))
    with pytest.raises(MappingError) as refused:
        load_mapping(spec)
    assert str(refused.value) == (
        f"mapping file {spec} is larger than {MAX_MAPPING_BYTES // 1024} KiB: no mapping needs "
        "that much (is it the export itself?)"
    )


def test_the_command_line_refuses_an_alias_bomb_in_one_line(tmp_path):
    data, _ = _write(tmp_path)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_laughs())
    refused = cli("load", str(data), "--mapping", str(bomb), "--warehouse", "duckdb:///:memory:")
    assert refused.returncode == 2
    assert "uses the alias *a0 (line 3)" in refused.stderr and "Traceback" not in refused.stderr
