"""warehouse.dialect.insert_frame: every value arrives as it was, on both warehouses
(PostgreSQL takes the rows as COPY CSV)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import sqlalchemy as sa

from warehouse.dialect import insert_frame

AWKWARD = pl.DataFrame(
    {
        "name": ["plain", "", None, 'say "hi", then\nleave', "back\\slash", "ünïcødé"],
        "n": [1, None, 3, -4, 0, 2**40],
        "x": [1.5, None, -0.25, 1e-9, 0.0, 3.0],
        "stamp": [dt.datetime(2024, 1, 1, 10, 0, 0, 123456), None, *[dt.datetime(2025, 6, 30)] * 4],
        "tags": [["a", "b"], [], None, ['q"uote', "com,ma"], ["back\\slash", "{brace}"], ["é"]],
    },
    schema={
        "name": pl.String,
        "n": pl.Int64,
        "x": pl.Float64,
        "stamp": pl.Datetime("us"),
        "tags": pl.List(pl.String),
    },
)


def test_awkward_values_round_trip(any_engine):
    table = sa.Table(
        "awkward",
        sa.MetaData(),
        sa.Column("name", sa.String),
        sa.Column("n", sa.BigInteger),
        sa.Column("x", sa.Double),
        sa.Column("stamp", sa.DateTime),
        sa.Column("tags", sa.ARRAY(sa.String)),
        sa.Column("seq", sa.BigInteger),
    )
    frame = AWKWARD.with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    with any_engine.begin() as conn:
        table.create(conn)
        inserted = insert_frame(conn, table, [frame.head(2), frame.tail(4)])
        rows = conn.execute(sa.select(table).order_by(table.c.seq)).all()
    assert inserted == 6
    got = [(r.name, r.n, r.x, r.stamp, None if r.tags is None else list(r.tags)) for r in rows]
    assert got == list(AWKWARD.iter_rows())
