"""Seeded demo data: customers, support tickets and NPS answers with a recovery story.

``generate`` writes the same simulated company in either of two formats:

- ``canonical``: ``tickets.csv``, ``nps.csv``, ``customers.csv`` (docs/contract.md, Canonical CSV);
- ``zendesk``: ``zendesk_tickets.jsonl``, ``zendesk_ticket_metrics.jsonl``,
  ``zendesk_users.jsonl`` (Zendesk API objects), ``delighted_responses.json`` (Delighted API
  survey responses) and the canonical ``customers.csv``.

A customer's recovery state at any moment is the product's recovery group under the current
definitions (data_contracts.recovery_rules): over the failures created in the look-back
(t - LOOKBACK_DAYS, t], recovered when every one was solved and never reopened; CSAT is not
part of it. Churn hazard and NPS follow that state (recovery.py), so a world generated
without an effect has none by the product's own definitions. One latent satisfaction per
customer (their mean NPS score) also sways their CSAT ratings; reopens do not depend on it.

The recovery effects, each relative to customers who never had a service failure, follow the
meta-analysis of de Matos, Henrique & Rossi (2007, J Service Research 10(1):60): at the
defaults recovery lifts satisfaction but not word of mouth (NPS) or repurchase (retention).

- ``csat_effect`` scales how much a recovered failure lifts that ticket's own CSAT (its odds
  of a bad rating are ``settings.RECOVERED_CSAT_ODDS`` ** csat_effect). At the default 1 a
  recovered failure is rated good more often than an ordinary solved ticket (the
  satisfaction paradox holds); 0 rates it as any failure, worse than an ordinary ticket.
- ``nps_effect`` scales how much higher recovered customers score while recovered (default 0:
  they score like never-failed ones; 1 adds ``settings.RECOVERED_NPS_SHIFT`` = 0.6 points of
  mean score, roughly +20 NPS points, which 20,000 customers detect).
- ``retention_effect`` is the exponent of the recovered customers' churn hazard ratio
  (``settings.RECOVERED_CHURN_HAZARD_RATIO`` = 0.95): at the default 0 they churn as
  never-failed customers do; 10 gives a ratio of 0.60 and a visible paradox.

Unrecovered and in-recovery customers score lower and churn more at any setting
(``settings.NPS_SHIFT``, ``settings.CHURN_HAZARD_RATIO``) while their failure is in the
look-back.
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
    nps_effect: float = 0.0,
    retention_effect: float = 0.0,
    csat_effect: float = 1.0,
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
    demo = simulate(
        customers,
        seed,
        nps_effect=nps_effect,
        retention_effect=retention_effect,
        csat_effect=csat_effect,
    )
    if snapshots:
        return SNAPSHOT_FORMATS[fmt](demo, out_dir)
    return FORMATS[fmt](demo, out_dir)


__all__ = ["FORMATS", "generate"]
