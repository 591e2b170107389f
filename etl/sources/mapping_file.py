"""A user's mapping file (YAML): any CSV export onto a canonical table
(``turnaround load FILE --mapping MAPPING.yaml``).

```yaml
table: tickets            # tickets, nps_responses or customers
source: helpdesk          # the source the rows are stored under (default: mapped)
timezone: Europe/Berlin   # of timestamps written without an offset
date_order: day-first     # how to read 01/02/2025 (when the file does not show it)
date_format: "%d.%m.%Y %H:%M"   # optional: every timestamp in exactly this shape
person_fields: [Customer Name, Phone]   # optional: the file's columns that name or reach
                                        # a person, <redacted> in a quarantined row
columns:                  # canonical column: the file's column, or a table
  ticket_id: Case Number
  customer_id: Customer Email    # an email becomes the keyed hash
  created_at: Opened
  status:
    column: State
    values: {Open: open, Waiting: pending, Done: solved}
    unmapped: other       # a value not listed (else it is left empty)
  tags: {column: Labels, separator: "|"}
  channel: {value: email}        # a column the export lacks: one value for every row
```

The conversions follow the contract: timestamps are read in the time zone, ids that are
emails are hashed, comments redacted, tag lists split. Without ``updated_at``, a ticket's is
the latest of its times. ``turnaround inspect FILE`` prints a skeleton of this file.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from data_contracts import CANONICAL_TABLES, CONTRACTS
from etl.pipeline.formats import whole_file
from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.sources.mapped_csv import (
    COMMENT,
    CUSTOMER,
    DATE_ORDERS,
    LATEST,
    TAGS,
    TEXT,
    TIMESTAMP,
    VALUES,
    Field,
    Mapping,
    register,
)
from etl.sources.spreadsheets import or_first_sheet

DEFAULT_SOURCE = "mapped"
KEYS = ("table", "source", "timezone", "date_order", "date_format", "person_fields", "columns")
COLUMN_KEYS = ("column", "values", "unmapped", "separator", "value")
ID_COLUMNS = ("customer_id", "assignee_id")  # emails in them are hashed
KEY_COLUMNS = ("ticket_id", "response_id")  # one value for every row would make one row
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_MAPPING_BYTES = 256 << 10  # a mapping of every column with long value lists is a few KB


class MappingError(Exception):
    """The mapping file cannot be used; the message names the file and the key."""


class _AliasRefused(yaml.YAMLError):
    def __init__(self, alias: str, line: int) -> None:
        super().__init__(
            f"uses the alias *{alias} (line {line}): a mapping file takes no YAML anchors or "
            "aliases (& and *); write each value out"
        )


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one table (the plain loader
    keeps the last silently: ``channel: Via`` then ``channel: {value: email}``) and any
    alias: a mapping needs none, and nested ones expand a few lines into gigabytes (billion
    laughs), so the first is refused as it is met, before anything is built."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(event.anchor, event.start_mark.line + 1)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_mapping(path: Path):
    """The Format that reads CSV files (and a spreadsheet's first sheet) as ``path`` maps
    them; MappingError when it cannot."""
    try:
        with path.open("rb") as file:
            content = file.read(MAX_MAPPING_BYTES + 1)  # never more, whatever the file is
        if len(content) > MAX_MAPPING_BYTES:
            raise MappingError(
                f"mapping file {path} is larger than {MAX_MAPPING_BYTES // 1024} KiB: no "
                "mapping needs that much (is it the export itself?)"
            )
        raw = yaml.load(content.decode("utf-8"), Loader=_UniqueKeys)  # noqa: S506
    except OSError as exc:
        raise MappingError(f"mapping file {path} cannot be read ({exc.strerror})") from None
    except _AliasRefused as exc:
        raise MappingError(f"mapping file {path}: {exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file {path} is not valid YAML: {exc}") from None
    fmt = register([parse_mapping(raw, str(path))])[0]
    read_batches = or_first_sheet(fmt.read_batches)
    return dataclasses.replace(fmt, read_batches=read_batches, read=whole_file(read_batches))


def parse_mapping(raw: Any, where: str) -> Mapping:
    """The Mapping a mapping file's content describes; MappingError naming the key at fault."""

    def bad(message: str) -> MappingError:
        return MappingError(f"mapping file {where}: {message}")

    if not isinstance(raw, dict):
        raise bad("must be a table with table: and columns:")
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    table = raw.get("table")
    if table not in CANONICAL_TABLES:
        raise bad(f"table must be one of {', '.join(CANONICAL_TABLES)}, not {table!r}")
    source = raw.get("source", DEFAULT_SOURCE)
    if not isinstance(source, str) or not _SOURCE_NAME.fullmatch(source):
        raise bad(f"source must be a name of lowercase letters, digits and _, not {source!r}")
    zone = raw.get("timezone")
    if zone is not None:
        from data_contracts.settings import check_timezone

        if (wanted := check_timezone(zone)) is not None:
            raise bad(f"timezone must be {wanted}, not {zone!r}")
    order = raw.get("date_order")
    if order is not None and order not in DATE_ORDERS:
        raise bad(f"date_order must be {' or '.join(DATE_ORDERS)}, not {order!r}")
    date_format = raw.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise bad(
            f"date_format must be a strptime format such as '%d.%m.%Y %H:%M', not {date_format!r}"
        )
    person_fields = raw.get("person_fields", [])
    if not isinstance(person_fields, list) or not all(
        isinstance(f, str) and f.strip() for f in person_fields
    ):
        raise bad(
            "person_fields must be a list of the file's column names that name or reach a "
            f"person, such as [Customer Name, Phone], not {person_fields!r}"
        )
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise bad("columns must be a table of canonical column: the file's column")
    contract = CONTRACTS[table]
    fields = [_field(name, spec, contract, date_format, bad) for name, spec in columns.items()]
    mapped = {f.target for f in fields}
    if table == "tickets" and "updated_at" not in mapped:
        times = ("created_at", "first_reply_at", "solved_at")
        fields.append(Field("updated_at", (), LATEST, of=times))
        mapped.add("updated_at")
    missing = [c.name for c in contract.columns if c.required and c.name not in mapped]
    if missing:
        raise bad(f"columns lacks the required column(s) {', '.join(missing)} of {table}")
    return Mapping(
        name=f"mapped_{table}_csv",
        description=f"CSV read by the mapping file {where} into {table}",
        source=source,
        table=table,
        fields=tuple(fields),
        signature=(),
        default_timezone=zone,
        date_order=order,
        resolve=_has_columns,
        person_fields=tuple(dict.fromkeys(f.strip() for f in person_fields)),
    )


def _field(name: str, spec: Any, contract, date_format: str | None, bad) -> Field:
    if name not in contract.column_names:
        raise bad(
            f"columns: {name!r} is not a column of {contract.table} "
            f"(its columns: {', '.join(contract.column_names)})"
        )
    if isinstance(spec, str):
        spec = {"column": spec}
    if isinstance(spec, dict) and "value" in spec:
        return _constant(name, spec, contract, bad)
    if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
        raise bad(
            f"columns.{name} must be the file's column name, or a table with column: "
            "(or value: for one value in every row)"
        )
    unknown = [k for k in spec if k not in COLUMN_KEYS]
    if unknown:
        raise bad(f"columns.{name}: unknown key {unknown[0]!r} (known: {', '.join(COLUMN_KEYS)})")
    column = contract.column(name)
    kind = _kind(name, column.type)
    values = spec.get("values")
    unmapped = spec.get("unmapped")
    if values is not None:
        if not isinstance(values, dict):
            raise bad(f"columns.{name}.values must be a table of the file's value: canonical value")
        not_text = [k for k in values if not isinstance(k, str)]
        if not_text:  # YAML reads Yes, No, On, 1 as a boolean or a number
            raise bad(
                f"columns.{name}.values: the key {not_text[0]!r} was read as "
                f'{type(not_text[0]).__name__}, not as the file\'s text; quote it ("Yes": ...)'
            )
        values = {k: None if v is None else str(v) for k, v in values.items()}
        allowed = column.allowed
        wrong = [
            v
            for v in [*values.values(), unmapped]
            if v is not None and allowed and v not in allowed
        ]
        if wrong:
            raise bad(f"columns.{name}: {wrong[0]!r} is not one of {', '.join(allowed)}")
        kind = VALUES
    separator = spec.get("separator", ",")
    return Field(
        name,
        (spec["column"].strip(),),
        kind,
        values=values or {},
        unmapped=unmapped,
        separator=re.escape(str(separator)),
        date_format=date_format if kind == TIMESTAMP else None,
    )


def _constant(name: str, spec: dict, contract, bad) -> Field:
    """``{value: email}``: every row gets the value (a column the export does not carry)."""
    others = [k for k in spec if k != "value"]
    if others:
        raise bad(f"columns.{name}: value: stands alone, without {others[0]!r}")
    value, column = spec["value"], contract.column(name)
    if name in ID_COLUMNS or name in KEY_COLUMNS or column.type in ("timestamp", "text_list"):
        raise bad(f"columns.{name} must come from a column of the file, not one value")
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise bad(f"columns.{name}.value must be text or a number, not {value!r}; quote it")
    if column.allowed and str(value) not in column.allowed:
        raise bad(f"columns.{name}.value: {value!r} is not one of {', '.join(column.allowed)}")
    return Field(name, (), TEXT, default=str(value))


def _kind(name: str, column_type: str) -> str:
    if column_type == "timestamp":
        return TIMESTAMP
    if column_type == "text_list":
        return TAGS
    if name in ID_COLUMNS:
        return CUSTOMER
    if name == "comment":
        return COMMENT
    return TEXT


def _has_columns(
    mapping: Mapping, header: list[str], body: str, ctx: ReadContext, path: Path
) -> Mapping:
    """The mapping itself, once the file is seen to have every column it names (its person
    fields too: a misspelt one would leave the names it meant in quarantine)."""
    named = [*(s for f in mapping.fields for s in f.sources), *mapping.person_fields]
    missing = [name for name in named if name not in header]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise UnreadableFile(
            str(path),
            f"lacks the column(s) {listed} that the mapping names (it has: {', '.join(header)})",
            [mapping.description],
        )
    return mapping
