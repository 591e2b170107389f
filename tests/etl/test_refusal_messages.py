"""What a refusal echoes of a file is bounded: a 64 KB header or value is clipped, with an
ellipsis and a count of what was cut, never copied whole into the run's message."""

from __future__ import annotations

import re

import pytest

from etl.pipeline.frames import UnreadableFile
from etl.pipeline.load import FileRefused, load_paths

START = "ticket_id,customer_id,created_at,status,"


def test_a_header_of_thousands_of_columns_is_listed_in_part(warehouse_url, tmp_path):
    path = tmp_path / "wide.csv"
    extra = [f"column_{i:05d}" for i in range(4_000)]  # 52 KB: all within the 64 KB sniffed
    path.write_text(START + ",".join(extra) + "\n" + ",".join(["1"] * 4_004) + "\n")
    with pytest.raises(UnreadableFile) as refused:
        load_paths(warehouse_url, [path])
    problem = refused.value.problem
    assert problem.startswith(
        "matches no export format Turnaround reads: it looks like a canonical tickets CSV but "
        "lacks the required column(s) channel, updated_at; has column(s) the format does not "
        "take: column_00000, column_00001, "
    )
    assert problem.endswith("column_00009 and 3,990 more")
    assert len(str(refused.value)) < 2_500


def test_a_64_kb_column_name_is_clipped(warehouse_url, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(START + "x" * 65_536 + "\n1,2,3,4,5\n")
    with pytest.raises(UnreadableFile) as refused:
        load_paths(warehouse_url, [path])
    # Only the first 64 KB of a file are looked at: the name is cut there already.
    assert re.search(
        rf"the format does not take: {'x' * 100}… \([0-9,]+ more characters\)$",
        refused.value.problem,
    )


def test_a_64_kb_value_in_the_reasons_of_a_refused_file_is_clipped(warehouse_url, tmp_path):
    path = tmp_path / "nps.csv"
    huge = "9" * 65_536
    path.write_text(
        "response_id,customer_id,responded_at,score,comment\n"
        f"r1,c1,2024-02-01,{huge},ok\nr2,c1,2024-02-01,{huge},ok\n"
    )
    with pytest.raises(FileRefused) as refused:
        load_paths(warehouse_url, [path])
    message = str(refused.value)
    assert "2 of 2 rows (100%) failed their checks" in message
    assert len(message) < 1_000
    assert "more characters)" in message
    assert refused.value.report.message == message
