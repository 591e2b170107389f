"""A file that changes while a load reads it: the run is refused, nothing of it is recorded as
loaded, and the next run reads the file whole. The change happens at a fixed point of the
read (the loader's progress callback, between two batches), never after a sleep."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from etl.pipeline import formats
from etl.pipeline.inbox import run_inbox
from etl.pipeline.load import FileChanged, LoadOptions, load_paths
from etl.sources import canonical_csv
from etl.sources.zendesk import reader as zendesk_reader
from tests.etl.test_load import TICKETS_HEADER, _row
from turnaround.generate import generate
from warehouse import Warehouse


def _count(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql)).scalar()
    engine.dispose()
    return value


def test_a_file_cut_short_while_it_is_read_is_refused_and_loaded_whole_later(
    warehouse_url, tmp_path, monkeypatch
):
    generate(tmp_path, customers=40, seed=1, fmt="zendesk")
    tickets = tmp_path / "zendesk_tickets.jsonl"
    whole = tickets.read_bytes()
    lines = whole.splitlines(keepends=True)
    assert len(lines) == 172  # the demo generator's output at seed 1, recorded
    load_paths(warehouse_url, [tmp_path / "zendesk_users.jsonl"])  # an earlier run
    monkeypatch.setattr(zendesk_reader, "BATCH_RECORDS", 50)  # the file in several batches
    cut: list[int] = []

    def cut_short(done: int, total: int, rows: int, current: str) -> None:
        if rows and not cut:  # after the first batch: the file is half read
            tickets.write_bytes(b"".join(lines[:60]))
            cut.append(rows)

    with pytest.raises(FileChanged) as refused:
        load_paths(warehouse_url, [tickets], progress=cut_short)
    assert cut == [50]
    assert str(refused.value).startswith(f"{tickets}: changed while it was read")
    assert refused.value.report.status == "failed"
    loaded = "select count(*) from loaded_files where source_file like '%tickets%'"
    assert _count(warehouse_url, loaded) == 0
    assert _count(warehouse_url, "select count(*) from tickets") == 0

    tickets.write_bytes(whole)  # the export, written whole again
    report = load_paths(warehouse_url, [tickets])
    assert report.status == "succeeded" and not report.skipped_files
    assert _count(warehouse_url, "select count(*) from tickets") == 172  # one a line


def test_a_file_replaced_with_the_same_size_and_time_is_refused(warehouse_url, tmp_path):
    """Only the inode and change time tell this one: the size and modification time are kept."""
    path = tmp_path / "tickets.csv"
    path.write_text("\n".join([TICKETS_HEADER, *[_row(str(i)) for i in range(1, 6)]]) + "\n")
    before = path.stat()
    replaced: list[str] = []

    def replace(done: int, total: int, rows: int, current: str) -> None:
        if current and not replaced:  # the digest is taken; the read starts next
            other = tmp_path / "other.csv"
            other.write_text(path.read_text().replace(",solved,", ",closed,"))
            os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
            os.replace(other, path)
            replaced.append(current)

    with pytest.raises(FileChanged, match="changed while it was read"):
        load_paths(warehouse_url, [path], progress=replace)
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert replaced == [str(path)]
    report = load_paths(warehouse_url, [path])
    assert report.status == "succeeded"
    assert _count(warehouse_url, "select count(*) from tickets where status = 'closed'") == 5


def test_an_inbox_file_that_changes_while_it_is_read_waits_for_the_next_run(
    warehouse_url, tmp_path, monkeypatch
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "tickets.csv"
    rows = [_row(str(i)) for i in range(1, 41)]
    path.write_text("\n".join([TICKETS_HEADER, *rows[:20]]) + "\n")
    monkeypatch.setattr(canonical_csv, "BATCH_BYTES", 300)  # a few records per batch
    grown: list[int] = []

    def append_rest(done: int, total: int, rows_read: int, current: str) -> None:
        if rows_read and not grown:  # the writer goes on while the first batch is staged
            with path.open("a") as file:
                file.write("\n".join(rows[20:]) + "\n")
            grown.append(rows_read)

    warehouse = Warehouse.at(warehouse_url)
    first = run_inbox(warehouse, inbox, LoadOptions(), settle_seconds=0, progress=append_rest)
    assert grown and [o.report.status for o in first.outcomes] == ["failed"]
    assert first.outcomes[0].moved_to is None and path.exists()
    assert "changed while it was read" in first.outcomes[0].report.message
    second = run_inbox(warehouse, inbox, LoadOptions(), settle_seconds=0)
    warehouse.dispose()
    assert [o.report.status for o in second.outcomes] == ["succeeded"]
    assert (inbox / "processed" / "tickets.csv").exists()
    assert _count(warehouse_url, "select count(*) from tickets") == 40


def test_an_inbox_file_a_change_makes_unreadable_waits_for_the_next_run(
    warehouse_url, tmp_path, monkeypatch
):
    """Half a record appended mid-read breaks the reader: the file changed, so it is kept
    for the next run instead of being set aside as broken."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "tickets.csv"
    rows = [_row(str(i)) for i in range(1, 41)]
    path.write_text("\n".join([TICKETS_HEADER, *rows[:20]]) + "\n")
    monkeypatch.setattr(canonical_csv, "BATCH_BYTES", 300)
    monkeypatch.setattr(formats, "BLOCK_READ_BYTES", 300)
    grown: list[int] = []

    def append_half(done: int, total: int, rows_read: int, current: str) -> None:
        if rows_read and not grown:  # a writer mid-record, an open quote
            with path.open("a") as file:
                file.write('21,c1,2024-01-01T00:00:00Z,,,"open,email')
            grown.append(rows_read)

    warehouse = Warehouse.at(warehouse_url)
    first = run_inbox(warehouse, inbox, LoadOptions(), settle_seconds=0, progress=append_half)
    assert grown and [o.report.status for o in first.outcomes] == ["failed"]
    assert "changed while it was read" in first.outcomes[0].report.message
    assert first.outcomes[0].moved_to is None and path.exists()
    assert not (inbox / "failed").exists()
    path.write_text("\n".join([TICKETS_HEADER, *rows]) + "\n")  # the export, written whole
    second = run_inbox(warehouse, inbox, LoadOptions(), settle_seconds=0)
    warehouse.dispose()
    assert [o.report.status for o in second.outcomes] == ["succeeded"]
    assert _count(warehouse_url, "select count(*) from tickets") == 40
