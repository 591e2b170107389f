"""docs/metrics.md shows the catalog as it is."""

from __future__ import annotations

from metrics.docs import DOC_PATH, render


def test_docs_table_matches_the_catalog():
    document = DOC_PATH.read_text()
    assert render(document) == document, "run: .venv/bin/python -m metrics.docs"
