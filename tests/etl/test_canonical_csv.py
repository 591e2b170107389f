"""etl.sources.canonical_csv: detection from the header, reading with bad rows quarantined."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from data_contracts import CONTRACTS
from etl.pipeline.formats import detect
from etl.pipeline.frames import ReadContext, ReadResult, UnreadableFile
from etl.sources.canonical_csv import FORMATS, FORMATS_BY_TABLE, HEADERS
from tests.conftest import FIXTURES

CANONICAL = FIXTURES / "canonical"
CTX = ReadContext(hash_key="test-key")
FILES = {"tickets": "tickets.csv", "nps_responses": "nps.csv", "customers": "customers.csv"}


def _read(table: str, path: Path) -> ReadResult:
    return FORMATS_BY_TABLE[table].read(path, CTX)


def _write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _accepting(head: str) -> list[str]:
    return [f.name for f in FORMATS if f.sniff(head)]


# --- detection ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(FILES))
def test_each_fixture_is_recognised_by_its_own_format_only(table: str):
    head = (CANONICAL / FILES[table]).read_text()
    assert _accepting(head) == [FORMATS_BY_TABLE[table].name]


def test_documented_headers_are_the_contract_columns():
    for table, (_, header) in HEADERS.items():
        assert set(header.split(",")) <= set(CONTRACTS[table].column_names)


def test_required_columns_alone_in_any_order_are_accepted():
    assert _accepting("score,responded_at,customer_id,response_id\n") == ["canonical_nps_csv"]


def test_quoted_header_names_are_accepted():
    header = '"customer_id","signup_at","mrr"\n'
    assert _accepting(header) == ["canonical_customers_csv"]


def test_header_with_an_unknown_column_is_not_canonical():
    assert _accepting("response_id,customer_id,responded_at,score,comment,email\n") == []


def test_header_missing_a_required_column_is_not_canonical():
    assert _accepting("response_id,customer_id,score,comment\n") == []


def test_repeated_column_is_not_canonical():
    assert _accepting("customer_id,signup_at,customer_id\n") == []


def test_json_is_not_canonical_csv():
    head = json.dumps({"tickets": [{"id": 1, "status": "open", "created_at": "2024-01-01"}]})
    assert _accepting(head) == []
    assert _accepting('{"ticket_id": "1", "customer_id": "C-1"}\n') == []


def test_descriptions_name_the_full_header():
    description = FORMATS_BY_TABLE["nps_responses"].description
    assert description == (
        "Turnaround canonical NPS responses CSV "
        "(header: response_id,customer_id,responded_at,score,comment)"
    )


# --- reading the fixtures -----------------------------------------------------------------


def test_tickets_fixture_keeps_good_rows_and_quarantines_bad_ones():
    result = _read("tickets", CANONICAL / "tickets.csv")
    assert (result.format, result.source) == ("canonical_tickets_csv", "canonical")
    tickets = result.tickets
    assert tickets.get_column("ticket_id").to_list() == ["T-1", "T-2", "T-4"]
    assert tickets.get_column("row_number").to_list() == [1, 2, 4]
    assert [(r.table, r.row_number, r.reason) for r in result.rejected] == [
        ("tickets", 3, "created_at: '2024-13-01' is not an ISO 8601 timestamp"),
        ("tickets", 5, "agent_replies: 'two' is not an integer"),
    ]
    assert result.rejected[0].raw.startswith("T-3,")  # the line as the file has it


def test_tickets_fixture_values_are_typed():
    first, _, fourth = _read("tickets", CANONICAL / "tickets.csv").tickets.iter_rows(named=True)
    assert first["created_at"] == dt.datetime(2024, 1, 10, 7, 0)  # +02:00 -> UTC
    assert first["tags"] == ["outage", "bug"]
    assert first["compensation"] == 25.0
    assert fourth["group_name"] == "Billing, EU"
    assert fourth["updated_at"] == dt.datetime(2024, 1, 13, 5, 0)  # -05:00 -> UTC
    assert fourth["first_reply_business_minutes"] is None  # not in the file


def test_nps_fixture_keeps_good_rows_and_quarantines_bad_ones():
    result = _read("nps_responses", CANONICAL / "nps.csv")
    responses = result.nps_responses
    assert responses.get_column("response_id").to_list() == ["R-1", "R-2", "R-4"]
    assert responses.get_column("row_number").to_list() == [1, 2, 4]
    assert responses.get_column("score").to_list() == [9, 3, 10]
    assert responses.get_column("comment").to_list() == [
        "Fast fix, thanks",
        None,
        "Second line\nof the comment",
    ]
    assert [(r.row_number, r.reason) for r in result.rejected] == [
        (3, "responded_at: 'yesterday' is not an ISO 8601 timestamp")
    ]


def test_customers_fixture_keeps_good_rows_and_quarantines_bad_ones():
    result = _read("customers", CANONICAL / "customers.csv")
    customers = result.customers
    assert customers.get_column("customer_id").to_list() == ["C-1", "C-2", "C-4"]
    assert customers.get_column("row_number").to_list() == [1, 2, 4]
    assert customers.get_column("churned_at").to_list() == [None, dt.datetime(2024, 6, 30), None]
    assert [(r.row_number, r.reason) for r in result.rejected] == [
        (3, "mrr: 'ten' is not a number")
    ]
    assert result.tickets is None and result.nps_responses is None


@pytest.mark.parametrize("table", sorted(FILES))
def test_frames_follow_the_contract_schema(table: str):
    frame = _read(table, CANONICAL / FILES[table]).frames()[table]
    assert frame.schema == pl.Schema({**CONTRACTS[table].schema, "row_number": pl.Int64()})


# --- structure ----------------------------------------------------------------------------

NPS_HEADER = "response_id,customer_id,responded_at,score,comment\n"


def test_short_and_long_rows_are_quarantined_and_the_rest_kept(tmp_path: Path):
    path = _write(
        tmp_path,
        NPS_HEADER + "R-1,C-1,2024-02-01,9,ok\n"
        "R-2,C-2,2024-02-01\n"
        "R-3,C-3,2024-02-01,8,fine,extra\n"
        "R-4,C-4,2024-02-01,7,\n",
    )
    result = _read("nps_responses", path)
    assert result.nps_responses.get_column("row_number").to_list() == [1, 4]
    assert [(r.row_number, r.reason) for r in result.rejected] == [
        (2, "row has 3 fields but the header has 5"),
        (3, "row has 6 fields but the header has 5"),
    ]
    assert result.rejected[1].raw == "R-3,C-3,2024-02-01,8,fine,extra"


def test_commas_and_line_breaks_inside_quotes_are_values(tmp_path: Path):
    path = _write(
        tmp_path,
        NPS_HEADER + 'R-1,C-1,2024-02-01,9,"one, two"\n'
        'R-2,C-2,2024-02-01,8,"line\nbreak, and ""quotes"""\n'
        "R-3,C-3,2024-02-01,7,\n",
    )
    result = _read("nps_responses", path)
    assert result.rejected == []
    assert result.nps_responses.get_column("comment").to_list() == [
        "one, two",
        'line\nbreak, and "quotes"',
        None,
    ]
    assert result.nps_responses.get_column("row_number").to_list() == [1, 2, 3]


