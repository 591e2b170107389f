"""The ``turnaround`` commands, one module per kind of work."""
