"""Does `turnaround metrics --json` still print every field an earlier Turnaround printed,
with the same values? Loads generated demo exports with the earlier revision's code, upgrades
that warehouse with this one (`turnaround migrate`), and compares both outputs field by field
for a few option sets.

Usage: .venv/bin/python bench/compare_metrics.py REVISION [CUSTOMERS]
Exit 0 when no earlier field is missing or different.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTION_SETS = (
    [],
    ["--as-of", "2026-06-30T12:00:00Z", "--horizon-days", "30"],
    ["--target-minutes", "15"],
)
RUN_CLI = "import sys; from turnaround.cli import main; sys.argv[0] = 'turnaround'; main()"


def flat(value: dict, prefix: str = "") -> dict:
    found = {}
    for key, item in value.items():
        if isinstance(item, dict):
            found |= flat(item, f"{prefix}{key}.")
        else:
            found[f"{prefix}{key}"] = item
    return found


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def main() -> int:
    revision = sys.argv[1]
    customers = sys.argv[2] if len(sys.argv) > 2 else "3000"
    work = Path(tempfile.mkdtemp(prefix="turnaround-compare-"))
    old_tree = work / "old"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", str(old_tree), revision], check=True
    )
    env = {**os.environ, "TURNAROUND_HASH_KEY": "turnaround-compare"}
    python = sys.executable

    def old(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, "-c", RUN_CLI, *args],
            cwd=old_tree,
            capture_output=True,
            text=True,
            env={**env, "PYTHONPATH": str(old_tree)},
            check=True,
        )

    def new(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, "-c", RUN_CLI, *args], capture_output=True, text=True, env=env, check=True
        )

    try:
        url = f"duckdb:///{work / 'turnaround.duckdb'}"
        old("generate", "--out", str(work / "exports"), "--customers", customers)
        old("load", str(work / "exports"), "--warehouse", url, "--log-level", "warning")
        before = [
            json.loads(old("metrics", "--json", *o, "--warehouse", url).stdout) for o in OPTION_SETS
        ]
        new("migrate", "--warehouse", url)
        after = [
            json.loads(new("metrics", "--json", *o, "--warehouse", url).stdout) for o in OPTION_SETS
        ]
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)])
    problems = 0
    for options, first, second in zip(OPTION_SETS, before, after, strict=True):
        a, b = flat(first), flat(second)
        missing = [k for k in a if k not in b]
        changed = [k for k in a if k in b and not same(a[k], b[k])]
        problems += len(missing) + len(changed)
        print(
            f"metrics --json {' '.join(options)}: {len(a)} earlier fields, "
            f"{len(a) - len(missing) - len(changed)} identical, missing {missing}, "
            f"changed {changed}, {len(b) - len(a)} added"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
