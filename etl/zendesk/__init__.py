"""The Zendesk source: API JSON exports (pages, JSON Lines, Singer or Airbyte records)."""

from etl.formats import Format
from etl.zendesk.reader import DESCRIPTION, read, sniff
from etl.zendesk.settings import FORMAT_NAME

FORMATS: list[Format] = [Format(FORMAT_NAME, DESCRIPTION, sniff, read)]

__all__ = ["FORMATS", "read", "sniff"]
