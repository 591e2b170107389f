"""Every DuckDB/PostgreSQL difference, one construct per operation.

Metric SQL is built from these SQLAlchemy expressions, so the same metric code compiles
to each warehouse's own functions.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from data_contracts.options import GRAINS


class minutes_between(FunctionElement):  # noqa: N801 - used like a SQL function
    """Minutes from ``start`` to ``end`` as a double (negative when end precedes start)."""

    type = sa.Float()
    inherit_cache = True
    name = "minutes_between"


@compiles(minutes_between, "duckdb")
def _minutes_between_duckdb(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"(epoch_us({compiler.process(end, **kw)}) - epoch_us({compiler.process(start, **kw)}))"
        " / 60000000.0"
    )


@compiles(minutes_between, "postgresql")
def _minutes_between_pg(element, compiler, **kw):
    start, end = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "
        f"{compiler.process(start, **kw)})) / 60.0)"
    )


class add_minutes(FunctionElement):  # noqa: N801
    """``ts`` plus a number of minutes."""

    type = sa.DateTime()
    inherit_cache = True
    name = "add_minutes"


@compiles(add_minutes, "duckdb")
def _add_minutes_duckdb(element, compiler, **kw):
    ts, minutes = list(element.clauses)
    return (
        f"({compiler.process(ts, **kw)} + to_microseconds(CAST(ROUND("
        f"{compiler.process(minutes, **kw)} * 60000000.0) AS BIGINT)))"
    )


@compiles(add_minutes, "postgresql")
def _add_minutes_pg(element, compiler, **kw):
    ts, minutes = list(element.clauses)
    # make_interval(mins => ...) takes an integer only; a bigint or double multiplies fine.
    ts_sql, minutes_sql = compiler.process(ts, **kw), compiler.process(minutes, **kw)
    return f"({ts_sql} + ({minutes_sql}) * INTERVAL '1 minute')"


class add_days(FunctionElement):  # noqa: N801
    """``ts`` plus a (whole or fractional) number of days."""

    type = sa.DateTime()
    inherit_cache = True
    name = "add_days"


@compiles(add_days, "duckdb")
def _add_days_duckdb(element, compiler, **kw):
    ts, days = list(element.clauses)
    return (
        f"({compiler.process(ts, **kw)} + to_microseconds(CAST(ROUND("
        f"{compiler.process(days, **kw)} * 86400000000.0) AS BIGINT)))"
    )


@compiles(add_days, "postgresql")
def _add_days_pg(element, compiler, **kw):
    ts, days = list(element.clauses)
    seconds = f"{compiler.process(days, **kw)} * 86400"
    return f"({compiler.process(ts, **kw)} + make_interval(secs => {seconds}))"


class quantile_cont(FunctionElement):  # noqa: N801
    """Linear-interpolation quantiles (numpy's default) of one set of values: an aggregate
    returning the list of the quantiles ``qs`` (one sort for all of them)."""

    type = sa.ARRAY(sa.Float())
    inherit_cache = False  # the quantiles are an attribute, rendered as constants
    name = "quantile_cont"

    def __init__(self, value: ColumnElement, qs: Sequence[float]):
        self.qs = [float(q) for q in qs]  # numbers from the catalog, never user text
        if not self.qs or not all(0.0 <= q <= 1.0 for q in self.qs):
            raise ValueError(f"quantiles must lie in [0, 1], not {qs!r}")
        super().__init__(value)

    def _qs_sql(self) -> str:
        return ", ".join(repr(q) for q in self.qs)


@compiles(quantile_cont, "duckdb")
def _quantile_duckdb(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"quantile_cont({compiler.process(value, **kw)}, [{element._qs_sql()}])"


@compiles(quantile_cont, "postgresql")
def _quantile_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return (
        f"percentile_cont(ARRAY[{element._qs_sql()}]::float8[]) WITHIN GROUP "
        f"(ORDER BY {compiler.process(value, **kw)})"
    )


class week_start(FunctionElement):  # noqa: N801
    """The Monday 00:00 that starts ``ts``'s ISO week."""

    type = sa.DateTime()
    inherit_cache = True
    name = "week_start"


@compiles(week_start)
def _week_start(element, compiler, **kw):
    (ts,) = list(element.clauses)
    return f"date_trunc('week', {compiler.process(ts, **kw)})"


class code_point_order(FunctionElement):  # noqa: N801
    """``value`` (text, or a list of texts) ordered by its characters' code points, the way
    DuckDB always orders text; PostgreSQL would otherwise follow the database's collation
    (en_US puts ``apple`` before ``Banana``), and the two warehouses would pick different
    winners of a tie (etl/pipeline/version_order.py)."""

    inherit_cache = True
    name = "code_point_order"

    def __init__(self, value: ColumnElement):
        super().__init__(value)
        self.type = value.type


@compiles(code_point_order)
def _code_point_order(element, compiler, **kw):
    (value,) = list(element.clauses)
    return compiler.process(value, **kw)


@compiles(code_point_order, "postgresql")
def _code_point_order_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f'({compiler.process(value, **kw)}) COLLATE "C"'


def has_any_tag(tags: ColumnElement, wanted: Sequence[str]) -> ColumnElement[bool]:
    """True when the list column ``tags`` holds any of ``wanted`` (each a bound parameter)."""
    if not wanted:
        return sa.false()
    return _has_any(tags, *(sa.bindparam(None, tag, type_=sa.String) for tag in wanted))


class _has_any(FunctionElement):  # noqa: N801
    type = sa.Boolean()
    inherit_cache = True
    name = "has_any"


@compiles(_has_any, "duckdb")
def _has_any_duckdb(element, compiler, **kw):
    # One list_contains per tag: about three times faster than list_has_any on DuckDB.
    tags, *wanted = [compiler.process(c, **kw) for c in element.clauses]
    found = " OR ".join(f"list_contains({tags}, {tag})" for tag in wanted)
    return f"coalesce(({found}), false)"


@compiles(_has_any, "postgresql")
def _has_any_pg(element, compiler, **kw):
    tags, *wanted = [compiler.process(c, **kw) for c in element.clauses]
    return f"coalesce({tags} && CAST(ARRAY[{', '.join(wanted)}] AS VARCHAR[]), false)"


def insert_frame(
    conn: sa.Connection, table: sa.Table, frames: pl.DataFrame | Iterable[pl.DataFrame]
) -> int:
    """Bulk-insert a polars frame, or batches of them, into ``table`` (columns matched by
    name); return the rows inserted.

    DuckDB scans each frame as Arrow in place (an INSERT ... SELECT, no per-row round trip);
    PostgreSQL takes it through COPY.
    """
    inserted = 0
    for frame in [frames] if isinstance(frames, pl.DataFrame) else frames:
        columns = [c.name for c in table.columns if c.name in frame.columns]
        if frame.is_empty() or not columns:
            continue
        _insert_one(conn, table, frame.select(columns))
        inserted += frame.height
    return inserted


def _insert_one(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    columns = frame.columns
    if conn.dialect.name == "duckdb":
        raw = conn.connection.driver_connection
        view = f"frame_{uuid.uuid4().hex}"
        raw.register(view, frame.to_arrow())
        try:
            source = sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(view))
            conn.execute(table.insert().from_select(columns, source))
        finally:
            raw.unregister(view)
    elif conn.dialect.name == "postgresql":
        _copy_into(conn, table, frame)
    else:
        conn.execute(table.insert(), frame.to_dicts())


def _copy_into(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """COPY a frame into a PostgreSQL table on the connection's own transaction, as CSV that
    polars writes (lists as PostgreSQL array literals; a null is an unquoted empty field, an
    empty text a quoted one)."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in frame.columns)
    # Identifiers are quoted by the dialect; the values travel in COPY's own format.
    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN WITH (FORMAT csv)"
    lists = [name for name, kind in frame.schema.items() if isinstance(kind, pl.List)]
    text = frame.with_columns(_array_literal(pl.col(name)).alias(name) for name in lists)
    data = text.write_csv(include_header=False, quote_style="non_numeric", null_value="")
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            copy.write(data.encode("utf-8"))
    finally:
        cursor.close()


def _array_literal(values: pl.Expr) -> pl.Expr:
    """A list of texts as a PostgreSQL array literal: ``{"a","b \\"c\\""}``."""
    quoted = (
        pl.lit('"')
        + pl.element()
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        + pl.lit('"')
    )
    return pl.lit("{") + values.list.eval(quoted).list.join(",") + pl.lit("}")


# Names rendered into SQL text: grains, IANA zone names, tag prefixes (checked on start).
SAFE_NAME = r"[A-Za-z0-9_:.+\-/]+"
_SAFE_NAME = re.compile(f"^{SAFE_NAME}$")


def _literal_text(value: str) -> str:
    """A checked name (grain, time zone, tag prefix) as SQL text: such names are rendered
    into the SQL, never from unchecked input, so that GROUP BY matches the SELECT."""
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{value!r} cannot be used in SQL")
    return f"'{value}'"


class local_period_start(FunctionElement):  # noqa: N801
    """The start (a naive local timestamp) of the calendar day, ISO week (Monday), month or
    quarter in time zone ``tz`` that holds the naive UTC timestamp ``ts``."""

    type = sa.DateTime()
    inherit_cache = False  # grain and tz are attributes, not clauses
    name = "local_period_start"

    def __init__(self, ts: ColumnElement, grain: str, tz: str):
        if grain not in GRAINS:
            raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
        self.grain, self.tz = grain, tz
        _literal_text(tz)
        super().__init__(ts)


@compiles(local_period_start, "duckdb")
def _local_period_start_duckdb(element, compiler, **kw):
    (ts,) = list(element.clauses)
    value = compiler.process(ts, **kw)
    if element.tz != "UTC":
        value = f"timezone({_literal_text(element.tz)}, timezone('UTC', {value}))"
    return f"date_trunc({_literal_text(element.grain)}, {value})"


@compiles(local_period_start, "postgresql")
def _local_period_start_pg(element, compiler, **kw):
    (ts,) = list(element.clauses)
    value = compiler.process(ts, **kw)
    if element.tz != "UTC":
        value = f"(({value}) AT TIME ZONE 'UTC') AT TIME ZONE {_literal_text(element.tz)}"
    return f"date_trunc({_literal_text(element.grain)}, {value})"


class first_tag_with_prefix(FunctionElement):  # noqa: N801
    """The first tag of ``tags`` that starts with ``prefix``, without the prefix; NULL when
    none does."""

    type = sa.String()
    inherit_cache = False
    name = "first_tag_with_prefix"

    def __init__(self, tags: ColumnElement, prefix: str):
        _literal_text(prefix)
        self.prefix = prefix
        super().__init__(tags)


@compiles(first_tag_with_prefix, "duckdb")
def _first_tag_duckdb(element, compiler, **kw):
    (tags,) = list(element.clauses)
    prefix, n = _literal_text(element.prefix), len(element.prefix)
    found = f"list_filter({compiler.process(tags, **kw)}, lambda x: starts_with(x, {prefix}))[1]"
    return f"substr({found}, {n + 1})"


@compiles(first_tag_with_prefix, "postgresql")
def _first_tag_pg(element, compiler, **kw):
    (tags,) = list(element.clauses)
    prefix, n = _literal_text(element.prefix), len(element.prefix)
    return (
        f"(SELECT substr(tag, {n + 1}) FROM unnest({compiler.process(tags, **kw)}) "
        f"WITH ORDINALITY AS found(tag, i) WHERE left(tag, {n}) = {prefix} ORDER BY i LIMIT 1)"
    )
