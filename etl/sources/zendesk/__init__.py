"""The Zendesk source: API JSON exports (pages, JSON Lines, Singer or Airbyte records)."""

from etl.pipeline.formats import Format
from etl.sources.zendesk.reader import DESCRIPTION, read, read_batches, sniff
from etl.sources.zendesk.settings import FORMAT_NAME


def near_miss(head: str) -> str | None:
    """A JSON file that no JSON format accepts: say what it lacks."""
    if not head.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return None
    return (
        "it is JSON, but holds no Zendesk tickets, ticket_metrics or users (a page such as "
        '{"tickets": [...]}, or records with "stream": "tickets") and no Delighted survey '
        'responses (objects with "id", "person" and "score")'
    )


FORMATS: list[Format] = [
    Format(FORMAT_NAME, DESCRIPTION, sniff, read, near_miss, read_batches=read_batches)
]

__all__ = ["FORMATS", "read", "read_batches", "sniff"]
