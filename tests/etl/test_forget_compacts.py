"""``forget`` on DuckDB compacts the file: an erased row's bytes stay in the file's free pages
after a DELETE (and after CHECKPOINT or VACUUM), so the file is rewritten as a fresh copy of
what is left, between readers, under the writer lock."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.admin.forget import forget
from etl.identity import email_customer_id
from etl.pipeline.load import LoadOptions, load_paths
from tests.conftest import TEST_HASH_KEY
from tests.processes import SAFETY_SECONDS, cli, hold_reader, json_out
from warehouse import Warehouse, get_engine
from warehouse.access import WarehouseBusy
from warehouse.engine import driver_reason

VICTIM = "victim.person@example.com"
VICTIM_ID = email_customer_id(VICTIM, TEST_HASH_KEY)
MARKER = "QX7-only-the-victim-wrote-this-comment"
KEPT = ("customers", "tickets", "nps_responses", "quarantine", "ticket_versions")


def _exports(folder: Path) -> list[Path]:
    folder.mkdir()
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,signup_at,segment,plan\n"
        f"{VICTIM},2024-01-01,smb,pro\n"
        + "".join(f"c{i},2024-01-0{1 + i % 9},smb,basic\n" for i in range(20))
    )
    tickets = folder / "tickets.csv"
    tickets.write_text(
        "ticket_id,customer_id,created_at,status,channel,group_name,updated_at\n"
        f"t-v,{VICTIM},2024-02-01T09:00:00Z,open,email,Billing,2024-02-01T10:00:00Z\n"
        + "".join(
            f"t{i},c{i},2024-02-0{1 + i % 9}T09:00:00Z,solved,chat,Support,2024-02-10T00:00:00Z\n"
            for i in range(20)
        )
    )
    nps = folder / "nps.csv"
    nps.write_text(
        "response_id,customer_id,responded_at,score,comment\n"
        f"r-v,{VICTIM},2024-03-01,2,{MARKER}\n"
        + "".join(f"r{i},c{i},2024-03-01,{i % 11},fine number {i}\n" for i in range(20))
    )
    return [customers, tickets, nps]


def _rows(url: str) -> dict[str, list[tuple]]:
    engine = get_engine(url, read_only=True)
    with engine.connect() as conn:
        found = {
            table: sorted(map(tuple, conn.execute(sa.text(f"select * from {table}"))), key=repr)
            for table in KEPT
        }
        found["schema"] = sorted(  # every table's columns, keys and indexes
            map(
                tuple,
                conn.execute(
                    sa.text(
                        "select table_name, constraint_text from duckdb_constraints() "
                        "union all select table_name, sql from duckdb_indexes() "
                        "union all select table_name, column_name || ' ' || data_type "
                        "from duckdb_columns()"
                    )
                ),
            )
        )
    engine.dispose()
    return found


def _without_the_victim(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {t: [r for r in found if VICTIM_ID not in r] for t, found in rows.items()}


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{path}"
    load_paths(url, _exports(tmp_path / "exports"))
    data = path.read_bytes()
    assert VICTIM_ID.encode() in data and MARKER.encode() in data
    return url, path


def test_forget_compacts_the_file_so_the_erased_bytes_are_gone(loaded):
    url, path = loaded
    before = _rows(url)
    assert [r for r in before["nps_responses"] if VICTIM_ID in r]

    erased = forget(Warehouse.at(url), VICTIM, LoadOptions())
    assert (erased.counts["customers"], erased.counts["tickets"]) == (1, 1)
    data = path.read_bytes()
    assert MARKER.encode() not in data
    assert VICTIM_ID.encode() not in data and VICTIM_ID.removeprefix("email:").encode() not in data
    assert erased.compaction is not None and erased.compaction.problem is None
    assert not Path(f"{path}.wal").exists()
    assert erased.compaction.bytes_after == len(data)
    assert _rows(url) == _without_the_victim(before)  # everyone else, and the schema, intact
    more = path.parent / "more.csv"
    more.write_text("customer_id,signup_at\nc99,2024-05-01\n")
    assert load_paths(url, [more]).status == "succeeded"  # the copy is a working warehouse


def test_without_compaction_the_erased_bytes_stay_in_the_file(loaded):
    url, path = loaded
    erased = forget(Warehouse.at(url), VICTIM, LoadOptions(), compact=False)
    assert erased.counts["nps_responses"] == 1 and erased.compaction is None
    with get_engine(url, read_only=True).connect() as conn:
        assert not conn.execute(
            sa.text("select count(*) from nps_responses where response_id = 'r-v'")
        ).scalar()
    assert MARKER.encode() in path.read_bytes()  # a DELETE frees the pages, not the bytes


def test_compaction_waits_for_a_reader_already_in(loaded):
    url, path = loaded
    forget(Warehouse.at(url), VICTIM, LoadOptions(), compact=False)
    assert MARKER.encode() in path.read_bytes()
    notices = []
    with hold_reader(url) as reader:
        reader.wait_for("in")

        def heard(message: str) -> None:  # the compaction waits: only now the reader leaves
            notices.append(message)
            reader.let_go()

        warehouse = Warehouse.at(url, notice=heard)
        with warehouse.writer_lock(60, "turnaround forget"):  # as forget holds it
            warehouse.compact(wait_seconds=SAFETY_SECONDS)
        reader.wait_for("out")
        assert reader.finish().returncode == 0
    assert notices == ["waiting for readers of the warehouse to finish"]
    assert MARKER.encode() not in path.read_bytes()
    with get_engine(url, read_only=True).connect() as conn:  # a new reader reads the copy
        assert conn.execute(sa.text("select count(*) from tickets")).scalar() == 20


def test_a_reader_that_stays_longer_than_the_wait_leaves_the_file_as_it_was(loaded):
    url, path = loaded
    before = path.read_bytes()
    with hold_reader(url) as reader:
        reader.wait_for("in")
        warehouse = Warehouse.at(url)
        busy = pytest.raises(WarehouseBusy, match="readers of the warehouse to finish")
        with warehouse.writer_lock(60, "turnaround forget"), busy:
            warehouse.compact(wait_seconds=0.5)
        reader.let_go()
        assert reader.finish().returncode == 0
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if "compact" in p.name] == []


def test_the_forget_command_compacts_unless_told_not_to(loaded):
    url, path = loaded
    kept = cli("forget", VICTIM, "--warehouse", url, "--no-compact", "--json")
    assert kept.returncode == 0, kept.stderr
    assert json_out(kept)["compacted"] is None
    assert MARKER.encode() in path.read_bytes()
    done = cli("forget", VICTIM, "--warehouse", url, "--json")  # nobody left: still compacts
    assert done.returncode == 0, done.stderr
    compacted = json_out(done)["compacted"]
    assert compacted["bytes_after"] == path.stat().st_size
    assert MARKER.encode() not in path.read_bytes()
    said = cli("forget", "c1", "--warehouse", url)
    assert "Compacted the warehouse file" in said.stdout, said.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_the_compacted_file_keeps_its_owner_group_and_mode(loaded):
    """A warehouse a service user owns, and the dashboard's group reads, stays theirs when an
    administrator runs forget."""
    url, path = loaded
    os.chown(path, 4242, 4343)
    path.chmod(0o640)
    forget(Warehouse.at(url), VICTIM, LoadOptions())
    assert MARKER.encode() not in path.read_bytes()
    kept = path.stat()
    assert (kept.st_uid, kept.st_gid, stat.S_IMODE(kept.st_mode)) == (4242, 4343, 0o640)


def test_forget_that_erases_nothing_leaves_the_file_alone(loaded):
    url, path = loaded
    inode = path.stat().st_ino
    done = cli("forget", "nobody-of-that-id", "--warehouse", url)
    assert done.returncode == 0, done.stderr
    assert "nothing was erased" in done.stdout
    assert "not compacted: nothing was erased from it" in done.stdout, done.stdout
    assert path.stat().st_ino == inode  # not swapped for a copy
    as_json = json_out(cli("forget", "nobody-of-that-id", "--warehouse", url, "--json"))
    assert as_json["compacted"] is None
    assert as_json["not_compacted"] == "nothing was erased from it"

    erased = forget(Warehouse.at(url), VICTIM, LoadOptions())  # erases, and compacts
    assert erased.compaction is not None and erased.compaction.problem is None
    inode = path.stat().st_ino
    again = forget(Warehouse.at(url), VICTIM, LoadOptions())  # found nothing: nothing owed
    assert again.compaction is None and path.stat().st_ino == inode


def test_a_forget_after_one_left_uncompacted_compacts_though_it_finds_nobody(loaded):
    url, path = loaded
    forget(Warehouse.at(url), VICTIM, LoadOptions(), compact=False)
    assert MARKER.encode() in path.read_bytes()
    later = forget(Warehouse.at(url), "nobody-of-that-id", LoadOptions())
    assert later.compaction is not None and later.compaction.problem is None
    assert MARKER.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(), "OSError"),  # no words at all: the kind of error stands in
        (WarehouseBusy("  \n"), "WarehouseBusy"),
        (OSError(28, "No space left on device"), "[Errno 28] No space left on device"),
        (WarehouseBusy("the warehouse stayed busy\nmore"), "the warehouse stayed busy"),
    ],
)
def test_a_failed_compaction_is_given_in_one_line(error, reason):
    # forget's reason for a compaction that failed: any error, of the driver or not
    assert driver_reason(error) == reason
