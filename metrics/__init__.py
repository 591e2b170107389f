"""Turnaround metrics layer."""
