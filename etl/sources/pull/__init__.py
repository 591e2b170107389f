"""Pulls from the APIs (``turnaround pull zendesk|delighted``): fetch what changed since the
last pull outside the warehouse's write lock, keep the raw pages, and load them in one run
whose transaction also stores how far each stream got (etl/sources/pull/run.py)."""
