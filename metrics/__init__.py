"""Turnaround metrics layer: every KPI declared once (catalog), computed in the warehouse.

The CLI and the dashboard call only these names.
"""

from metrics.api import compute_kpis, data_as_of, data_days
from metrics.catalog import KPI_CATALOG, PARADOX_DELTAS, RECOVERY_GROUPS, Kpi, Measure
from metrics.changes import compute_changes
from metrics.cohorts import compute_cohorts
from metrics.dimensions import DIMENSIONS, Dimension
from metrics.formatting import format_value
from metrics.groups import recovery_groups
from metrics.params import MetricParams
from metrics.slices import SliceError, SliceRequest, compute_slice
from metrics.trends import weekly_trends

__all__ = [
    "DIMENSIONS",
    "KPI_CATALOG",
    "PARADOX_DELTAS",
    "RECOVERY_GROUPS",
    "Dimension",
    "Kpi",
    "Measure",
    "MetricParams",
    "SliceError",
    "SliceRequest",
    "compute_changes",
    "compute_cohorts",
    "compute_kpis",
    "compute_slice",
    "data_as_of",
    "data_days",
    "format_value",
    "recovery_groups",
    "weekly_trends",
]
