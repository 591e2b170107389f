"""The names behind the ids of the dimensions a source names (``Dimension.named_by``): a
group's name, an agent's name or, under ``[privacy] pseudonymise_agents``, their pseudonym.

Display only: a slice groups and filters by the stable id, and a name is looked up when it
is shown, so names may arrive before or after the tickets and a renamed group keeps its
rows. An id without a known name is shown as the id. An id that two sources name differently
shows both names, joined by " / ".
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from data_contracts import SIDE_TABLES
from metrics.dimensions import DIMENSIONS, Dimension
from metrics.params import MetricParams
from warehouse.schema import tables

# Names of the ids of one dimension: {dimension: {id: shown name}}
Names = dict[str, dict[str, str]]


def name_field(dim: str) -> str:
    """The JSON field beside a named dimension's id: ``group_name``, ``assignee_name``."""
    return f"{dim}_name"


def named(dims: Iterable[str]) -> tuple[str, ...]:
    """The dimensions of ``dims`` whose ids a source names."""
    return tuple(d for d in dims if DIMENSIONS[d].named_by is not None)


def _label_column(dim: Dimension, params: MetricParams) -> str:
    """An agent (a side table whose rows are a person's) shows their pseudonym when asked."""
    personal = SIDE_TABLES[dim.named_by].person is not None
    return "pseudonym" if personal and params.pseudonymise_agents else "name"


def id_names(conn: sa.Connection, dims: Iterable[str], params: MetricParams) -> Names:
    """The shown name of every id of each named dimension of ``dims`` that has one."""
    found: Names = {}
    for name in named(dims):
        dim = DIMENSIONS[name]
        side = SIDE_TABLES[dim.named_by]
        table = tables[side.table]
        ids, labels = table.c[side.key[-1]], table.c[_label_column(dim, params)]
        query = sa.select(ids, labels).where(labels.is_not(None)).distinct()
        each: dict[str, set[str]] = {}
        for key, label in conn.execute(query):
            each.setdefault(key, set()).add(label)
        found[name] = {key: " / ".join(sorted(labels)) for key, labels in each.items()}
    return found


def shown_name(names: Names, dim: str, value: object) -> object:
    """How the value ``value`` of ``dim`` is shown: its name where known, else the value."""
    if value is None:
        return None
    return names.get(dim, {}).get(str(value), value)


def dimension_names(
    engine: sa.Engine,
    dims: tuple[str, ...],
    params: MetricParams = MetricParams(),  # noqa: B008
) -> Names:
    """``id_names`` on its own connection: what a page shows the ids of ``dims`` by."""
    with engine.connect() as conn:
        return id_names(conn, dims, params)


def labels(names: Names, dim: str, values: list[object]) -> list[str | None]:
    """``values`` of ``dim`` as shown side by side (a chart's legend, a table's column): by
    name, and a name two ids share followed by the id, so two agents never look like one."""
    shown = [None if v is None else str(shown_name(names, dim, v)) for v in values]
    ids: dict[str, set[str]] = {}
    for value, label in zip(values, shown, strict=True):
        if label is not None:
            ids.setdefault(label, set()).add(str(value))
    return [
        label if label is None or len(ids[label]) == 1 else f"{label} ({value})"
        for value, label in zip(values, shown, strict=True)
    ]
