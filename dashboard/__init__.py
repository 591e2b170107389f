"""Turnaround dashboard layer."""
