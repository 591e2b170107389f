"""JSON exports read a value at a time: JSON Lines, documents parsed whole and streamed.

The streamed path (ijson) must give exactly what the whole-document path gives, and hold
only one element at a time: a document larger than WHOLE_DOCUMENT_BYTES is never in memory.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from etl.pipeline import json_stream
from etl.pipeline.json_stream import JsonValue, json_values

PAGE = {
    "tickets": [{"id": 1, "amount": 2.5}, {"id": 2, "tags": ["a", "b"]}],
    "users": [{"id": 7}],
    "organizations": [{"id": 90}],
    "next_page": None,
    "count": 2,
}
MEMBERS = ("tickets", "users")


def _seen(values) -> list[tuple]:
    return [(v.number, v.member, v.value, v.problem) for v in values]


# What PAGE gives, written out by hand: the member lists element by element, then the page
# with those lists emptied and its other members whole.
PAGE_GIVES = [
    (1, "tickets", {"id": 1, "amount": 2.5}, None),
    (2, "tickets", {"id": 2, "tags": ["a", "b"]}, None),
    (1, "users", {"id": 7}, None),
    (
        1,
        None,
        {
            "tickets": [],
            "users": [],
            "organizations": [{"id": 90}],
            "next_page": None,
            "count": 2,
        },
        None,
    ),
]


@pytest.fixture(params=["whole", "streamed"])
def path_of(request, tmp_path, monkeypatch):
    """Writes a file; with "streamed", every document is streamed with ijson."""
    if request.param == "streamed":
        monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)

    def write(text: str, encoding: str = "utf-8"):
        path = tmp_path / "export.json"
        path.write_bytes(text.encode(encoding))
        return path

    return write


def test_a_pretty_printed_page_gives_its_lists_element_by_element(path_of):
    path = path_of(json.dumps(PAGE, indent=2))
    assert _seen(json_values(path, stream_members=MEMBERS)) == PAGE_GIVES


def test_a_one_line_page_gives_the_same(path_of):
    path = path_of(json.dumps(PAGE) + "\n")
    assert _seen(json_values(path, stream_members=MEMBERS)) == PAGE_GIVES


def test_an_array_gives_its_elements_numbered_from_one(path_of):
    path = path_of(json.dumps([{"id": "a"}, {"id": "b"}, 3], indent=1))
    assert _seen(json_values(path)) == [
        (1, None, {"id": "a"}, None),
        (2, None, {"id": "b"}, None),
        (3, None, 3, None),
    ]


def test_pages_one_after_another_are_read_in_turn(path_of):
    path = path_of(json.dumps({"tickets": [{"id": 1}]}, indent=1) + "\n" + json.dumps(PAGE))
    seen = _seen(json_values(path, stream_members=MEMBERS))
    assert seen[:2] == [(1, "tickets", {"id": 1}, None), (1, None, {"tickets": []}, None)]
    assert seen[2:] == [(n + 1 if m is None else n, m, v, p) for n, m, v, p in PAGE_GIVES]


def test_numbers_are_floats_and_text_keeps_its_characters(path_of):
    doc = {"tickets": [{"id": 1, "amount": 0.1, "name": "Zoë €"}]}
    path = path_of(json.dumps(doc, indent=1, ensure_ascii=False), "cp1252")
    seen = list(json_values(path, "cp1252", stream_members=MEMBERS))
    assert seen[0].value == {"id": 1, "amount": 0.1, "name": "Zoë €"}
    assert type(seen[0].value["amount"]) is float


def test_a_document_in_another_encoding_that_does_not_decode_raises(path_of):
    path = path_of('{\n"tickets": [{"id": 1, "name": "caf\u00e9"}]}', "latin-1")
    with pytest.raises(UnicodeDecodeError):
        list(json_values(path, "utf-8", stream_members=MEMBERS))


def test_json_lines_are_numbered_by_line_and_a_broken_line_is_reported(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2, "broken\n{"id": 3}\n')
    seen = list(json_values(path))
    assert [(v.number, v.value) for v in seen] == [(1, {"id": 1}), (3, None), (4, {"id": 3})]
    assert seen[1].raw == '{"id": 2, "broken'
    assert seen[1].problem.startswith("is not valid JSON")
    assert seen[0].raw == '{"id": 1}'


def test_a_document_broken_from_the_start_is_read_as_lines(path_of):
    path = path_of('{"tickets" [\n{"id": 1}\n')  # no colon: broken before any value
    seen = list(json_values(path, stream_members=MEMBERS))
    assert [(v.number, v.value) for v in seen] == [(1, None), (2, {"id": 1})]
    assert seen[0].problem.startswith("is not valid JSON")


def test_a_streamed_document_that_breaks_off_keeps_what_came_before(tmp_path, monkeypatch):
    monkeypatch.setattr(json_stream, "WHOLE_DOCUMENT_BYTES", 0)
    path = tmp_path / "cut.json"
    path.write_text('[\n{"id": 1},\n{"id": 2},\n{"id": 3, "na')
    seen = list(json_values(path))
    assert [(v.number, v.value) for v in seen[:2]] == [(1, {"id": 1}), (2, {"id": 2})]
    assert seen[2].number == 3 and seen[2].value is None
    assert seen[2].problem.startswith("the JSON document breaks off")


def test_an_empty_file_gives_nothing(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n  \n")
    assert list(json_values(path)) == []


def test_a_large_document_is_never_held_whole(tmp_path):
    """A 20 MB page streamed holds one element at a time; parsed whole, it holds them all."""
    element = {"id": 0, "subject": "x" * 200, "tags": ["a", "b", "c"]}
    path = tmp_path / "large.json"
    with path.open("w") as file:
        file.write('{"tickets": [\n')
        file.write(",\n".join(json.dumps({**element, "id": i}) for i in range(80_000)))
        file.write('\n], "count": 80000}\n')
    size = path.stat().st_size
    assert size > 18 << 20

    def peak(whole_bytes: int) -> tuple[int, int]:
        tracemalloc.start()
        try:
            values = json_values(path, "utf-8", ("tickets",), whole_bytes)
            count = sum(1 for v in values if v.member)
            return count, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed_count, streamed_peak = peak(0)
    whole_count, whole_peak = peak(size)
    assert streamed_count == whole_count == 80_000
    assert whole_peak > size  # the whole text and every element at once
    assert streamed_peak < 2 << 20


def test_values_are_plain_dataclasses():
    assert JsonValue(1, {"a": 1}) == JsonValue(1, {"a": 1}, None, None, None)


def test_a_file_of_one_record_keeps_its_line_and_line_number(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('\n{"stream": "tickets", "data": {"id": 1}}\n')
    assert [(v.number, v.raw) for v in json_values(path)] == [
        (2, '{"stream": "tickets", "data": {"id": 1}}')
    ]


def test_an_escaped_lone_surrogate_is_kept_as_it_is_by_both_paths(path_of):
    """``\\ud83d`` alone parses to that half character (the reader rejects its record);
    the fast streaming parser would read "?" without a word."""
    doc = {"tickets": [{"tags": ["cut\ud83d"]}, {"tags": ["\ude00", "pair \U0001f600"]}]}
    path = path_of(json.dumps(doc, indent=1))
    assert "cut\\ud83d" in path.read_text()  # as json.dumps escapes it
    values = [v.value for v in json_values(path, stream_members=MEMBERS)]
    assert values[:2] == doc["tickets"]


@pytest.mark.parametrize(
    ("text", "lone"),
    [
        ('["\\ud83d\\ude00", "\\uD83D\\uDE00 and \\u00e9"]', False),
        ('["a\\ud83d"]', True),
        ('["\\ud83d", "\\ude00"]', True),  # each half in a string of its own
        ('["\\ude00"]', True),
        ('["end \\ud83d', True),  # a high half the file ends after
    ],
)
@pytest.mark.parametrize("block", [1, 5, 6, 7, 11, 4096])
def test_a_lone_surrogate_escape_is_found_across_reads(tmp_path, monkeypatch, text, lone, block):
    monkeypatch.setattr(json_stream, "BLOCK_BYTES", block)
    path = tmp_path / "doc.json"
    path.write_text(text)
    assert json_stream._has_lone_surrogate_escape(path, "utf-8") is lone
