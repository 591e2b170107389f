"""Seeded demo data: customers, support tickets and NPS answers with a recovery story.

``generate`` writes the same simulated company in either of two formats:

- ``canonical``: ``tickets.csv``, ``nps.csv``, ``customers.csv`` (docs/contract.md, Canonical CSV);
- ``zendesk``: ``zendesk_tickets.jsonl``, ``zendesk_ticket_metrics.jsonl``,
  ``zendesk_users.jsonl`` (Zendesk API objects), ``delighted_responses.json`` (Delighted API
  survey responses) and the canonical ``customers.csv``.

The recovery effects, each relative to customers who never had a service failure:

- ``nps_effect`` scales how much higher recovered customers score after their recovery
  (default 1: about +0.6 points of mean score, roughly +20 NPS points at 20,000 customers: the
  paradox holds on NPS). 0 makes recovered customers score like never-failed ones; 2 doubles
  the shift.
- ``retention_effect`` is the exponent of the recovered customers' churn hazard ratio
  (``settings.RECOVERED_CHURN_HAZARD_RATIO`` = 0.95): at 1 they churn 5% less often than
  never-failed customers, too little for 20,000 customers to detect (no paradox on 90-day
  retention); 0 makes them churn alike; 10 gives a ratio of 0.60 and a visible paradox.

Unrecovered customers score lower and churn more at any setting (``settings.NPS_SHIFT``,
``settings.CHURN_HAZARD_RATIO``).
"""

from __future__ import annotations

from pathlib import Path

from turnaround.generate.model import simulate
from turnaround.generate.writers import (
    write_canonical,
    write_canonical_snapshots,
    write_zendesk,
    write_zendesk_snapshots,
)

FORMATS = {"canonical": write_canonical, "zendesk": write_zendesk}
SNAPSHOT_FORMATS = {"canonical": write_canonical_snapshots, "zendesk": write_zendesk_snapshots}


def generate(
    out_dir: Path,
    *,
    customers: int = 20_000,
    seed: int = 7,
    fmt: str = "zendesk",
    nps_effect: float = 1.0,
    retention_effect: float = 1.0,
    snapshots: bool = False,
) -> list[Path]:
    """Write seeded demo exports to out_dir; return the files written.

    The same seed gives the same customers, tickets and responses in both formats, byte for
    byte the same files on every run. About 5 tickets and 1.3 NPS answers per customer over
    the two years that end at ``settings.END_AT``. ``snapshots`` writes the tickets as monthly
    snapshot files with their earlier versions (writers.ticket_versions), in either format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demo = simulate(customers, seed, nps_effect=nps_effect, retention_effect=retention_effect)
    if snapshots:
        return SNAPSHOT_FORMATS[fmt](demo, out_dir)
    return FORMATS[fmt](demo, out_dir)


__all__ = ["FORMATS", "generate"]
