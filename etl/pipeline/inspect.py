"""What Turnaround recognises in a file (``turnaround inspect FILE``): its format, its rows,
which columns map to which canonical column and which do not, the shape of its dates, and
a mapping file skeleton to start from.

Nothing is loaded and nothing is written; emails in sample values are redacted.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data_contracts import CONTRACTS
from etl.identity import redact_emails
from etl.pipeline.formats import SNIFF_BYTES, batches, detect, head_text, python_encoding
from etl.pipeline.frames import ReadContext, UnreadableFile
from etl.sources.mapped_csv import DAY_FIRST, MAPPINGS_BY_NAME, MONTH_FIRST, header_of
from etl.sources.spreadsheets import SHEET_ROWS, first_sheet

SAMPLE_ROWS = 1000
MAX_LISTED_VALUES = 20  # a column with more distinct values is not a value map
# A column the skeleton offers as a person field: a name, a phone, an address. A guess too
# many only redacts more of a quarantined row.
PERSON_WORDS = re.compile(r"name|phone|mobile|address|\bip\b", re.IGNORECASE)
# Names exports give canonical columns, beside the canonical names themselves.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("ticket id", "ticket", "case number", "case id", "id", "ticket number"),
    "customer_id": (
        "customer",
        "customer email",
        "requester",
        "requester email",
        "email",
        "contact id",
        "contact email",
        "user id",
        "account id",
    ),
    "created_at": (
        "created",
        "created time",
        "opened",
        "created date",
        "date created",
        "submitted",
        "opened at",
    ),
    "first_reply_at": ("first reply", "first response", "initial response time", "first responded"),
    "solved_at": ("solved", "resolved", "resolved time", "closed", "closed at", "resolved at"),
    "status": ("state", "ticket status", "stage"),
    "channel": ("source", "via", "origin", "medium"),
    "type": ("category", "ticket type", "kind"),
    "priority": ("urgency", "severity"),
    "tags": ("labels", "tag"),
    "group_name": ("group", "team", "queue"),
    "assignee_id": ("assignee", "agent", "owner"),
    "agent_replies": ("replies", "agent interactions", "agent responses"),
    "csat": ("satisfaction", "rating", "survey results", "satisfaction rating"),
    "updated_at": ("updated", "last updated", "modified", "last modified", "updated time"),
    "response_id": ("response id", "response", "survey response id"),
    "responded_at": ("responded", "response date", "date", "submitted at", "recorded date"),
    "score": ("nps", "nps score", "rating", "likelihood to recommend"),
    "comment": ("comments", "feedback", "reason", "verbatim"),
    "signup_at": ("signup", "signed up", "customer since", "start date"),
    "churned_at": ("churned", "cancelled", "canceled", "end date"),
    "mrr": ("monthly revenue", "revenue", "arr"),
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_SLASHED = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


@dataclass
class Inspection:
    file: str
    format: str | None = None
    description: str | None = None
    problem: str | None = None  # why the file cannot be loaded as it is, if it cannot
    rows: int | None = None
    columns: list[str] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)  # file column -> canonical column
    unmapped: list[str] = field(default_factory=list)
    dates: dict[str, str] = field(default_factory=dict)  # file column -> its date shape
    samples: dict[str, str] = field(default_factory=dict)  # file column -> a first value
    skeleton: str = ""

    def as_json(self) -> dict:
        return asdict(self)


def inspect_file(path: Path, encoding: str = "utf-8", ctx: ReadContext | None = None) -> Inspection:
    """What ``path`` holds, as far as Turnaround can tell without loading it; ``ctx``: the
    time zones, date orders and source options a load would read it with."""
    ctx = ctx or ReadContext("inspect", encoding)
    found = Inspection(str(path))
    try:
        fmt = detect(path, encoding)
        found.format, found.description = fmt.name, fmt.description
    except UnreadableFile as exc:
        fmt, found.problem = None, exc.problem
    rows_of = SHEET_ROWS.get(fmt.name) if fmt is not None else None
    if rows_of is not None:
        return _inspect_sheet(path, rows_of, found, ctx)
    head = _head(path, encoding)
    header = header_of(head) if head and not head.lstrip().startswith(("{", "[")) else None
    if header is None:  # JSON (or unreadable): count what the reader reads
        if fmt is not None:
            found.rows = _json_rows(fmt, path, ctx, found)
        return found
    found.columns = header
    base = mapping = MAPPINGS_BY_NAME.get(fmt.name) if fmt else None
    body = head.split("\n", 1)[1] if "\n" in head else ""
    header_rows = 0
    if base is not None and base.resolve is not None:
        if base.header_rows_of is not None:
            header_rows = base.header_rows_of(header, body)
        try:
            mapping = base.resolve(base, header, body, ctx, path)
            header_rows = mapping.header_rows
        except UnreadableFile as exc:
            found.problem, mapping = exc.problem, None
    elif mapping is not None:
        header_rows = mapping.header_rows
    canonical = fmt is not None and fmt.name.startswith("canonical_")
    values = _sample(head, header, header_rows, whole=path.stat().st_size <= SNIFF_BYTES)
    found.samples = {c: redact_emails(v) for c, v in _first_values(values).items()}
    found.dates = {c: shape for c in header if (shape := date_shape(values.get(c, []), canonical))}
    records = _count_records(path, encoding)
    found.rows = None if records is None else records - header_rows
    if mapping is not None:
        renamed = {v: k for k, v in mapping.rename.items()}
        for f in mapping.fields:
            source = next((s for s in f.sources if renamed.get(s, s) in header), None)
            if source is not None:
                found.mapped.setdefault(renamed.get(source, source), f.target)
    elif canonical:  # its columns are the canonical ones
        found.mapped = {c: c for c in header}
    found.unmapped = [c for c in header if c not in found.mapped]
    if not canonical and (fmt is None or found.problem):  # what loads as it is needs none
        table = (mapping or base).table if (mapping or base) else _guess_table(header)
        known = _known_values(mapping or base)
        found.skeleton = skeleton(table, header, found.mapped, found.dates, values, known)
    elif mapping is not None and not canonical and found.problem is None:
        found.problem = _first_block_refused(fmt, path, ctx)
    return found


def _first_block_refused(fmt, path: Path, ctx: ReadContext) -> str | None:
    """Why the load would refuse the file, as its reader reads the first block with the
    same options and config (a time zone or a date order none of them gives, dates that
    contradict the order given), else None."""
    try:
        next(iter(batches(fmt, path, ctx)), None)
    except UnreadableFile as exc:
        return exc.problem
    return None


def _inspect_sheet(path: Path, rows_of, found: Inspection, ctx: ReadContext) -> Inspection:
    """A spreadsheet, by its first sheet: what the same export as CSV would show."""
    try:
        with first_sheet(path, rows_of) as sheet:
            inner = inspect_file(sheet, "utf-8", dataclasses.replace(ctx, encoding="utf-8"))
    except UnreadableFile as exc:
        found.problem = exc.problem
        return found
    sheet_is = inner.description or "no export format Turnaround reads"
    inner.file, inner.format = found.file, found.format
    inner.description = f"{found.description}: {sheet_is}"
    if inner.problem:
        inner.problem = f"its first sheet {inner.problem}"
    return inner


def _head(path: Path, encoding: str) -> str | None:
    try:
        return head_text(path, encoding).lstrip("\ufeff")
    except UnreadableFile:
        return None


def _json_rows(fmt, path: Path, ctx: ReadContext, found: Inspection) -> int | None:
    try:
        rows = 0
        for batch in batches(fmt, path, ctx):
            rows += sum(f.height for f in batch.frames().values()) + len(batch.rejected)
            rows += sum(batch.skipped.values())
        return rows
    except UnreadableFile as exc:
        found.problem = exc.problem
        return None


def _count_records(path: Path, encoding: str) -> int | None:
    """Data records of a CSV file (quoted line breaks inside one record), blank lines out;
    None where the csv module cannot split it."""
    csv.field_size_limit(sys.maxsize)  # a ticket description may pass the 128 KB default
    try:
        with path.open(encoding=python_encoding(encoding), errors="replace", newline="") as file:
            return max(sum(1 for row in csv.reader(file) if any(v.strip() for v in row)) - 1, 0)
    except csv.Error:
        return None


def _sample(head: str, header: list[str], header_rows: int, whole: bool) -> dict[str, list[str]]:
    """Up to SAMPLE_ROWS values per column from the start of the file (whole records only:
    where ``head`` is not the whole file, its last record may be cut off)."""
    rows = csv.reader(io.StringIO(head))
    try:
        next(rows, None)
        for _ in range(header_rows):
            next(rows, None)
        records = []
        for row in rows:
            records.append(row)
            if len(records) > SAMPLE_ROWS:
                break
    except csv.Error:
        records = []
    if not whole and len(records) > 1:
        records = records[:-1]
    values: dict[str, list[str]] = {c: [] for c in header}
    for row in records:
        for name, value in zip(header, row, strict=False):
            value = value.replace("\u00a0", " ").strip()
            if value:
                values[name].append(value)
    return values


def _first_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {c: v[0][:40] for c, v in values.items() if v}


def date_shape(values: list[str], canonical: bool = False) -> str | None:
    """How a column writes its dates, or None when it is not a date column (a canonical
    CSV's times without an offset are UTC)."""
    if not values:
        return None
    iso = [v for v in values if _ISO.match(v)]
    slashed = [m for v in values if (m := _SLASHED.match(v))]
    if len(iso) >= 0.8 * len(values):
        with_offset = sum(1 for v in iso if _OFFSET.search(v))
        if with_offset == len(iso):
            return "ISO 8601 with a UTC offset"
        if canonical:
            return "ISO 8601, read as UTC where it has no offset"
        return "ISO 8601 without an offset: needs a time zone"
    if len(slashed) < 0.8 * len(values):
        return None
    zone = (
        ", with a UTC offset"
        if all(_OFFSET.search(v) for v in values if _SLASHED.match(v))
        else ", without an offset: needs a time zone"
    )
    day_first = any(int(m.group(1)) > 12 for m in slashed)
    month_first = any(int(m.group(2)) > 12 for m in slashed)
    if day_first and month_first:
        return "01/02/2025, written both day-first and month-first: cannot be read"
    if day_first:
        return f"{DAY_FIRST} (25/01/2025){zone}"
    if month_first:
        return f"{MONTH_FIRST} (01/25/2025){zone}"
    return "01/02/2025, day-first or month-first (no day above 12): needs date_order"


def _guess_table(header: list[str]) -> str:
    names = {_norm(n) for n in header}
    if names & {"score", "nps", "nps score", "likelihood to recommend"}:
        return "nps_responses"
    if names & {"signup", "signup at", "mrr", "plan"} and not names & {"status", "ticket id"}:
        return "customers"
    return "tickets"


def _norm(name: str) -> str:
    """A column name compared without case, punctuation or camel case (RecordedDate)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return re.sub(r"[^a-z0-9]+", " ", spaced.lower()).strip()


def guess_column(canonical: str, header: list[str], taken: set[str]) -> str | None:
    """The file's column that most likely holds ``canonical``, if any is close."""
    wanted = [_norm(canonical), *SYNONYMS.get(canonical, ())]
    free = [h for h in header if h not in taken]
    for name in wanted:  # an exact name first
        for h in free:
            if _norm(h) == name:
                return h
    normed = {_norm(h): h for h in free}
    close = difflib.get_close_matches(_norm(canonical), list(normed), n=1, cutoff=0.8)
    return normed[close[0]] if close else None


def skeleton(
    table: str,
    header: list[str],
    mapped: dict[str, str],
    dates: dict[str, str],
    values: dict[str, list[str]] | None = None,
    known: dict[str, dict[str, str | None]] | None = None,
) -> str:
    """A mapping file to start from: the columns Turnaround knows, guesses for the others;
    for a column with a fixed set of values, the file's values and the canonical ones they
    seem to be ("?" where none fits: the file does not load until each is decided)."""
    values, known = values or {}, known or {}
    by_target = {target: column for column, target in mapped.items()}
    taken = set(mapped)
    lines = [
        "# turnaround load FILE --mapping this.yaml  (check every line)",
        f"table: {table}",
        "source: mapped",
    ]
    if any("time zone" in shape for shape in dates.values()):  # "?" loads nothing: decide it
        lines.append('timezone: "?"            # the zone the export writes its times in')
    if any("date_order" in shape for shape in dates.values()):
        lines.append('date_order: "?"          # day-first or month-first')
    lines.append("columns:")
    contract = CONTRACTS[table]
    for column in contract.columns:
        source = by_target.get(column.name) or guess_column(column.name, header, taken)
        note = "  # required" if column.required else ""
        if column.allowed:
            note += f"  # values: {', '.join(column.allowed)}"
        if source is None:
            if column.required and column.allowed:  # the export may not carry it at all
                note += f"  # or {{value: {column.allowed[0]}}} for every row"
            lines.append(f"  # {column.name}: ?{note}")
            continue
        taken.add(source)
        seen = sorted(set(values.get(source, [])))
        if column.allowed and 0 < len(seen) <= MAX_LISTED_VALUES:
            lines.append(f"  {column.name}:{note}")
            lines.append(f"    column: {_yaml_text(source)}")
            lines.append("    values:")
            for value in seen:
                guess = known.get(column.name, {}).get(value.lower())
                if guess is None:
                    guess = value.lower() if value.lower() in column.allowed else "?"
                lines.append(f"      {json.dumps(value)}: {json.dumps(guess)}")  # "Yes" stays text
            continue
        lines.append(f"  {column.name}: {_yaml_text(source)}{note}")
    left = [h for h in header if h not in taken]
    people = [h for h in left if PERSON_WORDS.search(h)]
    hint = "  # the file's columns that name or reach a person: <redacted> in quarantine"
    shown = f"person_fields: [{', '.join(json.dumps(p) for p in people)}]{hint}"
    lines.insert(lines.index("columns:"), shown if people else f"# {shown}")
    left = [h for h in left if h not in people]
    if left:
        lines.append("# not used: " + ", ".join(left))
    return "\n".join(lines) + "\n"


def _known_values(mapping) -> dict[str, dict[str, str | None]]:
    """A built-in mapping's value maps by canonical column, keys in lower case."""
    if mapping is None:
        return {}
    known: dict[str, dict[str, str | None]] = {}
    for f in mapping.fields:
        if f.values:
            known.setdefault(f.target, {}).update({k.lower(): v for k, v in f.values.items()})
    return known


def _yaml_text(text: str) -> str:
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9 _()/-]*", text) and not text.endswith(" ")
    return text if plain else json.dumps(text)
