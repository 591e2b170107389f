"""Turnaround etl layer."""
