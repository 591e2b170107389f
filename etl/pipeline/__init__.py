"""The steps of a load, in order:

- detect: formats.py (which reader takes a file), preflight.py (what is refused before
  reading), inspect.py (``turnaround inspect``: detection without loading);
- stage: stage.py, staging.py, frames.py, conform.py, json_stream.py (read each file into
  canonical rows in the staging tables), and the data contracts checked there;
- merge: apply.py, merge.py, held_metrics.py, version_order.py (staged rows into the
  warehouse, one version per record);
- history: versions.py;
- run record: run_record.py, report.py;
- orchestration: load.py, load_options.py, synced_load.py, inbox.py.
"""
