"""The warehouse's admin commands: forget.py (``turnaround forget``) and migrate.py
(``turnaround migrate``)."""