def test_blank_lines_are_skipped_but_keep_their_row_number(tmp_path: Path):
    path = _write(tmp_path, NPS_HEADER + "R-1,C-1,2024-02-01,9,\n\nR-2,C-1,2024-02-02,9,\n\n")
    result = _read("nps_responses", path)
    assert result.rejected == []
    assert result.nps_responses.get_column("row_number").to_list() == [1, 3]


def test_windows_line_endings_and_byte_order_mark(tmp_path: Path):
    path = tmp_path / "nps.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + NPS_HEADER.replace("\n", "\r\n").encode() + b"R-1,C-1,2024-02-01,9,ok\r\n"
    )
    result = _read("nps_responses", path)
    assert result.rejected == []
    assert result.nps_responses.get_column("comment").to_list() == ["ok"]


def test_header_only_file_gives_an_empty_frame(tmp_path: Path):
    result = _read("nps_responses", _write(tmp_path, NPS_HEADER))
    assert result.nps_responses.height == 0 and result.rejected == []


def test_unclosed_quote_refuses_the_file_with_a_clear_message(tmp_path: Path):
    path = _write(
        tmp_path, NPS_HEADER + 'R-1,C-1,2024-02-01,9,"never closed\nR-2,C-2,2024-02-01,8,\n'
    )
    with pytest.raises(UnreadableFile) as refused:
        _read("nps_responses", path)
    assert refused.value.path == str(path)
    assert refused.value.problem.startswith("is not valid CSV")
    assert refused.value.expected == [FORMATS_BY_TABLE["nps_responses"].description]


def test_stray_quote_in_a_value_refuses_the_file(tmp_path: Path):
    path = _write(
        tmp_path, NPS_HEADER + 'R-1,C-1,2024-02-01,9,a 27" screen\nR-2,C-2,2024-02-01,8,\n'
    )
    with pytest.raises(UnreadableFile, match="is not valid CSV"):
        _read("nps_responses", path)


def test_hundred_thousand_rows_are_read(tmp_path: Path):
    rows = "".join(f"R-{i},C-{i % 100},2024-02-01T09:00:00Z,{i % 11},\n" for i in range(100_000))
    result = _read("nps_responses", _write(tmp_path, NPS_HEADER + rows))
    assert result.nps_responses.height == 100_000
    assert result.nps_responses.get_column("row_number").item(-1) == 100_000


# --- reading in batches: the same rows as one read, memory bounded by the batch -------------


def _batched(table: str, path: Path, batch_bytes: int, encoding: str = "utf-8") -> ReadResult:
    from etl.sources.canonical_csv import read_batches

    ctx = ReadContext(hash_key="test-key", encoding=encoding)
    parts = list(read_batches(path, ctx, table, batch_bytes=batch_bytes))
    return parts, ReadResult.combine(parts)


def _same(one: ReadResult, other: ReadResult, table: str) -> None:
    assert one.frames()[table].equals(other.frames()[table])
    assert [(r.row_number, r.raw, r.reason) for r in one.rejected] == [
        (r.row_number, r.raw, r.reason) for r in other.rejected
    ]


