"""What a run reports and keeps about the rows it could not load: every file in the report,
the raw line in quarantine under the right table, and refusals that say what is wrong."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from etl.pipeline.frames import UnreadableFile
from etl.pipeline.load import FileRefused, LoadOptions, load_paths
from tests.processes import cli, json_out

NPS_HEADER = "response_id,customer_id,responded_at,score,comment"


def _quarantine(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("select target_table, row_number, raw_row, reason from quarantine")
        ).all()


def test_a_header_only_file_is_in_the_report(any_engine, tmp_path):
    empty = tmp_path / "nps.csv"
    empty.write_text(NPS_HEADER + "\n")
    report = load_paths(any_engine, [empty])
    (stats,) = report.stats.values()
    assert (stats.source_file, stats.target_table, stats.rows_read) == (
        str(empty),
        "nps_responses",
        0,
    )
    assert report.status == "succeeded"


def test_a_broken_users_line_is_filed_under_identities(any_engine, tmp_path):
    users = tmp_path / "users.jsonl"
    users.write_text(
        '{"id": 1, "email": "a@example.com", "external_id": null, "role": "end-user"}\n'
        '{"id": 2, "email": "b@example.com", "external_id": null, "role": "end-us\n'
        '{"id": 3, "email": "c@example.com", "external_id": null, "role": "end-user"}\n'
    )
    report = load_paths(any_engine, [users], LoadOptions(quarantine_limit=0.5))
    ((table, row_number, raw, reason),) = _quarantine(any_engine)
    assert (table, row_number) == ("identities", 2)
    assert raw == '{"id": 2, "email": "<email>", "external_id": null, "role": "end-us'
    assert "is not valid JSON" in reason
    assert report.stats[(str(users), "identities")].rows_quarantined == 1


def test_quarantine_keeps_the_raw_line_of_a_row_a_contract_check_rejects(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    line = 'r2,c2,2024-02-01,11,"too high, says ""bob@example.org"""'
    nps.write_text(f"{NPS_HEADER}\nr1,c1,2024-02-01,9,ok\n{line}\n")
    load_paths(any_engine, [nps], LoadOptions(quarantine_limit=0.5))
    ((table, row_number, raw, reason),) = _quarantine(any_engine)
    assert (table, row_number, reason) == ("nps_responses", 2, "score: 11 is above the maximum 10")
    assert raw == line.replace("bob@example.org", "<email>")

    tickets = tmp_path / "tickets.jsonl"
    ticket = {"id": 9, "requester_id": 1, "created_at": "2024-01-01T00:00:00Z",
              "updated_at": "2024-01-01T00:00:00Z", "status": "archived",
              "via": {"channel": "email"}}  # fmt: skip
    tickets.write_text(json.dumps(ticket) + "\n")
    load_paths(any_engine, [tickets], LoadOptions(quarantine_limit=1.0))
    rows = {r.target_table: r for r in _quarantine(any_engine)}
    assert json.loads(rows["tickets"].raw_row) == ticket  # the record as the file had it
    assert "status: 'archived' is not one of" in rows["tickets"].reason


def test_a_near_miss_header_says_which_columns_are_missing_or_extra(tmp_path, engine):
    wrong = tmp_path / "tickets.csv"
    wrong.write_text(
        "ticket_id,customer_email,created_at,status,channel,updated_at,subject\n"
        "1,a@example.com,2024-01-01,open,email,2024-01-01,Help\n"
    )
    with pytest.raises(UnreadableFile) as refused:
        load_paths(engine, [wrong])
    message = str(refused.value)
    assert "it looks like a canonical tickets CSV" in message
    assert "lacks the required column(s) customer_id" in message
    assert "has column(s) the format does not take: customer_email, subject" in message


