"""The canonical CSV files of names, both optional: ``groups.csv`` (group_id, name) and
``agents.csv`` (agent_id, name).

They name the ids a ticket carries in ``group_name`` and ``assignee_id`` (docs/contract.md,
Canonical CSV), and fill the side tables ``ticket_groups`` and ``ticket_agents`` under the
canonical source. Grain: one row per data row of the file. A file has no source time: the
later load wins. An agent id that is an email becomes its keyed hash, as a ticket's
``assignee_id`` does, and every agent gets its pseudonym at load.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import polars as pl

from data_contracts import SIDE_TABLES
from etl.identity import agent_pseudonym, hash_email_ids
from etl.pipeline.formats import Format, record_blocks
from etl.pipeline.frames import ReadContext, ReadResult, Rejected, UnreadableFile
from etl.sources.canonical_csv import BATCH_BYTES, SOURCE, data_records, raw_lookup, read_values

# frame -> (format name, its id column); the header is the id column and ``name``
NAME_FILES: dict[str, tuple[str, str]] = {
    "groups": ("canonical_groups_csv", "group_id"),
    "agents": ("canonical_agents_csv", "agent_id"),
}
PERSON_FIELDS = ("name",)  # an agent's name is redacted in quarantine (a group's with it)


def _header(frame: str) -> tuple[str, str]:
    return NAME_FILES[frame][1], "name"


def sniff(head: str, frame: str) -> bool:
    """True for a CSV whose header is exactly the id column and ``name``, in any order."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip("\r")
    names = [name.strip().strip('"') for name in first.split(",")]
    return len(names) == 2 and set(names) == set(_header(frame))


def read_batches(path: Path, ctx: ReadContext, frame: str) -> Iterator[ReadResult]:
    """Read a names file: a row without an id is rejected, a row without a name keeps the id
    only (the id is then shown, as for an id no file names)."""
    fmt = FORMATS_BY_FRAME[frame]
    id_column = NAME_FILES[frame][1]
    offset = 0
    for header, body in record_blocks(path, ctx.encoding, BATCH_BYTES, [fmt.description]):
        text = header + body
        values = read_values(path, text, fmt, offset)
        if set(values.columns[1:]) != set(_header(frame)):
            raise UnreadableFile(
                str(path), "has a header this format does not take", [fmt.description]
            )
        records = data_records(path, text, values.height, fmt, offset)
        offset += records.height
        lookup = raw_lookup(records.select("row_number", "record"))
        cleaned = values.filter(~records.get_column("is_blank")).with_columns(
            pl.col(c).str.strip_chars().replace("", None) for c in _header(frame)
        )
        ragged = records.filter((pl.col("fields") != 2) & ~pl.col("is_blank"))
        bad = cleaned.filter(pl.col(id_column).is_null()).get_column("row_number").to_list()
        bad_ragged = ragged.get_column("row_number").to_list()
        raw = lookup(frame, [*bad, *bad_ragged])
        rejected = [
            Rejected(frame, n, raw[n], f"row has {f} fields but the header has 2")
            for n, f in ragged.select("row_number", "fields").rows()
        ] + [Rejected(frame, n, raw[n], f"{id_column}: the row has no id") for n in bad]
        good = cleaned.filter(
            pl.col(id_column).is_not_null() & ~pl.col("row_number").is_in(bad_ragged)
        )
        yield ReadResult(
            format=fmt.name,
            source=SOURCE,
            rejected=sorted(rejected, key=lambda r: r.row_number),
            raw_lookup=lookup,
            person_fields=PERSON_FIELDS,
            raw_columns=tuple(values.columns[1:]),
            **{frame: _frame(good, frame, ctx.hash_key)},
        )


def _frame(values: pl.DataFrame, frame: str, hash_key: str) -> pl.DataFrame:
    """The side table's frame of the file's rows (no source time: ``updated_at`` null)."""
    schema = SIDE_TABLES[frame].schema
    if frame == "agents":
        agent = hash_email_ids(pl.col("agent_id"), hash_key)
        values = values.with_columns(agent.alias("agent_id")).with_columns(
            pl.col("agent_id")
            .map_elements(lambda v: agent_pseudonym(SOURCE, v, hash_key), return_dtype=pl.String)
            .alias("pseudonym")
        )
    return values.select(
        *[
            pl.col(name) if name in values.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in schema.items()
        ],
        pl.col("row_number"),
    )


def _format(frame: str) -> Format:
    name, id_column = NAME_FILES[frame]
    return Format(
        name=name,
        description=f"Turnaround canonical {frame} CSV (header: {id_column},name)",
        sniff=partial(sniff, frame=frame),
        read=lambda path, ctx: ReadResult.combine(list(read_batches(path, ctx, frame))),
        read_batches=partial(read_batches, frame=frame),
    )


FORMATS_BY_FRAME: dict[str, Format] = {frame: _format(frame) for frame in NAME_FILES}
FORMATS: list[Format] = list(FORMATS_BY_FRAME.values())