MESSY = (
    "\ufeffcustomer_id,signup_at,segment,plan,region,mrr\r\n"
    'C-1,2024-01-01,smb,"pro, yearly",EU,10\r\n'
    "\r\n"
    'C-2,2024-01-02,smb,"two\r\nlines",Zürich,11\r\n'
    "C-3,2024-01-03,smb,pro,EU\r\n"  # short: ragged
    "C-4,not a date,smb,pro,EU,12\r\n"  # does not parse
    'C-5,2024-01-05,smb,"say ""hi""",EU,13\r\n'
    "C-6,2024-01-06,smb,pro,EU,14"  # no line break at the end
)


@pytest.mark.parametrize("batch_bytes", [1, 7, 40, 10_000])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_batches_of_any_size_read_the_same_rows_as_one_read(tmp_path, batch_bytes, encoding):
    path = tmp_path / "customers.csv"
    path.write_bytes(MESSY.encode(encoding if encoding != "utf-8" else "utf-8"))
    whole, _ = _batched("customers", path, 1 << 30, encoding)
    assert len(whole) == 1
    parts, joined = _batched("customers", path, batch_bytes, encoding)
    if batch_bytes < 40:
        assert len(parts) > 3  # it did stream
    _same(joined, whole[0], "customers")
    rows = joined.frames()["customers"]
    assert rows.get_column("customer_id").to_list() == ["C-1", "C-2", "C-5", "C-6"]
    assert rows.get_column("row_number").to_list() == [1, 3, 6, 7]
    assert rows.get_column("plan").to_list() == ["pro, yearly", "two\r\nlines", 'say "hi"', "pro"]
    assert rows.get_column("region").to_list()[1] == "Zürich"
    assert [(r.row_number, r.raw) for r in joined.rejected] == [
        (4, "C-3,2024-01-03,smb,pro,EU"),
        (5, "C-4,not a date,smb,pro,EU,12"),
    ]


def test_a_batch_never_cuts_a_multi_byte_character(tmp_path):
    # "é" is two bytes in UTF-8; reads of an odd size would cut it without the decoder.
    from etl.pipeline import formats

    lines = "".join(f"C-{i},2024-01-01,smb,pré,EU,{i}\n" for i in range(2000))
    path = _write(tmp_path, "customer_id,signup_at,segment,plan,region,mrr\n" + lines)
    old = formats.BLOCK_READ_BYTES
    formats.BLOCK_READ_BYTES = 333
    try:
        parts, joined = _batched("customers", path, 1000)
    finally:
        formats.BLOCK_READ_BYTES = old
    assert len(parts) > 10
    assert set(joined.frames()["customers"].get_column("plan")) == {"pré"}
    assert joined.frames()["customers"].height == 2000


def test_a_file_that_does_not_decode_is_refused_in_any_batch(tmp_path):
    lines = "".join(f"C-{i},2024-01-01,smb,pro,EU,{i}\n" for i in range(1000))
    path = tmp_path / "customers.csv"
    path.write_bytes(
        ("customer_id,signup_at,segment,plan,region,mrr\n" + lines).encode() + b"\xff\n"
    )
    with pytest.raises(UnreadableFile, match="byte 0xff does not decode.*--encoding cp1252"):
        _batched("customers", path, 100)


def test_a_utf16_file_is_refused_naming_the_encoding_that_reads_it(tmp_path):
    text = "customer_id,signup_at,segment,plan,region,mrr\nC-1,2024-01-01,smb,pro,EU,10\n"
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode("utf-16"))  # with its byte-order mark, as Excel writes it
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    with pytest.raises(UnreadableFile, match="UTF-16 byte-order mark") as refused:
        detect(path)
    assert "--encoding utf-16" in refused.value.problem
    assert "cp1252" not in refused.value.problem
    customers = detect(path, "utf-16").read(path, ReadContext("k", "utf-16")).customers
    assert customers.get_column("customer_id").to_list() == ["C-1"]


@pytest.mark.parametrize("batch_bytes", [1, 10_000])
def test_an_encoding_that_decodes_to_a_lone_surrogate_refuses_the_file(tmp_path, batch_bytes):
    """UTF-7 (like the unicode_escape codecs) decodes ``+2D0-`` to half a UTF-16 pair, which
    is no character: the file is not text in that encoding, refused naming the line."""
    path = tmp_path / "nps.csv"
    path.write_bytes(
        b"response_id,customer_id,responded_at,score,comment\n"
        b"R1,C1,2024-02-01T09:00:00Z,9,ok\n"
        b"R2,C2,2024-02-01T09:00:00Z,9,cut +2D0-\n"
    )
    with pytest.raises(UnreadableFile) as refused:
        _batched("nps_responses", path, batch_bytes, "utf-7")
    assert refused.value.problem == (
        "is not UTF-7 text (line 3 decodes to \\ud83d, half of a UTF-16 surrogate pair); "
        "check --encoding"
    )
    with pytest.raises(UnreadableFile, match="line 3 decodes to"):  # detection (and inspect)
        detect(path, "utf-7")
