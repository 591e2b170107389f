"""Recovered minus never-failed survival on fixed days from a landmark 365 days before the
export moment, in large generated worlds without any effect of recovery: crude, and within
the same look-back ticket count (turnaround.calibrate.truth), as docs/metrics.md quotes them.

Usage: survival_truth.py [--customers N] SEED...
"""

from __future__ import annotations

import argparse
import datetime as dt

from data_contracts.recovery_rules import LOOKBACK_DAYS
from metrics.survival import COUNT_CAP
from turnaround.calibrate import EFFECTS, NO_EFFECT, generator_settings, truth

DAYS = (90, 180, 365)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("seeds", type=int, nargs="+")
    args = parser.parse_args()
    landmark = truth.AS_OF - dt.timedelta(days=365)
    assert set(EFFECTS[NO_EFFECT].values()) == {0.0}
    print("seed  day  crude   within look-back ticket counts")
    for seed in args.seeds:
        demo = truth.population(args.customers, seed, generator_settings(NO_EFFECT))
        for day in DAYS:
            crude = truth.retention_difference(demo, landmark, day)
            within = truth.survival_difference(demo, landmark, day, LOOKBACK_DAYS, COUNT_CAP)
            print(f"{seed:>4} {day:>4} {crude:+.4f} {within:+.4f}")


if __name__ == "__main__":
    main()
