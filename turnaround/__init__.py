"""Turnaround turnaround layer."""