def test_a_file_over_the_quarantine_limit_is_refused_whole(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    rows = [f"r{i},c{i},2024-02-01,9,ok" for i in range(8)] + ["x,c,2024-02-01,99,", "y,c,,1,"]
    nps.write_text("\n".join([NPS_HEADER, *rows]) + "\n")
    with pytest.raises(FileRefused, match=r"2 of 10 rows \(20%\) failed their checks"):
        load_paths(any_engine, [nps])
    with any_engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from nps_responses")).scalar() == 0
        assert conn.execute(sa.text("select count(*) from quarantine")).scalar() == 0
        assert conn.execute(sa.text("select status from etl_runs")).scalar() == "failed"
    report = load_paths(any_engine, [nps], LoadOptions(quarantine_limit=0.25))  # allowed now
    assert report.totals()["rows_loaded"] == 8 and report.totals()["rows_quarantined"] == 2


def test_a_cp1252_file_is_refused_naming_encoding_and_loads_with_it(tmp_path):
    url = f"duckdb:///{tmp_path / 'turnaround.duckdb'}"
    nps = tmp_path / "nps.csv"
    nps.write_bytes(f"{NPS_HEADER}\nr1,c1,2024-02-01,9,Très bien – merci\n".encode("cp1252"))
    refused = cli("load", str(nps), "--warehouse", url, "--json")
    assert refused.returncode == 1
    assert "is not UTF-8 text" in refused.stderr and "--encoding cp1252" in refused.stderr
    assert json_out(refused)["status"] == "failed"
    loaded = cli("load", str(nps), "--warehouse", url, "--encoding", "cp1252", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json_out(loaded)["rows_loaded"] == 1
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select comment from nps_responses")).scalar() == (
            "Très bien – merci"
        )
    engine.dispose()


def test_emails_quoted_in_reasons_are_redacted_everywhere(any_engine, tmp_path):
    nps = tmp_path / "nps.csv"
    good = [f"r{i},c{i},2024-02-01,9,ok" for i in range(20)]
    nps.write_text("\n".join([NPS_HEADER, *good, "bad,c1,pat@example.com,9,shifted"]) + "\n")
    load_paths(any_engine, [nps])  # 1 of 21 rows: under the limit
    shifted = tmp_path / "shifted.csv"
    shifted.write_text(f"{NPS_HEADER}\nx,c1,pat@example.com,9,\ny,c2,sam@example.com,9,\n")
    with pytest.raises(FileRefused) as refused:
        load_paths(any_engine, [shifted])
    assert "@" not in str(refused.value)
    with any_engine.connect() as conn:
        stored = [
            *conn.execute(sa.text("select example_reason from etl_run_checks")).scalars(),
            *conn.execute(sa.text("select message from etl_runs")).scalars(),
            *conn.execute(sa.text("select raw_row || reason from quarantine")).scalars(),
        ]
    assert any(text and "<email>" in text for text in stored)
    assert not any(text and "@" in text for text in stored)


def test_a_failed_first_load_makes_no_warehouse(tmp_path):
    target = tmp_path / "new" / "turnaround.duckdb"
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    refused = cli("load", str(junk), "--warehouse", f"duckdb:///{target}")
    assert refused.returncode == 1
    assert not target.exists()
    (journalled,) = json.loads(cli("runs", "--json", "--warehouse", f"duckdb:///{target}").stdout)
    assert (journalled["status"], journalled["journal"]) == ("failed", True)
    nps = tmp_path / "nps.csv"
    nps.write_text(f"{NPS_HEADER}\nr1,c1,2024-02-01,9,\n")
    loaded = cli("load", str(nps), "--warehouse", f"duckdb:///{target}")  # a folder to make
    assert loaded.returncode == 0, loaded.stderr
    runs = json.loads(cli("runs", "--json", "--warehouse", f"duckdb:///{target}").stdout)
    assert [r["status"] for r in runs] == ["succeeded", "failed"]  # the journal moved in


@pytest.mark.parametrize("url", ["not a url", "sqlite:///x.db"])
def test_a_warehouse_url_that_is_not_one_is_bad_usage(url, tmp_path):
    for command in (["metrics"], ["runs"], ["load", str(tmp_path)], ["forget", "c1"]):
        result = cli(*command, "--warehouse", url)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert "duckdb:///PATH" in result.stderr


def test_a_failure_message_shows_urls_as_written_with_their_passwords_hidden():
    from data_contracts.times import utc_now
    from etl.pipeline.report import RunReport

    report = RunReport(batch_id="b", started_at=utc_now())
    report.fail(
        "failed",
        "cannot read postgresql+psycopg://reader:s3cret@dwh:5432/analytics for pat@example.com "
        "(a URL such as postgresql+psycopg://user@host/db)",
    )
    assert report.message == (
        "cannot read postgresql+psycopg://reader:***@dwh:5432/analytics for <email> "
        "(a URL such as postgresql+psycopg://user@host/db)"
    )
