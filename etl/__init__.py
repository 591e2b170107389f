"""Turnaround etl layer: sources/ (readers, settings and pulls), pipeline/ (the steps of a
load), admin/ (forget, migrate); identity.py and echo.py serve all three
(docs/architecture.md)."""
