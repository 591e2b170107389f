"""Turnaround metrics layer: every KPI declared once (catalog), computed in the warehouse.

The CLI and the dashboard call only these names.
"""

from metrics.api import compute_kpis
from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS, RECOVERY_GROUPS, Kpi, Measure
from metrics.formatting import format_value
from metrics.groups import recovery_groups
from metrics.params import MetricParams
from metrics.trends import weekly_trends

__all__ = [
    "KPI_CATALOG",
    "PARADOX_DELTAS",
    "RECOVERY_GROUPS",
    "Kpi",
    "Measure",
    "MetricParams",
    "compute_kpis",
    "format_value",
    "recovery_groups",
    "weekly_trends",
]
