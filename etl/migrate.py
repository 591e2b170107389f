"""``turnaround migrate``: upgrade a warehouse in place, moving its email hash key out.

A version-1 warehouse kept its hash key in ``warehouse_meta``. The upgrade writes that key to
the secrets file (or, where ``$TURNAROUND_HASH_KEY`` is set, checks that it is the same key),
so the identities already loaded keep matching, and the warehouse keeps only a fingerprint.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from etl.identity import (
    HASH_KEY_ENV,
    HashKeyError,
    key_fingerprint,
    secrets_file,
    write_secrets_file,
)
from etl.load import LoadOptions, hold_writer_lock, new_batch_id
from etl.report import RunReport, utc_now
from warehouse.access import Warehouse, WarehouseMissing
from warehouse.migrations import migrate


def move_key_out(configured_file: Path | None):
    """The migration's way to keep the old key: in the secrets file, or already in the env."""

    def move(key: str) -> str:
        from_env = os.environ.get(HASH_KEY_ENV, "").strip()
        if from_env and from_env != key:
            raise HashKeyError(
                f"{HASH_KEY_ENV} holds a different key than the one this warehouse's customer "
                f"ids were made with; unset it (the key will be written to the secrets file) "
                "or set it to the warehouse's key"
            )
        if not from_env:
            write_secrets_file(secrets_file(configured_file), key)
        return key_fingerprint(key)

    return move


def migrate_warehouse(
    warehouse: Warehouse, wait_seconds: float, configured_file: Path | None
) -> tuple[int, int, list[str]]:
    """Upgrade ``warehouse`` under the writer lock; returns (from, to, what was done)."""
    if not warehouse.file_exists():
        raise WarehouseMissing(f"no warehouse at {warehouse.path}; nothing to migrate")
    report = RunReport(batch_id=new_batch_id(utc_now()), started_at=utc_now())
    options = LoadOptions(wait_seconds=wait_seconds, command="turnaround migrate")
    with ExitStack() as held:
        hold_writer_lock(held, warehouse, options, report)
        with warehouse.write(wait_seconds) as conn:
            found, version, done = migrate(conn, move_key_out(configured_file))
    return found, version, done
