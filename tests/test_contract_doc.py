"""docs/contract.md says what the code does: its canonical tables are the contracts', its
CSV headers the reader's, its KPI list the catalog's and its command line the CLI's."""

from __future__ import annotations

import re

import typer

from data_contracts.docs import DOC_PATH, render
from etl.sources.canonical_csv import HEADERS
from etl.sources.canonical_names import NAME_FILES
from metrics.catalog import CONTRACT_KPIS
from turnaround.cli import app
from warehouse.engine import DEFAULT_URL

# Options the page states once for every command, rather than on each command's line.
COMMON_OPTIONS = {"--config", "--log-level", "--help"}


def section(title: str) -> str:
    """The text of the page's ``## title`` section."""
    return DOC_PATH.read_text().split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def first_block(text: str) -> list[str]:
    """The lines of the first fenced block in ``text``."""
    return text.split("```\n", 2)[1].splitlines()


def command_lines() -> dict[str, str]:
    """Each command named in the Command line block (``pull zendesk`` for a sub-command),
    with the text of every entry for it."""
    entries: list[list[str]] = []
    for line in first_block(section("Command line")):
        if line.startswith("turnaround "):
            entries.append([])
        entries[-1].append(line)
    found: dict[str, str] = {}
    for entry in entries:
        words = entry[0].split()
        names = [words[1]]
        if words[1] == "pull":
            names = [f"pull {sub}" for sub in words[2].split("|")]
        for name in names:
            found[name] = found.get(name, "") + " ".join(entry) + " "
    return found


def cli_commands() -> dict:
    """Every command of the CLI (typer's click commands) by its name (``pull zendesk`` for a
    sub-command)."""
    found = {}
    for name, command in typer.main.get_command(app).commands.items():
        if hasattr(command, "commands"):  # a group of sub-commands
            found |= {f"{name} {sub}": c for sub, c in command.commands.items()}
        else:
            found[name] = command
    return found


def test_the_canonical_tables_match_the_contracts():
    document = DOC_PATH.read_text()
    assert render(document) == document, "run: .venv/bin/python -m data_contracts.docs"


def test_the_canonical_csv_headers_are_the_readers():
    shown = dict(line.split() for line in first_block(section("Canonical CSV")))
    files = {"tickets": "tickets.csv", "nps_responses": "nps.csv", "customers": "customers.csv"}
    assert shown == {files[table]: header for table, (_, header) in HEADERS.items()}


def test_the_optional_names_files_are_the_readers():
    blocks = section("Canonical CSV").split("```\n")
    shown = dict(line.split() for line in blocks[3].splitlines())
    assert shown == {f"{frame}.csv": f"{column},name" for frame, (_, column) in NAME_FILES.items()}


def test_the_metrics_json_lists_the_contract_kpis_in_their_order():
    text = section("JSON output")
    listed = text.split("the twelve contract KPIs first, in this order:", 1)[1].split(";")[0]
    assert tuple(re.findall(r"`(\w+)`", listed)) == CONTRACT_KPIS


def test_the_command_line_is_the_clis():
    shown, commands = command_lines(), cli_commands()
    assert set(shown) == set(commands)
    for name, command in commands.items():
        for option in command.params:
            names = set(option.opts + option.secondary_opts)
            if option.param_type_name != "option" or names & COMMON_OPTIONS:
                continue
            assert any(re.search(rf"{n}\b", shown[name]) for n in names), (name, names)


def test_the_default_warehouse_is_the_engines():
    assert f"`{DEFAULT_URL}`" in section("Command line")
