"""The great-expectations suite of a canonical table, built from its contract's row checks.

``data_contracts.rules`` declares each check once (which rows fail, why, and the GX
expectation that states the same rule); this module turns them into GX objects. It is where
Turnaround imports GX, quietly, and only a load that validates staged rows imports it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import polars as pl

from data_contracts.plausible import TimeRange
from data_contracts.rules import RowCheck, row_checks

# GX logs registry chatter and warns about its own deprecated imports while it loads; none
# of it is for Turnaround's users.
logging.getLogger("great_expectations").setLevel(logging.ERROR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import great_expectations as gx
    import great_expectations.expectations as gxe


@dataclass(frozen=True, eq=False)
class Check:
    """One generated check: its GX expectation and the reason a failing row gets."""

    name: str  # unique within the table, e.g. "status_in_set"
    column: str
    expectation: gxe.Expectation
    reason: pl.Expr  # evaluated on the failing rows only


def expectation(check: RowCheck) -> gxe.Expectation:
    """A fresh GX expectation for ``check``, named by it in ``meta``."""
    kind, arguments = check.expectation
    return getattr(gxe, kind)(
        **arguments, description=check.description, meta={"check": check.name}
    )


def checks(table: str, plausible: TimeRange | None = None) -> list[Check]:
    """Every check of ``table``'s contract, in contract order (fresh GX objects each call),
    with the range checks of ``plausible`` when given."""
    return [Check(c.name, c.column, expectation(c), c.reason) for c in row_checks(table, plausible)]


def expectation_suite(table: str, plausible: TimeRange | None = None) -> gx.ExpectationSuite:
    """The GX suite generated from ``table``'s contract (not yet added to any context)."""
    return gx.ExpectationSuite(
        name=f"{table}_contract", expectations=[c.expectation for c in checks(table, plausible)]
    )
